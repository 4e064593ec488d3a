"""DECP v2 export: the essential data of the awarded contract, in the official format.

Every contract of 40 000 € HT or more is published on data.gouv.fr within two months of
its notification (CCP L2196-2, R2196-1; arrêtés du 22 décembre 2022, modifiés le 22
décembre 2023). :func:`build_decp` writes one ``marche`` record per lot from tender.yaml
(DECP field names), the evaluation (offers received, holders) and its ``attribution``
block (dates, prices, place…), and the check report: ``considerationsSociales`` and
``considerationsEnvironnementales`` are derived from the clause families actually present
in the dossier (each clause's ``decp`` field in the clausier, mapping of
docs/clausier.md « Familles de clauses ») and from the award criteria (a criterion of type ``environnement``
→ « Critère environnemental », ``social`` → « Critère social »); none → the « Pas de … »
value alone.

The record is validated with jsonschema against the official schema vendored in
``tasks/award/schemas/decp_v2.0.3_schema.json`` (source: ``tasks/award/schemas/SOURCE.md``), then by
:func:`consistency_issues`, which checks what the schema cannot express.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from tasks.clausier.library import Clausier
from tasks.dossier.model import CheckReport, CritereType, FamilyStatus, Tender
from tasks.errors import InputError

from .evaluation import Evaluation, EvaluationResult, criteria_index, siret_ok

__all__ = [
    "SCHEMA_PATH",
    "DecpIssue",
    "build_decp",
    "considerations",
    "consistency_issues",
    "load_schema",
    "schema_errors",
    "to_json",
]

SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "decp_v2.0.3_schema.json"
PUBLICATION_THRESHOLD = 40_000.0  # € HT, CCP R2196-1 (arrêté du 22 décembre 2022)
SOCIAL_VALUES = ["Clause sociale", "Critère social", "Marché réservé"]
ENV_VALUES = ["Clause environnementale", "Critère environnemental"]
NO_SOCIAL = "Pas de considération sociale"
NO_ENV = "Pas de considération environnementale"
_PRESENT = (FamilyStatus.present, FamilyStatus.edited, FamilyStatus.hand_written)


class DecpIssue(BaseModel):
    """A consistency problem of a DECP record: ``path`` like ``marche[0].tauxAvance``."""

    level: Literal["erreur", "avertissement"]
    path: str
    message: str


@functools.cache
def load_schema() -> dict[str, Any]:
    """The official DECP v2.0.3 JSON Schema (draft-07), vendored with cahier."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


_SCHEMA_MESSAGES = {
    "required": "champ obligatoire manquant",
    "enum": "valeur non autorisée",
    "pattern": "format invalide",
    "type": "type invalide",
    "minimum": "valeur trop petite",
    "maximum": "valeur trop grande",
    "maxLength": "texte trop long",
    "minLength": "texte trop court",
    "minItems": "liste vide",
    "uniqueItems": "valeurs en double",
    "anyOf": "aucune des formes autorisées",
    "additionalProperties": "champ non prévu par le format",
}


def schema_errors(doc: Any) -> list[str]:
    """French messages for every violation of the DECP v2.0.3 schema (empty when valid).

    Each message starts with the JSON path (``marches.marche[0].dureeMois``) and quotes
    the offending value and the schema's constraint.
    """
    from jsonschema import Draft7Validator

    validator = Draft7Validator(load_schema())
    out: list[str] = []
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        path = "".join(
            f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p))
            for i, p in enumerate(err.absolute_path)
        )
        what = _SCHEMA_MESSAGES.get(str(err.validator), "valeur invalide")
        detail = ""
        if err.validator == "required":
            detail = f" : {err.message.split(' ')[0]}"
        elif err.validator == "enum":
            detail = f" « {err.instance} » ; valeurs possibles : " + ", ".join(
                map(str, err.validator_value)
            )
        elif err.validator == "additionalProperties":
            extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
            detail = " : " + ", ".join(extra)
        elif err.validator in ("type", "pattern", "minimum", "maximum", "maxLength", "minLength"):
            detail = f" « {err.instance} » (attendu : {err.validator} {err.validator_value})"
        out.append(f"{path or '(racine)'} : {what}{detail}")
    return out


