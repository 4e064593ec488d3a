"""``cahier import`` (:mod:`tasks.drafting.importer`): the drafted tender.yaml as text.

Every value read is written with where it was read in a ``# lu : …`` comment; every value
that could not be determined is ``null`` (or ``[]``) with a ``# À COMPLÉTER : …`` comment and
a French line in the list of fields to complete.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tasks.drafting.importer_draft import DraftTender
from tasks.drafting.importer_vocab import import_vocab

__all__ = ["render_tender_yaml"]


def _q(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False)


@dataclass
class _Draft:
    """The tender.yaml lines being written, the fields found and those to complete."""

    values: dict[str, Any]
    sources: dict[str, str]
    out: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def field(self, key: str, label: str, todo: str, fmt: Callable[[Any], str] = _q) -> None:
        """``key: value    # lu : source`` or ``key: null    # À COMPLÉTER : todo``."""
        if self.values.get(key) is not None:
            self.out.append(f"{key}: {fmt(self.values[key])}    # lu : {self.sources.get(key, '')}")
            self.found.append(label)
        else:
            self.out.append(f"{key}: null    # À COMPLÉTER : {todo}")
            self.missing.append(f"{label} ({key}) : {todo}")

    def either(self, ok: object, read: tuple[str, str], todo: tuple[str, str]) -> None:
        """``read`` (line, field found) when ``ok``, else ``todo`` (line, field to complete)."""
        if ok:
            self.out.append(read[0])
            self.found.append(read[1])
        else:
            self.out.append(todo[0])
            self.missing.append(todo[1])


def render_tender_yaml(tender_id: str, draft: DraftTender) -> tuple[str, list[str], list[str]]:
    """The drafted tender.yaml text, the fields found and the fields to complete (French)."""
    w = _Draft(draft.values, draft.sources)
    w.out += [
        "# tender.yaml rédigé par « cahier import » d'après les pièces importées.",
        "# Vérifiez chaque valeur lue (la source est indiquée) et complétez les champs",
        "# marqués « À COMPLÉTER » : tant qu'ils sont vides, « cahier check » les liste en erreur",
        "# (les autres constats sont donnés) et l'assemblage est refusé.",
        f"id: {_q(tender_id)}",
    ]
    _head_fields(w)
    _buyer_fields(w)
    _dates_and_lots(w)
    _criteria_fields(w)
    return "\n".join(w.out) + "\n", w.found, w.missing


def _head_fields(w: _Draft) -> None:
    """objet, CPV, procédure, nature, techniques, durée, CCAG, montant."""
    v = w.values
    w.field("objet", "objet", "objet de la consultation (5 caractères au moins)")
    w.field("codeCPV", "code CPV", "code CPV principal (8 chiffres)", fmt=lambda x: _q(str(x)))
    w.field(
        "procedure", "procédure", "procédure (ex. « Appel d'offres ouvert », « Procédure adaptée »)"
    )
    w.out.append('nature: "Marché"')
    w.out.append(f"techniques: {_q(v.get('techniques', []))}")
    w.field("dureeMois", "durée", "durée totale en mois, reconductions comprises", fmt=str)
    if v.get("dureeMois") is not None:
        w.out[-1] += " — reconductions comprises ?"
    w.field(
        "ccag",
        "CCAG",
        "CCAG applicable (ex. « Techniques de l'information et de la communication »)",
    )
    w.field("montant", "montant", "montant maximum estimé sur toute la durée, € HT", fmt=str)
    if v.get("montant") is not None:
        w.out[-1] += " — toute durée, € HT ?"


def _buyer_fields(w: _Draft) -> None:
    """acheteur (SIRET, nom, type deduced from the name) and categories (from the CPV)."""
    v, src = w.values, w.sources
    w.out.append("acheteur:")
    w.either(
        v.get("siret"),
        (f"  id: {_q(v.get('siret'))}    # lu : {src.get('siret', '')}", "SIRET de l'acheteur"),
        (
            "  id: null    # À COMPLÉTER : SIRET de l'acheteur (14 chiffres)",
            "SIRET de l'acheteur (acheteur.id)",
        ),
    )
    w.either(
        v.get("acheteur_nom"),
        (
            f"  nom: {_q(v.get('acheteur_nom'))}    # lu : {src.get('acheteur_nom', '')}",
            "nom de l'acheteur",
        ),
        ("  nom: null    # À COMPLÉTER : nom de l'acheteur", "nom de l'acheteur (acheteur.nom)"),
    )
    w.either(
        v.get("acheteur_type"),
        (
            f"  type: {v.get('acheteur_type')}    # déduit du nom de l'acheteur "
            "(clause_library/import.yaml) : vérifiez",
            "type d'acheteur (d'après son nom)",
        ),
        (
            "  type: null    # À COMPLÉTER : etat, collectivite, groupement, etablissement_public, hopital, autre, prive",
            "type d'acheteur (acheteur.type)",
        ),
    )
    cpv = str(v.get("codeCPV") or "")
    cats = next(
        (c.categories for c in import_vocab().cpv_categories if cpv.startswith(c.prefix)), None
    )
    w.either(
        cats,
        (
            f"categories: {_q(cats)}    # déduit du code CPV : vérifiez",
            "catégories (d'après le CPV)",
        ),
        (
            "categories: []    # À COMPLÉTER : hardware, software, services, cloud, telecom",
            "catégories d'achat (categories)",
        ),
    )


