"""DECP v2 export: the essential data of the awarded contract, in the official format.

Every contract of 40 000 € HT or more is published on data.gouv.fr within two months of
its notification (CCP L2196-2, R2196-1; arrêtés du 22 décembre 2022, modifiés le 22
décembre 2023; threshold and delay in ``clause_library/law.yaml``, ``decp``). :func:`build_decp` writes one ``marche`` record per lot from tender.yaml
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

from tasks import fmt
from tasks.clausier.library import Clausier, DecpPublication, Law, shipped_law
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
#: Above this (€ HT), an amount is taken for a unit error (a sanity bound, not law).
IMPLAUSIBLE_AMOUNT = 1e10
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


def consistency_issues(doc: dict[str, Any], law: Law | None = None) -> list[DecpIssue]:
    """Rules the DECP schema cannot express (DECP v2.0.3 consistency, docs/evaluation-archive.md).

    * « Pas de considération … » only alone (arrêté du 22 décembre 2022, annexe 15);
    * ``origineUE`` ≥ ``origineFrance`` (schema description of both fields);
    * ``tauxAvance`` > 0 only when ``attributionAvance`` is true (schema description);
    * publication compulsory from the threshold of law.yaml ``decp`` (40 000 € HT, CCP
      R2196-1): below, a warning;
    * ``datePublicationDonnees`` not before ``dateNotification``, and within the delay of
      law.yaml ``decp`` (two calendar months, R2196-1);
    * a holder identified by SIRET has 14 digits and a valid check key (warning);
    * subcontracting acts only when ``sousTraitanceDeclaree`` is true (warning);
    * ``montant`` above 10 billion € HT is implausible (warning: a unit error);
    * ``lieuExecution.code`` has the form of its ``typeCode`` (INSEE geographic code
      or postal code, schema description): « ZZ » is no département.

    ``law``: the law in force (default: law.yaml of the shipped clausier).
    """
    rules = (law or shipped_law()).decp
    out: list[DecpIssue] = []
    marches = doc.get("marches", {}) if isinstance(doc, dict) else {}
    records = marches.get("marche", []) if isinstance(marches, dict) else []
    for i, m in enumerate(records):
        if not isinstance(m, dict):
            continue
        p = f"marche[{i}]"
        for check in (
            _considerations_alone,
            _origins,
            _advance,
            _holders,
            _subcontracting,
            _id,
            _place,
        ):
            out.extend(check(m, p))
        out.extend(_amount(m, p, rules))
        out.extend(_publication_date(m, p, rules))
    return out


def _considerations_alone(m: dict[str, Any], p: str) -> list[DecpIssue]:
    """« Pas de considération … » cannot be combined with another value (annexe 15)."""
    out: list[DecpIssue] = []
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
    return out


def _origins(m: dict[str, Any], p: str) -> list[DecpIssue]:
    """France is in the Union: ``origineUE`` ≥ ``origineFrance``."""
    ue, fr = m.get("origineUE"), m.get("origineFrance")
    if isinstance(ue, int | float) and isinstance(fr, int | float) and fr > ue:
        return [
            _issue(
                "erreur",
                f"{p}.origineFrance",
                f"la part de produits français ({fmt.number(fr)}) dépasse la part de produits "
                f"de l'Union européenne ({fmt.number(ue)}) : la France est dans l'Union, "
                "origineUE ≥ origineFrance.",
            )
        ]
    return []


def _advance(m: dict[str, Any], p: str) -> list[DecpIssue]:
    """A rate of advance only when an advance is granted."""
    taux, avance = m.get("tauxAvance"), m.get("attributionAvance")
    if avance is False and isinstance(taux, int | float) and taux > 0:
        return [
            _issue(
                "erreur",
                f"{p}.tauxAvance",
                f"taux d'avance {fmt.number(taux)} alors qu'aucune avance n'est attribuée "
                "(attributionAvance = false).",
            )
        ]
    return []


def _amount(m: dict[str, Any], p: str, rules: DecpPublication) -> list[DecpIssue]:
    """Below the publication threshold (warning); implausibly large (unit error)."""
    montant = m.get("montant")
    if not isinstance(montant, int | float):
        return []
    out: list[DecpIssue] = []
    if montant < rules.publication_threshold:
        out.append(
            _issue(
                "avertissement",
                f"{p}.montant",
                f"montant {fmt.amount(montant)} inférieur à "
                f"{fmt.amount(rules.publication_threshold, decimals=0)} : la publication des "
                f"données essentielles n'est pas obligatoire ({rules.citation()}).",
            )
        )
    if montant > IMPLAUSIBLE_AMOUNT:
        out.append(
            _issue(
                "avertissement",
                f"{p}.montant",
                f"montant {fmt.amount(montant)} invraisemblable : vérifiez l'unité "
                "(euros hors taxes, sans centimes multipliés).",
            )
        )
    return out


def _publication_date(m: dict[str, Any], p: str, rules: DecpPublication) -> list[DecpIssue]:
    """Published after the notification and within the delay in calendar months."""
    notif, pub = _date(m.get("dateNotification")), _date(m.get("datePublicationDonnees"))
    if not (notif and pub):
        return []
    if pub < notif:
        return [
            _issue(
                "erreur",
                f"{p}.datePublicationDonnees",
                f"données publiées le {fmt.date_short(pub)}, avant la notification du "
                f"{fmt.date_short(notif)}.",
            )
        ]
    deadline = fmt.add_months(notif, rules.publication_delay_months)
    if pub > deadline:
        return [
            _issue(
                "avertissement",
                f"{p}.datePublicationDonnees",
                f"données publiées le {fmt.date_short(pub)}, {(pub - notif).days} jours après "
                f"la notification du {fmt.date_short(notif)} : le délai est de "
                f"{rules.publication_delay_label}, soit au plus tard le "
                f"{fmt.date_short(deadline)} ({rules.citation()}).",
            )
        ]
    return []


def _holders(m: dict[str, Any], p: str) -> list[DecpIssue]:
    """A holder identified by SIRET has 14 digits and a valid Luhn key."""
    out: list[DecpIssue] = []
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
    return out


def _subcontracting(m: dict[str, Any], p: str) -> list[DecpIssue]:
    """Subcontracting acts only when subcontracting is declared."""
    if m.get("actesSousTraitance") and m.get("sousTraitanceDeclaree") is False:
        return [
            _issue(
                "avertissement",
                f"{p}.sousTraitanceDeclaree",
                "actes de sous-traitance publiés alors que la sous-traitance n'est pas déclarée.",
            )
        ]
    return []


#: The form of a place code by its type (INSEE Code officiel géographique; La Poste).
_PLACE_CODES = {
    "Code postal": r"\d{5}",
    "Code commune": r"(?:\d{5}|2[AB]\d{3})",
    "Code arrondissement": r"(?:\d{3}|2[AB]\d|97\d{2})",
    "Code canton": r"(?:\d{4}|2[AB]\d{2}|97\d{3})",
    "Code département": r"(?:0[1-9]|[1-8]\d|9[0-5]|2[AB]|97[1-8])",
    "Code région": r"\d{2}",
    "Code pays": r"[A-Z]{2,3}|\d{3}",
}


def _place(m: dict[str, Any], p: str) -> list[DecpIssue]:
    """The place code has the form of its type (« 33 » for a département, « 33063 » for
    a commune, « FR » for a country)."""
    place = m.get("lieuExecution")
    if not isinstance(place, dict):
        return []
    kind, code = place.get("typeCode"), str(place.get("code", ""))
    form = _PLACE_CODES.get(str(kind))
    if form is None or re.fullmatch(form, code):
        return []
    return [
        _issue(
            "erreur",
            f"{p}.lieuExecution.code",
            f"code « {code} » : ce n'est pas un {str(kind).lower()} (code géographique "
            "INSEE ou code postal attendu selon typeCode) ; corrigez lieuExecution.",
        )
    ]


def _id(m: dict[str, Any], p: str) -> list[DecpIssue]:
    """Characters the DECP schema advises against in an identifier."""
    mid = str(m.get("id", ""))
    if re.search(r"[&\"\\<,; ]", mid):
        return [
            _issue(
                "avertissement",
                f"{p}.id",
                f'identifiant « {mid} » : évitez les caractères &, ", \\, <, espace, '
                "virgule et point-virgule (schéma DECP).",
            )
        ]
    return []


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
    lots = [lot.numero for lot in tender.lots] or [None]  # each lot's criteria, own or not
    for c in (c for n in lots for c in criteria_index(tender, n).values()):
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
    offers = {o.id: o for o in evaluation.offres}
    records: list[dict[str, Any]] = []
    for lr in result.lots:
        holders = a.titulaires.get(lr.lot) or ([lr.laureat] if lr.laureat else [])
        if not holders:
            raise InputError(
                f"lot {lr.lot} : aucun attributaire ({lr.why_no_winner()}) ; indiquez-le "
                "dans attribution.titulaires, ou ne publiez pas de marché pour ce lot.",
                evaluation_file,
            )
        rec = _record(tender, a, lr, len(result.lots), evaluation_file)
        rec["titulaires"] = [
            {"titulaire": {"typeIdentifiant": "SIRET", "id": offers[h].siret}} for h in holders
        ]
        rec["considerationsSociales"] = {"considerationSociale": soc}
        rec["considerationsEnvironnementales"] = {"considerationEnvironnementale": env}
        for optional in ("tauxAvance", "origineUE", "origineFrance"):
            if getattr(a, optional) is not None:
                rec[optional] = getattr(a, optional)
        records.append(rec)
    doc = {"marches": {"marche": records}}
    _refuse_invalid(doc, evaluation_file, clausier.law)
    return doc


def _record(tender: Tender, a: Any, lr: Any, n_lots: int, evaluation_file: str) -> dict[str, Any]:
    """The record of one lot, without holders nor considerations (DECP field names)."""
    base_id = a.idMarche or tender.id
    mid = base_id if n_lots == 1 else f"{base_id}L{lr.lot}"
    if len(mid) > 16:
        raise InputError(
            f"identifiant de marché « {mid} » trop long (16 caractères au plus, schéma "
            "DECP) : indiquez un identifiant court dans attribution.idMarche.",
            evaluation_file,
        )
    lot = next((x for x in tender.lots if x.numero == lr.lot), None)
    montant = a.montant if n_lots == 1 and a.montant else None
    if montant is None:
        montant = lot.montant if lot and lot.montant else (None if tender.lots else tender.montant)
    if montant is None:
        raise InputError(
            f"lot {lr.lot} : montant estimé absent dans tender.yaml (lots[].montant).",
            "tender.yaml",
        )
    return {
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
    }


def _refuse_invalid(doc: dict[str, Any], evaluation_file: str, law: Law) -> None:
    """Raise InputError when the official schema or a blocking consistency rule rejects
    ``doc``."""
    errors = schema_errors(doc)
    if errors:
        raise InputError(
            "données essentielles non conformes au schéma DECP v2.0.3 : "
            + " ; ".join(errors[:5])
            + ".",
            evaluation_file,
        )
    blocking = [i for i in consistency_issues(doc, law) if i.level == "erreur"]
    if blocking:
        raise InputError(
            "données essentielles incohérentes : "
            + " ; ".join(f"{i.path} : {i.message}" for i in blocking),
            evaluation_file,
        )


def to_json(doc: dict[str, Any]) -> str:
    """Pretty JSON (UTF-8 characters kept), newline-terminated."""
    from tasks.dossier.model import json_text

    return json_text(doc)