def _issue(level: str, path: str, message: str) -> DecpIssue:
    return DecpIssue(level=level, path=path, message=message)  # type: ignore[arg-type]


def _date(v: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(v))
    except ValueError:
        return None


def consistency_issues(doc: dict[str, Any]) -> list[DecpIssue]:
    """Rules the DECP schema cannot express (DECP v2.0.3 consistency, docs/evaluation-archive.md).

    * « Pas de considération … » only alone (arrêté du 22 décembre 2022, annexe 15);
    * ``origineUE`` ≥ ``origineFrance`` (schema description of both fields);
    * ``tauxAvance`` > 0 only when ``attributionAvance`` is true (schema description);
    * publication compulsory from 40 000 € HT (CCP R2196-1): below, a warning;
    * ``datePublicationDonnees`` not before ``dateNotification``, and within two months
      of it (R2196-1);
    * a holder identified by SIRET has 14 digits and a valid check key (warning);
    * subcontracting acts only when ``sousTraitanceDeclaree`` is true (warning);
    * ``montant`` above 10 billion € HT is implausible (warning: a unit error).
    """
    out: list[DecpIssue] = []
    marches = doc.get("marches", {}) if isinstance(doc, dict) else {}
    records = marches.get("marche", []) if isinstance(marches, dict) else []
    for i, m in enumerate(records):
        if not isinstance(m, dict):
            continue
        p = f"marche[{i}]"
        for field, inner, none in (
            ("considerationsSociales", "considerationSociale", NO_SOCIAL),
            ("considerationsEnvironnementales", "considerationEnvironnementale", NO_ENV),
        ):
            values = (m.get(field) or {}).get(inner) or []
            if none in values and len(values) > 1:
                out.append(
                    _issue(
                        "erreur",
                        f"{p}.{field}",
                        f"« {none} » ne peut pas être combinée avec d'autres valeurs "
                        f"({', '.join(v for v in values if v != none)}).",
                    )
                )
        ue, fr = m.get("origineUE"), m.get("origineFrance")
        if isinstance(ue, int | float) and isinstance(fr, int | float) and fr > ue:
            out.append(
                _issue(
                    "erreur",
                    f"{p}.origineFrance",
                    f"la part de produits français ({fr:g}) dépasse la part de produits de "
                    f"l'Union européenne ({ue:g}) : la France est dans l'Union, "
                    "origineUE ≥ origineFrance.",
                )
            )
        taux, avance = m.get("tauxAvance"), m.get("attributionAvance")
        if avance is False and isinstance(taux, int | float) and taux > 0:
            out.append(
                _issue(
                    "erreur",
                    f"{p}.tauxAvance",
                    f"taux d'avance {taux:g} alors qu'aucune avance n'est attribuée "
                    "(attributionAvance = false).",
                )
            )
        montant = m.get("montant")
        if isinstance(montant, int | float):
            if montant < PUBLICATION_THRESHOLD:
                out.append(
                    _issue(
                        "avertissement",
                        f"{p}.montant",
                        f"montant {montant:,.2f} € HT inférieur à 40 000 € HT : la publication "
                        "des données essentielles n'est pas obligatoire (CCP art. R2196-1).".replace(
                            ",", " "
                        ),
                    )
                )
            if montant > 1e10:
                out.append(
                    _issue(
                        "avertissement",
                        f"{p}.montant",
                        f"montant {montant:g} € HT invraisemblable : vérifiez l'unité "
                        "(euros hors taxes, sans centimes multipliés).",
                    )
                )
        notif, pub = _date(m.get("dateNotification")), _date(m.get("datePublicationDonnees"))
        if notif and pub:
            if pub < notif:
                out.append(
                    _issue(
                        "erreur",
                        f"{p}.datePublicationDonnees",
                        f"données publiées le {pub:%d/%m/%Y}, avant la notification du "
                        f"{notif:%d/%m/%Y}.",
                    )
                )
            elif (pub - notif).days > 62:
                out.append(
                    _issue(
                        "avertissement",
                        f"{p}.datePublicationDonnees",
                        f"données publiées {(pub - notif).days} jours après la notification : "
                        "le délai est de deux mois (CCP art. R2196-1).",
                    )
                )
        for j, t in enumerate(m.get("titulaires") or []):
            tit = t.get("titulaire") if isinstance(t, dict) else None
            if isinstance(tit, dict) and tit.get("typeIdentifiant") == "SIRET":
                sid = str(tit.get("id", ""))
                if not siret_ok(sid):
                    out.append(
                        _issue(
                            "avertissement",
                            f"{p}.titulaires[{j}].titulaire.id",
                            f"SIRET « {sid} » invalide (14 chiffres et clé de Luhn attendus).",
                        )
                    )
        if m.get("actesSousTraitance") and m.get("sousTraitanceDeclaree") is False:
            out.append(
                _issue(
                    "avertissement",
                    f"{p}.sousTraitanceDeclaree",
                    "actes de sous-traitance publiés alors que la sous-traitance n'est pas "
                    "déclarée.",
                )
            )
        mid = str(m.get("id", ""))
        if re.search(r"[&\"\\<,; ]", mid):
            out.append(
                _issue(
                    "avertissement",
                    f"{p}.id",
                    f'identifiant « {mid} » : évitez les caractères &, ", \\, <, espace, '
                    "virgule et point-virgule (schéma DECP).",
                )
            )
    return out