def _dates_and_lots(w: _Draft) -> None:
    """dateLancement (never read), dateLimiteOffres, lots with their own criteria,
    donneesPersonnelles and servicesNumeriques."""
    v, src, out = w.values, w.sources, w.out
    out.append("dateLancement: null    # À COMPLÉTER : date d'envoi de l'avis (AAAA-MM-JJ)")
    w.missing.append(
        "date de lancement (dateLancement) : date d'envoi de l'avis, rarement écrite dans les pièces"
    )
    if v.get("dateLimiteOffres"):
        out.append(
            f"dateLimiteOffres: {v['dateLimiteOffres']}    # lu : {src.get('dateLimiteOffres', '')}"
        )
        w.found.append("date limite de remise des offres")
    if "lots" in v:
        if v["lots"]:
            out.append(f"lots:    # lu : {src.get('lots', '')}")
            per_lot = v.get("criteres_lots") or {}
            for lot in v["lots"]:
                out.append(f"  - numero: {lot['numero']}")
                out.append(f"    objet: {_q(lot['objet'])}")
                if lot["numero"] in per_lot:
                    out.append("    criteres:")
                    out.extend(_criteria_lines(per_lot[lot["numero"]].criteres, "      "))
            w.found.append(f"lots ({len(v['lots'])})")
        else:
            out.append(f"lots: []    # lu : {src.get('lots', '')}")
            w.found.append("allotissement (non alloti)")
    if v.get("donneesPersonnelles"):
        out.append(
            "donneesPersonnelles: true    # les pièces parlent de données personnelles : vérifiez"
        )
    else:
        out.append(
            "donneesPersonnelles: false    # À COMPLÉTER : true si le titulaire traite des données personnelles"
        )
    out.append(
        "servicesNumeriques: false    # À COMPLÉTER : true si le marché livre un site, une application ou un logiciel (RGAA)"
    )


def _criteria_fields(w: _Draft) -> None:
    """criteres as read (weights missing listed), the notes on them and on the CPV."""
    v, src, out = w.values, w.sources, w.out
    crits = v.get("criteres") or []
    if crits:
        w.found.append("critères d'attribution et pondérations")
        out.append(f"criteres:    # lu : {src.get('criteres', '')}")
        out.extend(_criteria_lines(crits, "  "))
        for c in crits:
            for x in [c, *c.sous]:
                if x.poids is None:
                    w.missing.append(
                        f"pondération du critère « {x.nom} » (criteres) : illisible ou à compléter"
                    )
    else:
        out.append(
            "criteres: []    # À COMPLÉTER : critères d'attribution du RC (nom, poids en %, type)"
        )
        w.missing.append(
            "critères d'attribution (criteres) : aucun énoncé de critères pondérés trouvé"
        )
    for note in v.get("criteres_notes") or []:
        w.missing.append(f"critères d'attribution : {note}")
    if v.get("cpv_note"):
        w.missing.append(f"code CPV (codeCPV) : {v['cpv_note']}")


def _criteria_lines(crits: list, indent: str) -> list[str]:
    """tender.yaml lines of criteria read as written, each with where it was read."""
    out: list[str] = []
    for c in crits:
        out.append(f"{indent}- nom: {_q(c.nom)}    # lu : {c.source.where() if c.source else ''}")
        poids = "null" if c.poids is None else f"{round(c.poids, 2):g}"
        out.append(f"{indent}  poids: {poids}" + ("    # À COMPLÉTER" if c.poids is None else ""))
        if c.ecrit:
            out.append(f"{indent}  poidsEcrit: {_q(c.ecrit)}")
        if c.unite:
            out.append(f"{indent}  unite: {_q(c.unite)}")
        out.append(f"{indent}  type: {c.type}")
        if c.sous:
            out.append(f"{indent}  sousCriteres:")
            out.extend(_criteria_lines(c.sous, indent + "    "))
    return out