def considerations(
    tender: Tender, report: CheckReport, clausier: Clausier
) -> tuple[list[str], list[str]]:
    """DECP ``considerationSociale`` and ``considerationEnvironnementale`` values.

    From the clause families present in the dossier (library clause, edited or
    hand-written equivalent; not waived or missing), through each clause's ``decp``
    field, and from the award criteria's types. Values follow the schema's order; none
    → the « Pas de … » value alone.
    """
    soc: set[str] = set()
    env: set[str] = set()
    for fam in report.families:
        if fam.status not in _PRESENT:
            continue
        clause = clausier.get(fam.clause)
        if clause is None:
            continue
        soc.update(clause.decp.considerationsSociales)
        env.update(clause.decp.considerationsEnvironnementales)
    for c in criteria_index(tender).values():
        if c.poids <= 0:
            continue
        if c.type == CritereType.environnement:
            env.add("Critère environnemental")
        elif c.type == CritereType.social:
            soc.add("Critère social")
    soc_list = [v for v in SOCIAL_VALUES if v in soc] or [NO_SOCIAL]
    env_list = [v for v in ENV_VALUES if v in env] or [NO_ENV]
    return soc_list, env_list


#: Refusal for a private buyer (``acheteur.type: prive``).
PRIVATE_BUYER = (
    "acheteur privé (acheteur.type : prive) : les données essentielles (DECP) ne concernent "
    "que les contrats de la commande publique (CCP art. L2196-2 et R2196-1) ; aucune "
    "publication n'est due. Pour partager les résultats sans données personnelles : "
    "« cahier report --donnees-ouvertes DOSSIER_DE_SORTIE »."
)


def build_decp(
    tender: Tender,
    evaluation: Evaluation,
    result: EvaluationResult,
    report: CheckReport,
    clausier: Clausier,
    evaluation_file: str = "evaluation/evaluation.yaml",
) -> dict[str, Any]:
    """The DECP v2.0.3 document ``{"marches": {"marche": [one record per lot]}}``.

    Raises:
        InputError: a private buyer (``acheteur.type: prive``: DECP is for public
            contracts only, CCP L2196-2), no ``attribution`` block in the evaluation, no holder for a lot (tie
            not settled), an identifier longer than 16 characters, a lot without
            amount in an allotted tender, or a record the official schema rejects.
    """
    if str(tender.acheteur.type) == "prive":
        raise InputError(PRIVATE_BUYER, "tender.yaml")
    a = evaluation.attribution
    if a is None:
        raise InputError(
            "bloc « attribution » absent : renseignez la notification (dateNotification, "
            "datePublicationDonnees, formePrix, typesPrix, modalitesExecution, lieuExecution) "
            "pour produire les données essentielles.",
            evaluation_file,
        )
    soc, env = considerations(tender, report, clausier)
    lots = {lot.numero: lot for lot in tender.lots}
    offers = {o.id: o for o in evaluation.offres}
    base_id = a.idMarche or tender.id
    records: list[dict[str, Any]] = []
    for lr in result.lots:
        holders = a.titulaires.get(lr.lot) or ([lr.laureat] if lr.laureat else [])
        if not holders:
            raise InputError(
                f"lot {lr.lot} : aucun attributaire (offres ex aequo non départagées) ; "
                "indiquez-le dans attribution.titulaires.",
                evaluation_file,
            )
        mid = base_id if len(result.lots) == 1 else f"{base_id}L{lr.lot}"
        if len(mid) > 16:
            raise InputError(
                f"identifiant de marché « {mid} » trop long (16 caractères au plus, schéma "
                "DECP) : indiquez un identifiant court dans attribution.idMarche.",
                evaluation_file,
            )
        lot = lots.get(lr.lot)
        montant = a.montant if len(result.lots) == 1 and a.montant else None
        if montant is None:
            montant = lot.montant if lot and lot.montant else (None if lots else tender.montant)
        if montant is None:
            raise InputError(
                f"lot {lr.lot} : montant estimé absent dans tender.yaml (lots[].montant).",
                "tender.yaml",
            )
        rec: dict[str, Any] = {
            "id": mid,
            "acheteur": {"id": tender.acheteur.id},
            "nature": tender.nature,
            "objet": (lot.objet if lot else tender.objet)[:1000],
            "codeCPV": tender.codeCPV,
            "procedure": tender.procedure,
            "techniques": {"technique": list(tender.techniques) or ["Sans objet"]},
            "modalitesExecution": {"modaliteExecution": list(a.modalitesExecution)},
            "marcheInnovant": a.marcheInnovant,
            "ccag": tender.ccag,
            "offresRecues": lr.offresRecues,
            "attributionAvance": a.attributionAvance,
            "typeGroupementOperateurs": a.typeGroupementOperateurs,
            "sousTraitanceDeclaree": a.sousTraitanceDeclaree,
            "lieuExecution": dict(a.lieuExecution),
            "dureeMois": tender.dureeMois,
            "dateNotification": a.dateNotification.isoformat(),
            "datePublicationDonnees": a.datePublicationDonnees.isoformat(),
            "montant": round(float(montant), 2),
            "typesPrix": {"typePrix": list(a.typesPrix)},
            "formePrix": a.formePrix,
            "titulaires": [
                {"titulaire": {"typeIdentifiant": "SIRET", "id": offers[h].siret}} for h in holders
            ],
            "considerationsSociales": {"considerationSociale": soc},
            "considerationsEnvironnementales": {"considerationEnvironnementale": env},
        }
        if a.tauxAvance is not None:
            rec["tauxAvance"] = a.tauxAvance
        if a.origineUE is not None:
            rec["origineUE"] = a.origineUE
        if a.origineFrance is not None:
            rec["origineFrance"] = a.origineFrance
        records.append(rec)
    doc = {"marches": {"marche": records}}
    errors = schema_errors(doc)
    if errors:
        raise InputError(
            "données essentielles non conformes au schéma DECP v2.0.3 : "
            + " ; ".join(errors[:5])
            + ".",
            evaluation_file,
        )
    blocking = [i for i in consistency_issues(doc) if i.level == "erreur"]
    if blocking:
        raise InputError(
            "données essentielles incohérentes : "
            + " ; ".join(f"{i.path} : {i.message}" for i in blocking),
            evaluation_file,
        )
    return doc


def to_json(doc: dict[str, Any]) -> str:
    """Pretty JSON (UTF-8 characters kept), newline-terminated."""
    from tasks.dossier.model import json_text

    return json_text(doc)
