"""Bid evaluation: offers, scores, ranking per lot and sensitivity of the result.

The buyer records the analysis of the offers in ``tenders/<id>/evaluation/evaluation.yaml``
(one file: offers, scores, scoring methods, evaluators, award data for DECP). This module
validates it against tender.yaml (the award criteria announced in the RC), computes the
points with the announced method, ranks the offers per lot, flags offers that look
abnormally low and measures whether the environmental and social criteria changed the
outcome. Format and formulas: ``docs/evaluation-archive.md`` (in the repository; an
installed package has :func:`evaluation_template`, ``cahier evaluate --modele``).

Criteria are referred to by their RC number, derived from the order of ``criteres`` in
tender.yaml: ``"1"``, ``"2"``, ``"2.1"``… Only leaf criteria (without sub-criteria) are
scored; a parent's points are the sum of its sub-criteria's. Amounts are in € HT,
weights in % of the total score (so points are out of 100).

Price formulas (criterion of type ``prix`` or ``cout``), ``P`` the offer's price and
``Pmin``/``Pmax`` the lowest/highest price among the offers kept in the lot:

* ``pmin_sur_p``: ``poids × Pmin / P`` (the usual "linear" formula);
* ``ecart_relatif``: ``poids × max(0, 1 − (P − Pmin) / Pmin)`` (points lost in
  proportion to the gap with the lowest price; zero at twice the lowest price);
* ``min_max``: ``poids × (Pmax − P) / (Pmax − Pmin)`` (interpolation between the
  extreme offers; every offer gets the full weight when all prices are equal).

Qualitative criteria: a scale ``min``–``max`` with anchors (e.g. 0 « absence de
réponse » … 4 « très satisfaisante »); points = ``poids × (note − min) / (max − min)``.

Abnormally low offers (CCP L2152-5, L2152-6, R2152-3, R2152-4): an offer is flagged when
its price is below ``seuilMoyenne`` % (default 70 %) of the mean price of the other offers
of its lot, or, for the lowest offer, more than ``ecartSecond`` % (default 20 %) below the
second lowest. A flag is a warning for the buyer, who must ask the bidder in writing for
justifications (R2152-3); it never rejects the offer: a rejection is recorded by the
buyer (``ecartee``) after examining the answer (R2152-4).

Ranking: totals are rounded to 2 decimals (as in an analysis report); ties are broken by
the criteria listed in ``departage`` (RC order, e.g. ``["3"]`` when the RC says « l'offre
la mieux notée sur le critère Performance environnementale »); a tie that remains is
reported, never settled silently.

Example::

    tender, ev, _ = read_evaluation("tenders/2026-CD33-PC-001")
    result = evaluate(ev, tender)
    result.lots[0].laureat  # "B"
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from tasks import fmt
from tasks.dossier.model import (
    Critere,
    CritereType,
    LegalReference,
    Number,
    Tender,
    siret_ok,
)
from tasks.dossier.yamlio import french_error, line_of, load_yaml, validate_yaml
from tasks.errors import InputError

__all__ = [
    "CSV_SEPARATOR",
    "EVALUATION_FILE",
    "PLACEHOLDER",
    "Alerte",
    "Attribution",
    "CriterionInfo",
    "Echelle",
    "Evaluation",
    "EvaluationResult",
    "LotResult",
    "MethodeCritere",
    "Note",
    "Offre",
    "OffreResult",
    "WeightShift",
    "criteria_index",
    "evaluate",
    "evaluation_template",
    "parse_evaluation",
    "read_evaluation",
    "siret_ok",
    "to_csv",
]

EVALUATION_FILE = "evaluation/evaluation.yaml"
PLACEHOLDER = "À COMPLÉTER"  # value left in the template (evaluation_template)
CCP = "https://www.legifrance.gouv.fr/codes/texte_lc/LEGITEXT000037701019"
PRICE_TYPES = (CritereType.prix, CritereType.cout)
RESPONSIBLE_TYPES = (CritereType.environnement, CritereType.social)
JUSTIFICATION_MIN = 10  # characters: « ok », « bien » are not a written justification


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# --------------------------------------------------------------------------- helpers


_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_LOOKS_MONEY = re.compile(
    r"[-+]?[0-9][0-9\s\u00a0\u202f.,]*(?:€|eur|euros)?\s*(?:ht|h\.t\.)?", re.I
)


def _money(v: Any) -> Any:
    """A YAML amount: a number; French-formatted text gets a message saying how to write it."""
    if isinstance(v, bool):
        raise ValueError("un montant en € HT est attendu, pas oui/non")
    if isinstance(v, int | float) or v is None:
        return v
    if isinstance(v, str):
        s = v.strip()
        if _PLAIN_NUMBER.fullmatch(s):
            return float(s)
        if _LOOKS_MONEY.fullmatch(s):
            digits = re.sub(r"[^0-9,.-]", "", s)
            if "," in digits:
                digits = digits.replace(".", "").replace(",", ".")
            raise ValueError(
                f"montant « {v} » écrit à la française : écrivez le nombre sans espace, sans "
                f"symbole et avec un point décimal (ici {digits}), en € HT"
            )
        raise ValueError(f"« {v} » n'est pas un montant : un nombre en € HT est attendu")
    raise ValueError("un montant en € HT est attendu")


def _fmt_eur(x: float) -> str:
    """« 1 234 567,89 € HT » (Babel fr_FR, :func:`tasks.fmt.amount`)."""
    return fmt.amount(x)


def _fmt(x: float) -> str:
    return f"{x:.2f}".replace(".", ",")


# --------------------------------------------------------------------------- input


class Echelle(_Model):
    """A qualitative scale: notes from ``min`` to ``max`` with written anchors."""

    min: Number = 0
    max: Number = 4
    ancres: dict[Number, str] = Field(
        default_factory=dict, description="signification des notes (ex. 0: absence de réponse)"
    )

    @field_validator("max")
    @classmethod
    def _max(cls, v: float, info: Any) -> float:
        if v <= info.data.get("min", 0):
            raise ValueError("le maximum de l'échelle doit être supérieur au minimum")
        return v


class MethodeCritere(_Model):
    """How one criterion is scored: its weight (as in the RC) and its formula or scale."""

    nom: str | None = Field(default=None, description="rappel du nom (vérifié s'il est donné)")
    poids: Number = Field(ge=0, le=100, description="pondération en % (celle du RC)")
    formule: Literal["pmin_sur_p", "ecart_relatif", "min_max"] | None = None
    echelle: Echelle | None = None


class Evaluateur(_Model):
    """A member of the analysis team."""

    nom: str = Field(min_length=1)
    email: str | None = None
    qualite: str | None = Field(default=None, description="fonction (acheteur, référent…)")


class LigneBPU(_Model):
    """One line of the BPU/DQE: quantity × unit price (€ HT)."""

    reference: str | None = None
    designation: str = Field(min_length=1)
    quantite: Number = Field(gt=0)
    prixUnitaire: Number = Field(gt=0, description="€ HT")

    _pu = field_validator("prixUnitaire", mode="before")(lambda v: _money(v))
    _q = field_validator("quantite", mode="before")(lambda v: _money(v))

    @model_validator(mode="after")
    def _finite_total(self) -> LigneBPU:
        """quantite × prixUnitaire must stay finite (each factor finite is not enough)."""
        if not math.isfinite(self.quantite * self.prixUnitaire):
            raise ValueError(
                "quantité × prix unitaire dépasse le plus grand nombre représentable (total "
                "infini) : corrigez la quantité ou le prix unitaire de cette ligne (€ HT)"
            )
        return self


class Note(_Model):
    """The score of one offer on one (sub-)criterion, with its written justification."""

    note: Number
    justification: str
    evaluateur: str | None = None


class Offre(_Model):
    """One offer (or variant) of one bidder on one lot."""

    id: str = Field(min_length=1, max_length=40, description="repère court (ex. A, B, O1)")
    soumissionnaire: str = Field(min_length=1)
    siret: str
    lot: int | None = Field(default=None, ge=1)
    variante: bool = False
    prix: Number | None = Field(default=None, gt=0, description="montant total € HT (DQE)")
    lignes: list[LigneBPU] = Field(default_factory=list)
    coutGlobal: Number | None = Field(default=None, gt=0, description="coût du cycle de vie, € HT")
    notes: dict[str, Note] = Field(default_factory=dict)
    engagements: dict[str, Number] = Field(
        default_factory=dict,
        description="engagements chiffrés de l'offre suivis après l'attribution (indicateur → "
        "valeur, ex. part_reconditionnes: 60 en %, heures_insertion_par_100k: 40) : "
        "clause_library/followup.yaml",
    )
    ecartee: str | None = Field(
        default=None, description="motif d'élimination (irrégulière, inacceptable, OAB rejetée)"
    )

    _p = field_validator("prix", "coutGlobal", mode="before")(lambda v: _money(v))

    @model_validator(mode="after")
    def _finite_total(self) -> Offre:
        # finite lines can still overflow: 1e200 × 1e200 is infinite (tasks.dossier.model.Number)
        if self.prix is None and self.lignes:
            total = sum(ln.quantite * ln.prixUnitaire for ln in self.lignes)
            if not math.isfinite(total):
                raise ValueError(
                    "le total des lignes (quantité × prix unitaire) n'est pas un nombre fini : "
                    "vérifiez les quantités et les prix unitaires (en € HT)"
                )
        return self

    @field_validator("siret", mode="before")
    @classmethod
    def _siret(cls, v: Any) -> str:
        s = re.sub(r"\s", "", str(v))
        if not re.fullmatch(r"[0-9]{14}", s):
            raise ValueError(f"SIRET « {v} » invalide : 14 chiffres attendus")
        if not siret_ok(s):
            raise ValueError(
                f"SIRET « {v} » invalide : la clé de contrôle (formule de Luhn) ne correspond "
                "pas ; vérifiez le numéro sur annuaire-entreprises.data.gouv.fr"
            )
        return s

    @model_validator(mode="after")
    def _finite_lines_total(self) -> Offre:
        """The sum of the BPU/DQE lines (€ HT) must stay finite."""
        if self.lignes and not math.isfinite(
            sum(ln.quantite * ln.prixUnitaire for ln in self.lignes)
        ):
            raise ValueError(
                "le total des lignes du BPU/DQE dépasse le plus grand nombre représentable "
                "(total infini) : corrigez les quantités ou les prix unitaires (€ HT)"
            )
        return self

    @property
    def montant(self) -> float:
        """Total price in € HT: ``prix``, or the sum of the BPU/DQE lines."""
        if self.prix is not None:
            return self.prix
        return round(sum(ln.quantite * ln.prixUnitaire for ln in self.lignes), 2)


class SeuilsOffreAnormalementBasse(_Model):
    """Detection thresholds for abnormally low offers (in %)."""

    seuilMoyenne: Number = Field(default=70, gt=0, le=100)
    ecartSecond: Number = Field(default=20, gt=0, lt=100)


class Attribution(_Model):
    """Award data the DECP record needs and tender.yaml does not hold (DECP v2 names).

    ``montant`` (€ HT) defaults to the lot's or tender's estimated maximum; ``idMarche``
    (1 to 16 characters) to the tender id; ``titulaires`` (offer ids) to the winner.
    """

    dateNotification: dt.date
    datePublicationDonnees: dt.date
    idMarche: str | None = Field(default=None, min_length=1, max_length=16)
    montant: Number | None = Field(default=None, gt=0)
    titulaires: dict[int, list[str]] = Field(
        default_factory=dict, description="par lot : repères des offres retenues"
    )
    formePrix: Literal["Unitaire", "Forfaitaire", "Mixte"]
    typesPrix: list[
        Literal["Définitif ferme", "Définitif actualisable", "Définitif révisable", "Provisoire"]
    ] = Field(min_length=1)
    modalitesExecution: list[
        Literal["Tranches", "Bons de commande", "Marchés subséquents", "Sans objet"]
    ] = Field(min_length=1)
    lieuExecution: dict[str, str]
    attributionAvance: bool = False
    tauxAvance: Number | None = Field(default=None, ge=0, le=1)
    typeGroupementOperateurs: Literal["Conjoint", "Solidaire", "Pas de groupement"] = (
        "Pas de groupement"
    )
    sousTraitanceDeclaree: bool = False
    marcheInnovant: bool = False
    origineUE: Number | None = Field(default=None, ge=0, le=1)
    origineFrance: Number | None = Field(default=None, ge=0, le=1)

    _m = field_validator("montant", mode="before")(lambda v: _money(v))


class Evaluation(_Model):
    """evaluation.yaml: the analysis of the offers of one tender."""

    tender: str = Field(description="identifiant du dossier (id de tender.yaml)")
    dateAnalyse: dt.date
    evaluateurs: list[Evaluateur] = Field(min_length=1)
    echelle: Echelle = Field(default_factory=Echelle, description="échelle par défaut")
    criteres: dict[str, MethodeCritere] = Field(min_length=1)
    departage: list[str] = Field(
        default_factory=list, description="critères départageant les ex aequo, dans l'ordre"
    )
    offresAnormalementBasses: SeuilsOffreAnormalementBasse = Field(
        default_factory=SeuilsOffreAnormalementBasse
    )
    offres: list[Offre] = Field(min_length=1)
    attribution: Attribution | None = None


# --------------------------------------------------------------------------- output


class CriterionInfo(_Model):
    """A criterion of the RC with its number, as used by the evaluation."""

    code: str
    nom: str
    poids: Number
    type: CritereType
    parent: str | None = None
    feuille: bool = True
    responsable: bool = False  # environmental or social criterion (or under one)


class Alerte(_Model):
    """A warning for the buyer (abnormally low offer, unresolved tie…)."""

    regle: str
    lot: int
    offre: str | None = None
    message: str
    legal_basis: list[LegalReference] = Field(default_factory=list)


class OffreResult(_Model):
    """One offer's points (per leaf and per top-level criterion), total and rank."""

    id: str
    soumissionnaire: str
    siret: str
    lot: int
    variante: bool
    prix: Number
    ecartee: str | None = None
    points: dict[str, Number] = Field(default_factory=dict)
    pointsCriteres: dict[str, Number] = Field(default_factory=dict)
    total: Number | None = None
    rang: int | None = None
    anormalementBasse: bool = False
    totalSansResponsables: Number | None = None
    rangSansResponsables: int | None = None


class WeightShift(_Model):
    """Moving ``points`` of weight from criterion ``de`` to ``vers`` makes ``offre`` tie the winner."""

    de: str
    vers: str
    points: Number
    offre: str
    message: str


class LotResult(_Model):
    """Ranking and sensitivity of one lot (lot 1 when the tender has no lots)."""

    lot: int
    objet: str
    offresRecues: int
    offres: list[OffreResult]
    laureat: str | None = None
    exAequo: list[list[str]] = Field(default_factory=list)
    poidsResponsables: Number = 0
    laureatSansResponsables: str | None = None
    criteresResponsablesDecisifs: bool = False
    plusPetitChangement: WeightShift | None = None
    changements: list[WeightShift] = Field(default_factory=list)


#: Version of the evaluation method (formulas, rounding, tie-breaks, abnormally low
#: offers). Recorded in each archive's manifest (``methode_evaluation``): the audit
#: recomputes an archive only with the same method, and reports a later change of
#: method as such, not as tampering. Increase it whenever a result may change.
METHOD_VERSION = "1"


class EvaluationResult(_Model):
    """The whole evaluation: criteria, lots, alerts."""

    tender: str
    dateAnalyse: dt.date
    criteres: list[CriterionInfo]
    departage: list[str]
    lots: list[LotResult]
    alertes: list[Alerte] = Field(default_factory=list)


# --------------------------------------------------------------------------- criteria


def criteria_index(tender: Tender) -> dict[str, CriterionInfo]:
    """The RC criteria by number: ``{"1": Prix, "2": Valeur technique, "2.1": …}``."""
    out: dict[str, CriterionInfo] = {}

    def walk(items: list[Critere], prefix: str, parent: CriterionInfo | None) -> None:
        for i, c in enumerate(items, 1):
            code = f"{prefix}{i}"
            info = CriterionInfo(
                code=code,
                nom=c.nom,
                poids=c.poids,
                type=c.type,
                parent=parent.code if parent else None,
                feuille=not c.sousCriteres,
                responsable=c.type in RESPONSIBLE_TYPES or bool(parent and parent.responsable),
            )
            out[code] = info
            walk(c.sousCriteres, code + ".", info)

    walk(tender.criteres, "", None)
    return out


def _top(code: str) -> str:
    return code.split(".", 1)[0]


def _fold(s: str) -> str:
    import unicodedata

    s = unicodedata.normalize("NFKD", s.lower())
    return " ".join(re.findall(r"[a-z0-9]+", "".join(c for c in s if not unicodedata.combining(c))))


# --------------------------------------------------------------------------- parsing


def _offer_label(data: Any, index: int) -> str:
    try:
        o = data["offres"][index]
        return f"offre « {o.get('id', index + 1)} » ({o.get('soumissionnaire', '?')})"
    except (KeyError, IndexError, TypeError, AttributeError):
        return f"offre n° {index + 1}"


def _where(loc: tuple[Any, ...], data: Any) -> str:
    """« offre « B » (Société), critère « 2.1 » : » for an error location."""
    parts: list[str] = []
    if len(loc) >= 2 and loc[0] == "offres" and isinstance(loc[1], int):
        parts.append(_offer_label(data, loc[1]))
        if len(loc) >= 4 and loc[2] == "notes":
            parts.append(f"critère « {loc[3]} »")
    elif len(loc) >= 2 and loc[0] == "criteres":
        parts.append(f"critère « {loc[1]} »")
    return (", ".join(parts) + " : ") if parts else ""


class _Ctx:
    def __init__(self, data: Any, node: Any, file: str):
        self.data, self.node, self.file = data, node, file

    def fail(self, loc: tuple[Any, ...], message: str) -> InputError:
        line = line_of(self.node, loc)
        return InputError(_where(loc, self.data) + message, self.file, line)


def parse_evaluation(raw: bytes | str, file: str, tender: Tender) -> Evaluation:
    """Validate evaluation.yaml against its model and against the tender's RC criteria.

    Checks (each failure names the offer and criterion, the file and the line):
    weights equal to tender.yaml's (R2152-7: the criteria and weights announced are
    those applied), every leaf criterion given a method, a formula for price/cost
    criteria and none elsewhere, every offer kept scored on every qualitative leaf with
    a note within the scale and a written justification, offers on known lots, no
    duplicate offer id, no bidder (SIRET) twice on a lot except for variants, price
    total consistent with the BPU/DQE lines, evaluators named in ``evaluateurs``.

    Raises:
        InputError: the first problem found, in French.
    """
    _check_placeholders(raw, file)
    data, node = load_yaml(raw, file)
    if not isinstance(data, dict):
        raise InputError("le fichier doit contenir une table YAML (clé : valeur).", file, 1)
    ctx = _Ctx(data, node, file)
    # YAML reads « 2.1: … » as a float key: codes are text.
    for key in ("criteres",):
        if isinstance(data.get(key), dict):
            data[key] = {_code(k): v for k, v in data[key].items()}
    if isinstance(data.get("offres"), list):
        for o in data["offres"]:
            if isinstance(o, dict) and isinstance(o.get("notes"), dict):
                o["notes"] = {_code(k): v for k, v in o["notes"].items()}
    if isinstance(data.get("departage"), list):
        data["departage"] = [_code(k) for k in data["departage"]]
    try:
        ev = Evaluation.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        loc = tuple(first.get("loc", ()))
        field = ".".join(str(p) for p in loc) or "(racine)"
        more = f" (et {len(errors) - 1} autre(s) erreur(s))" if len(errors) > 1 else ""
        raise ctx.fail(loc, f"champ « {field} » : {french_error(first)}{more}.") from None
    _cross_check(ev, tender, ctx)
    return ev


def _check_placeholders(raw: bytes | str, file: str) -> None:
    """Refuse a template value left as « À COMPLÉTER » (comments excluded), with its line."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    for no, line in enumerate(text.splitlines(), 1):
        code = line.split(" #", 1)[0]
        if code.lstrip().startswith("#") or PLACEHOLDER not in code:
            continue
        key = code.split(":", 1)[0].strip(" -{\"'") if ":" in code else ""
        raise InputError(
            f"valeur « {PLACEHOLDER} » du modèle encore présente"
            + (f" (champ « {key} »)" if key else "")
            + " : remplacez-la par la donnée réelle (voir le commentaire au-dessus).",
            file,
            no,
        )


def _code(k: Any) -> str:
    if isinstance(k, float):
        return repr(k)  # 2.1 -> "2.1"
    return str(k).strip()


def _cross_check(ev: Evaluation, tender: Tender, ctx: _Ctx) -> None:
    crit = criteria_index(tender)
    if ev.tender != tender.id:
        raise ctx.fail(
            ("tender",),
            f"évaluation du dossier « {ev.tender} » alors que tender.yaml décrit « {tender.id} ».",
        )
    if not crit:
        raise ctx.fail(
            ("criteres",),
            "tender.yaml ne déclare aucun critère d'attribution : recopiez ceux du RC avant "
            "d'évaluer les offres.",
        )
    # weights and methods
    for code, m in ev.criteres.items():
        info = crit.get(code)
        if info is None:
            raise ctx.fail(
                ("criteres", code),
                f"critère inconnu : le RC (tender.yaml) numérote ses critères {', '.join(crit)}.",
            )
        if abs(m.poids - info.poids) > 1e-6:
            raise ctx.fail(
                ("criteres", code, "poids"),
                f"pondération {fmt.percent(m.poids)} différente de celle annoncée au RC pour "
                f"« {info.nom} » ({fmt.percent(info.poids)}) : les offres doivent être jugées avec les "
                "critères et pondérations annoncés (CCP art. R2152-7 et R2152-11).",
            )
        if m.nom is not None and _fold(m.nom) != _fold(info.nom):
            raise ctx.fail(
                ("criteres", code, "nom"),
                f"le critère {code} s'appelle « {info.nom} » dans tender.yaml, pas « {m.nom} ».",
            )
        if info.feuille and info.type in PRICE_TYPES and m.formule is None:
            raise ctx.fail(
                ("criteres", code),
                f"critère « {info.nom} » ({info.type}) : indiquez la formule de notation du prix "
                "annoncée au RC (formule: pmin_sur_p, ecart_relatif ou min_max).",
            )
        if m.formule is not None and (not info.feuille or info.type not in PRICE_TYPES):
            raise ctx.fail(
                ("criteres", code, "formule"),
                f"une formule de prix ne s'applique qu'à un critère prix ou coût sans "
                f"sous-critère ; « {info.nom} » est noté sur une échelle.",
            )
    for code, info in crit.items():
        if info.feuille and code not in ev.criteres:
            raise ctx.fail(
                ("criteres",),
                f"le critère {code} « {info.nom} » ({fmt.percent(info.poids)}) du RC n'a pas de méthode "
                "de notation : ajoutez-le sous « criteres » avec sa pondération.",
            )
    for i, code in enumerate(ev.departage):
        if code not in crit:
            raise ctx.fail(("departage", i), f"critère de départage « {code} » inconnu.")
    # lots
    lots = {lot.numero for lot in tender.lots} or {1}
    names = {_fold(e.nom) for e in ev.evaluateurs} | {
        (e.email or "").lower() for e in ev.evaluateurs if e.email
    }
    seen_ids: dict[str, int] = {}
    seen_bidders: dict[tuple[int, str], int] = {}
    for i, o in enumerate(ev.offres):
        if o.id in seen_ids:
            raise ctx.fail(
                ("offres", i, "id"),
                f"repère d'offre « {o.id} » déjà utilisé par l'offre n° {seen_ids[o.id] + 1}.",
            )
        seen_ids[o.id] = i
        if o.lot is None:
            if tender.lots:
                raise ctx.fail(
                    ("offres", i),
                    f"le marché est alloti (lots {', '.join(str(n) for n in sorted(lots))}) : "
                    "indiquez le lot de l'offre (lot: N).",
                )
            o.lot = 1
        elif o.lot not in lots:
            raise ctx.fail(
                ("offres", i, "lot"),
                f"lot {o.lot} inconnu : tender.yaml déclare "
                + (
                    f"les lots {', '.join(str(n) for n in sorted(lots))}."
                    if tender.lots
                    else "un marché non alloti (lot unique, lot: 1)."
                ),
            )
        if not o.variante:
            key = (o.lot, o.siret)
            if key in seen_bidders:
                raise ctx.fail(
                    ("offres", i, "siret"),
                    f"soumissionnaire en double : le SIRET {o.siret} a déjà remis l'offre n° "
                    f"{seen_bidders[key] + 1} sur le lot {o.lot} ; une seconde offre du même "
                    "soumissionnaire est une variante (variante: true).",
                )
            seen_bidders[key] = i
        if o.prix is None and not o.lignes:
            raise ctx.fail(
                ("offres", i),
                "prix absent : indiquez le montant total en € HT (prix) ou les lignes du "
                "BPU/DQE (lignes).",
            )
        if o.prix is not None and o.lignes:
            total = sum(ln.quantite * ln.prixUnitaire for ln in o.lignes)
            if abs(total - o.prix) > 0.01:
                raise ctx.fail(
                    ("offres", i, "prix"),
                    f"le total des lignes du BPU/DQE ({_fmt_eur(total)}) diffère du prix "
                    f"indiqué ({_fmt_eur(o.prix)}) : corrigez l'un ou l'autre.",
                )
        if o.ecartee is not None:
            continue
        for code, note in o.notes.items():
            info = crit.get(code)
            if info is None:
                raise ctx.fail(("offres", i, "notes", code), "critère inconnu du RC.")
            if not info.feuille:
                raise ctx.fail(
                    ("offres", i, "notes", code),
                    f"« {info.nom} » a des sous-critères : notez chaque sous-critère, la note du "
                    "critère en est la somme.",
                )
            if info.type in PRICE_TYPES:
                raise ctx.fail(
                    ("offres", i, "notes", code),
                    f"« {info.nom} » est noté par la formule annoncée à partir du prix : ne "
                    "saisissez pas de note.",
                )
            scale = ev.criteres[code].echelle or ev.echelle
            if not (scale.min <= note.note <= scale.max) or math.isnan(note.note):
                raise ctx.fail(
                    ("offres", i, "notes", code, "note"),
                    f"note {note.note:g} hors de l'échelle {scale.min:g} à {scale.max:g}.",
                )
            if len(note.justification.strip()) < JUSTIFICATION_MIN:
                raise ctx.fail(
                    ("offres", i, "notes", code, "justification"),
                    "justification écrite absente ou trop courte : motivez la note "
                    f"(au moins {JUSTIFICATION_MIN} caractères ; elle sert à informer les "
                    "candidats évincés, CCP art. R2181-1 et R2181-2).",
                )
            if note.evaluateur is not None and (
                _fold(note.evaluateur) not in names and note.evaluateur.lower() not in names
            ):
                raise ctx.fail(
                    ("offres", i, "notes", code, "evaluateur"),
                    f"évaluateur « {note.evaluateur} » absent de la liste « evaluateurs ».",
                )
        for code, info in crit.items():
            if not info.feuille:
                continue
            if info.type == CritereType.cout and o.coutGlobal is None:
                raise ctx.fail(
                    ("offres", i),
                    f"coût global absent : le critère « {info.nom} » est noté sur le coût du "
                    "cycle de vie (coutGlobal, € HT ; CCP art. R2152-9).",
                )
            if info.type not in PRICE_TYPES and code not in o.notes:
                raise ctx.fail(
                    ("offres", i, "notes"),
                    f"note manquante pour le critère {code} « {info.nom} » : chaque offre "
                    "retenue est notée sur chaque critère et sous-critère annoncé au RC.",
                )
    if ev.attribution is not None:
        for lot, ids in ev.attribution.titulaires.items():
            if lot not in lots:
                raise ctx.fail(("attribution", "titulaires", lot), f"lot {lot} inconnu.")
            for oid in ids:
                if oid not in seen_ids:
                    raise ctx.fail(("attribution", "titulaires", lot), f"offre « {oid} » inconnue.")


def read_evaluation(
    dossier: str | Path, evaluation_file: str = EVALUATION_FILE
) -> tuple[Tender, Evaluation, str]:
    """Read tender.yaml and evaluation/evaluation.yaml of a dossier on disk.

    Returns ``(tender, evaluation, display path of the evaluation file)``.

    Raises:
        InputError: missing or invalid files (see :func:`parse_evaluation`).
    """
    root = Path(dossier)
    tpath = root / "tender.yaml"
    epath = root / evaluation_file
    if not tpath.is_file():
        raise InputError(
            "tender.yaml introuvable : ce n'est pas un dossier de consultation.", str(root)
        )
    if not epath.is_file():
        raise InputError(
            "fichier d'évaluation absent : créez evaluation/evaluation.yaml ; « cahier evaluate "
            f"{root} --modele » l'écrit pour vous, commenté, à partir des critères et "
            "pondérations de tender.yaml (il reste à saisir les évaluateurs, les offres, leurs "
            "prix en € HT et leurs notes motivées).",
            str(epath),
        )
    inside = root.resolve()
    for path in (tpath, epath):
        if not path.resolve().is_relative_to(inside):
            raise InputError(
                "chemin hors du dossier : ce lien symbolique pointe en dehors du dossier de la "
                "consultation (il n'est pas lu) ; copiez le fichier dans le dossier au lieu de "
                "le lier.",
                str(path),
            )
    tender = validate_yaml(Tender, tpath.read_bytes(), str(tpath))
    return tender, parse_evaluation(epath.read_bytes(), str(epath), tender), str(epath)


# --------------------------------------------------------------------------- template


def _q(text: str) -> str:
    """A YAML scalar for any text (a JSON string is valid YAML)."""
    import json

    return json.dumps(text, ensure_ascii=False)


def evaluation_template(tender: Tender, today: dt.date | None = None) -> str:
    """A commented ``evaluation/evaluation.yaml`` for ``tender``, to fill in (French).

    The criteria, their RC numbers and weights come from tender.yaml (so they pass the
    R2152-7 check as they are); the formula of a price/cost criterion defaults to
    ``pmin_sur_p`` (to align with the RC). Evaluators, offers and notes are left as
    « À COMPLÉTER », which :func:`parse_evaluation` refuses with the line until replaced.
    Comments explain every key, the formulas and the rules checked, so that the file is
    self-explanatory without the project documentation.
    """
    import textwrap

    today = today or dt.date.today()
    crit = criteria_index(tender)
    todo = PLACEHOLDER
    lines = [
        f"# Analyse des offres — {textwrap.shorten(tender.objet, 90, placeholder=' …')}",
        f"# Dossier {tender.id} ; modèle écrit par « cahier evaluate --modele » le "
        f"{today:%d/%m/%Y} à partir de tender.yaml.",
        f"# Remplacez chaque « {todo} », puis lancez « cahier evaluate DOSSIER » (classement,",
        "# sensibilité aux critères environnementaux et sociaux, alertes), et « cahier archive ».",
        "# Montants en € HT, écrits comme des nombres : 262000.50 (point décimal, sans espace ni",
        "# symbole € ; « 262 000,50 € » est refusé). Pondérations en % de la note sur 100.",
        f"tender: {_q(tender.id)}  # identifiant de tender.yaml (contrôlé)",
        f"dateAnalyse: {today.isoformat()}  # date de l'analyse, AAAA-MM-JJ",
        "# Membres de la commission d'analyse ; « evaluateur » d'une note doit en faire partie.",
        "evaluateurs:",
        f"  - nom: {todo}  # prénom et nom",
        "    email: null  # facultatif",
        "    qualite: null  # facultatif : fonction (acheteur, référent environnement…)",
        "# Échelle des notes des critères qualitatifs (par défaut pour tous) ; points du critère",
        "# = poids × (note − min) / (max − min). Un critère peut avoir sa propre « echelle ».",
        "echelle:",
        "  min: 0",
        "  max: 4",
        "  ancres:",
        "    0: absence de réponse",
        "    1: réponse insuffisante",
        "    2: réponse partielle",
        "    3: réponse satisfaisante",
        "    4: réponse très satisfaisante",
        "# Méthode de notation de chaque critère du RC, par numéro (ordre des critères de",
        "# tender.yaml ; « 2.1 » = 1er sous-critère du critère 2). Les pondérations sont celles",
        "# annoncées au RC et ne peuvent pas changer (CCP art. R2152-7 et R2152-11). Un critère",
        "# à sous-critères est noté par ses sous-critères (ses points en sont la somme).",
        "# Prix ou coût : la formule annoncée au RC, avec P le prix de l'offre, Pmin et Pmax le",
        "# plus bas et le plus haut des offres non écartées du lot :",
        "#   pmin_sur_p     poids × Pmin / P",
        "#   ecart_relatif  poids × max(0, 1 − (P − Pmin) / Pmin)",
        "#   min_max        poids × (Pmax − P) / (Pmax − Pmin)",
        "criteres:",
    ]
    if not crit:
        lines.append(f"  # tender.yaml ne déclare aucun critère : recopiez ceux du RC. « {todo} »")
        lines.append(f'  "1": {{poids: {todo}}}')
    for code, c in crit.items():
        if not c.feuille:
            lines.append(
                f"  # {code}. {c.nom} ({fmt.percent(c.poids)}) : noté par ses sous-critères ci-dessous"
            )
            continue
        extra = ", formule: pmin_sur_p" if c.type in PRICE_TYPES else ""
        note = "  # formule du RC" if extra else ""
        if c.type == CritereType.cout:
            note = "  # coût du cycle de vie : coutGlobal de chaque offre (R2152-9)"
        lines.append(f'  "{code}": {{nom: {_q(c.nom)}, poids: {c.poids:g}{extra}}}{note}')
    lines += [
        '# Critères départageant les ex aequo, dans l\'ordre prévu au RC (ex. ["3"] si le RC',
        "# classe premier le mieux noté sur le critère 3) ; vide : une égalité est signalée,",
        "# jamais tranchée en silence.",
        "departage: []",
        "# Offre anormalement basse : alerte (jamais un rejet) si le prix est sous seuilMoyenne %",
        "# de la moyenne des autres offres du lot, ou si la moins chère est à plus de ecartSecond %",
        "# sous la deuxième ; demandez des justifications écrites (CCP L2152-5, R2152-3).",
        "offresAnormalementBasses: {seuilMoyenne: 70, ecartSecond: 20}",
        "# Une entrée par offre reçue (une variante est une entrée de plus, variante: true).",
        "#   id : repère court (A, B…) ; siret : 14 chiffres (clé de contrôle vérifiée) ;",
        "#   prix : montant total en € HT, ou lignes du BPU/DQE :",
        "#     lignes: [{designation: …, quantite: 600, prixUnitaire: 310}]",
        "#   notes : une par critère qualitatif, note sur l'échelle et justification écrite",
        "#     (au moins 10 caractères ; elle sert à informer les candidats évincés,",
        "#     CCP art. R2181-1 et R2181-2) ; evaluateur : facultatif, un nom d'evaluateurs ;",
        "#   ecartee: « motif » pour une offre irrégulière, inacceptable ou anormalement basse",
        "#     rejetée après examen des justifications (elle n'est alors ni notée ni classée).",
        "offres:",
        "  - id: A",
        f"    soumissionnaire: {todo}  # raison sociale",
        f'    siret: {todo}  # 14 chiffres, entre guillemets : "44812345600015"',
    ]
    if tender.lots:
        lots = ", ".join(str(lot.numero) for lot in tender.lots)
        lines.append(f"    lot: {tender.lots[0].numero}  # lots de tender.yaml : {lots}")
    lines.append(f"    prix: {todo}  # € HT")
    if any(c.feuille and c.type == CritereType.cout for c in crit.values()):
        lines.append(f"    coutGlobal: {todo}  # coût du cycle de vie, € HT")
    qualitative = [(code, c) for code, c in crit.items() if c.feuille and c.type not in PRICE_TYPES]
    if qualitative:
        lines.append("    notes:")
        for code, c in qualitative:
            lines.append(f"      # {code} {c.nom} ({fmt.percent(c.poids)})")
            lines.append(f'      "{code}": {{note: {todo}, justification: {todo}}}')
    lines += [
        "# Données d'attribution pour les données essentielles (DECP, cahier decp) : à",
        "# décommenter et compléter après le choix du titulaire.",
        "# attribution:",
        "#   dateNotification: 2026-12-18",
        "#   datePublicationDonnees: 2027-01-06",
        "#   formePrix: Unitaire  # Unitaire, Forfaitaire ou Mixte",
        "#   typesPrix: [Définitif révisable]",
        "#   modalitesExecution: [Bons de commande]  # Tranches, Marchés subséquents, Sans objet",
        '#   lieuExecution: {code: "33", typeCode: Code département}',
        "#   attributionAvance: false",
        "#   typeGroupementOperateurs: Pas de groupement  # ou Conjoint, Solidaire",
        "#   sousTraitanceDeclaree: false",
        "#   marcheInnovant: false",
        "#   titulaires: {1: [A]}  # par lot, repères des offres retenues (défaut : le lauréat)",
    ]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- scoring


def _price_points(formula: str, weight: float, p: float, pmin: float, pmax: float) -> float:
    if formula == "pmin_sur_p":
        return weight * pmin / p
    if formula == "ecart_relatif":
        return weight * max(0.0, 1 - (p - pmin) / pmin)
    if pmax == pmin:
        return weight
    return weight * (pmax - p) / (pmax - pmin)


def _rank(
    rows: list[OffreResult], total: dict[str, float], keys: list[dict[str, float]]
) -> tuple[dict[str, int], list[list[str]]]:
    """Competition ranking (1, 1, 3) on rounded totals then tie-break keys."""

    def sort_key(r: OffreResult) -> tuple[float, ...]:
        return (-round(total[r.id], 2), *(-round(k.get(r.id, 0.0), 2) for k in keys))

    ordered = sorted(rows, key=lambda r: (sort_key(r), r.id))
    ranks: dict[str, int] = {}
    ties: list[list[str]] = []
    prev: tuple[float, ...] | None = None
    group: list[str] = []
    for pos, r in enumerate(ordered, 1):
        k = sort_key(r)
        if k == prev:
            ranks[r.id] = ranks[group[0]]
            group.append(r.id)
        else:
            if len(group) > 1:
                ties.append(group)
            group = [r.id]
            ranks[r.id] = pos
        prev = k
    if len(group) > 1:
        ties.append(group)
    return ranks, ties


def evaluate(ev: Evaluation, tender: Tender) -> EvaluationResult:
    """Score, rank and analyse every lot. ``ev`` must come from :func:`parse_evaluation`.

    Returns:
        The result: per lot, the offers in ranking order with their points per leaf
        criterion and per top-level criterion (out of 100 in all), rank, the winner (None
        when a tie remains), the ranking without the environmental and social criteria
        (remaining weights renormalised to 100) and the smallest transfer of weight
        between two top-level criteria that would let another offer tie the winner.
    """
    crit = criteria_index(tender)
    leaves = [c for c in crit.values() if c.feuille]
    tops = [c for c in crit.values() if c.parent is None]
    lot_obj = {lot.numero: lot.objet for lot in tender.lots}
    lots = sorted({o.lot or 1 for o in ev.offres} | set(lot_obj))
    alerts: list[Alerte] = []
    results: list[LotResult] = []
    for lot in lots:
        offers = [o for o in ev.offres if (o.lot or 1) == lot]
        kept = [o for o in offers if o.ecartee is None]
        rows: list[OffreResult] = []
        for o in offers:
            rows.append(
                OffreResult(
                    id=o.id,
                    soumissionnaire=o.soumissionnaire,
                    siret=o.siret,
                    lot=lot,
                    variante=o.variante,
                    prix=o.montant,
                    ecartee=o.ecartee,
                )
            )
        by_id = {r.id: r for r in rows}
        if kept:
            _score(ev, kept, leaves, crit, by_id)
            alerts.extend(_abnormally_low(ev, kept, lot, by_id))
        kept_rows = [by_id[o.id] for o in kept]
        totals = {r.id: r.total or 0.0 for r in kept_rows}
        keys = [
            {r.id: r.pointsCriteres.get(c, r.points.get(c, 0.0)) for r in kept_rows}
            for c in ev.departage
        ]
        ranks, ties = _rank(kept_rows, totals, keys)
        for r in kept_rows:
            r.rang = ranks[r.id]
        winners = [r.id for r in kept_rows if r.rang == 1]
        laureat = winners[0] if len(winners) == 1 else None
        for group in ties:
            alerts.append(
                Alerte(
                    regle="ex-aequo",
                    lot=lot,
                    message=(
                        f"Lot {lot} : offres {', '.join(group)} ex aequo après application des "
                        "règles de départage annoncées"
                        + (f" (critères {', '.join(ev.departage)})" if ev.departage else "")
                        + " : appliquez la règle prévue au RC (à défaut, tirage au sort consigné "
                        "au rapport d'analyse)."
                    ),
                )
            )
        # sensitivity 1: without environmental and social criteria
        resp = [c for c in leaves if c.responsable]
        w_resp = sum(c.poids for c in resp)
        w_rest = sum(c.poids for c in leaves) - w_resp
        laureat_sans = None
        if resp and w_rest > 0 and kept_rows:
            sans = {
                r.id: sum(v for k, v in r.points.items() if not crit[k].responsable) * 100 / w_rest
                for r in kept_rows
            }
            keys2 = [
                {
                    r.id: sum(v for k, v in r.points.items() if k == c or k.startswith(c + "."))
                    for r in kept_rows
                }
                for c in ev.departage
                if not crit[c].responsable
            ]
            ranks2, _ = _rank(kept_rows, sans, keys2)
            for r in kept_rows:
                r.totalSansResponsables = round(sans[r.id], 2)
                r.rangSansResponsables = ranks2[r.id]
            firsts = [r.id for r in kept_rows if r.rangSansResponsables == 1]
            laureat_sans = firsts[0] if len(firsts) == 1 else None
        # sensitivity 2: smallest weight transfer between two top-level criteria
        shifts = _weight_shifts(kept_rows, tops, laureat, crit) if laureat else []
        ordered = sorted(rows, key=lambda r: (r.rang is None, r.rang or 0, -(r.total or 0), r.id))
        results.append(
            LotResult(
                lot=lot,
                objet=lot_obj.get(lot, tender.objet),
                offresRecues=len(offers),
                offres=ordered,
                laureat=laureat,
                exAequo=ties,
                poidsResponsables=round(w_resp, 6),
                laureatSansResponsables=laureat_sans,
                criteresResponsablesDecisifs=bool(
                    resp and laureat and laureat_sans and laureat_sans != laureat
                ),
                plusPetitChangement=shifts[0] if shifts else None,
                changements=shifts,
            )
        )
    return EvaluationResult(
        tender=tender.id,
        dateAnalyse=ev.dateAnalyse,
        criteres=list(crit.values()),
        departage=ev.departage,
        lots=results,
        alertes=alerts,
    )


def _score(
    ev: Evaluation,
    kept: list[Offre],
    leaves: list[CriterionInfo],
    crit: dict[str, CriterionInfo],
    by_id: dict[str, OffreResult],
) -> None:
    for c in leaves:
        m = ev.criteres[c.code]
        if c.type in PRICE_TYPES:
            values = {
                o.id: (o.coutGlobal if c.type == CritereType.cout else o.montant) for o in kept
            }
            pmin, pmax = min(values.values()), max(values.values())
            for o in kept:
                by_id[o.id].points[c.code] = _price_points(
                    m.formule or "pmin_sur_p", c.poids, values[o.id], pmin, pmax
                )
        else:
            scale = m.echelle or ev.echelle
            for o in kept:
                n = o.notes[c.code].note
                by_id[o.id].points[c.code] = c.poids * (n - scale.min) / (scale.max - scale.min)
    for o in kept:
        r = by_id[o.id]
        r.points = {k: round(v, 4) for k, v in r.points.items()}
        for code, info in crit.items():
            if info.parent is None:
                r.pointsCriteres[code] = round(
                    sum(v for k, v in r.points.items() if k == code or k.startswith(code + ".")), 4
                )
        r.total = round(sum(r.points.values()), 4)


def _abnormally_low(
    ev: Evaluation, kept: list[Offre], lot: int, by_id: dict[str, OffreResult]
) -> list[Alerte]:
    """CCP L2152-5/L2152-6/R2152-3: flag prices far below the others (thresholds in docstring)."""
    if len(kept) < 2:
        return []
    s = ev.offresAnormalementBasses
    basis = [
        LegalReference(ref=f"Code de la commande publique, art. {a}", url=CCP)
        for a in ("L2152-5", "L2152-6", "R2152-3", "R2152-4")
    ]
    prices = sorted(o.montant for o in kept)
    out: list[Alerte] = []
    for o in kept:
        p = o.montant
        others = [x.montant for x in kept if x is not o]
        mean = sum(others) / len(others)
        reasons = []
        if p < mean * s.seuilMoyenne / 100:
            reasons.append(
                f"{fmt.percent(p / mean * 100, 0)} de la moyenne des autres offres ({_fmt_eur(mean)}), "
                f"sous le seuil de {fmt.percent(s.seuilMoyenne)}"
            )
        if p == prices[0] and len(prices) > 1 and p < prices[1] * (1 - s.ecartSecond / 100):
            reasons.append(
                f"{fmt.percent((1 - p / prices[1]) * 100, 0)} sous la deuxième offre la moins chère "
                f"({_fmt_eur(prices[1])}), au-delà de {fmt.percent(s.ecartSecond)}"
            )
        if reasons:
            by_id[o.id].anormalementBasse = True
            out.append(
                Alerte(
                    regle="offre-anormalement-basse",
                    lot=lot,
                    offre=o.id,
                    message=(
                        f"Lot {lot}, offre « {o.id} » ({o.soumissionnaire}) : {_fmt_eur(p)}, soit "
                        + " et ".join(reasons)
                        + ". Offre susceptible d'être anormalement basse : demandez par écrit au "
                        "soumissionnaire des précisions et justifications sur son prix (CCP art. "
                        "L2152-6 et R2152-3). Elle ne peut être rejetée qu'après examen de ces "
                        "justifications (art. R2152-4) : ce signalement n'est pas un rejet."
                    ),
                    legal_basis=basis,
                )
            )
    return out


def _weight_shifts(
    rows: list[OffreResult],
    tops: list[CriterionInfo],
    winner: str,
    crit: dict[str, CriterionInfo],
) -> list[WeightShift]:
    """For each pair of top-level criteria (a → b), the smallest transfer of weight
    (in points of %) from a to b that lets some other offer tie the winner.

    Sub-criteria keep their share of their parent; price points are linear in the
    weight, so each offer's total is linear in the transfer δ:
    ``T(δ) = T − δ·S_a + δ·S_b`` with ``S_x`` the offer's points on x divided by x's weight.
    """
    w = next(r for r in rows if r.id == winner)
    out: list[WeightShift] = []
    for a in tops:
        if a.poids <= 0:
            continue
        for b in tops:
            if b.code == a.code:
                continue
            best: tuple[float, str] | None = None
            for c in rows:
                if c.id == winner or c.total is None:
                    continue
                d0 = (w.total or 0) - c.total

                def s(r: OffreResult, x: CriterionInfo) -> float:
                    return r.pointsCriteres.get(x.code, 0.0) / x.poids if x.poids else 0.0

                k = (s(c, b) - s(w, b)) - (s(c, a) - s(w, a))
                if k <= 1e-12:
                    continue
                delta = d0 / k
                if delta <= a.poids + 1e-9 and (best is None or delta < best[0]):
                    best = (delta, c.id)
            if best is not None:
                delta, cid = best
                out.append(
                    WeightShift(
                        de=a.code,
                        vers=b.code,
                        points=round(delta, 2),
                        offre=cid,
                        message=(
                            f"Transférer {_fmt(delta)} point(s) de pondération de « {a.nom} » "
                            f"({fmt.percent(a.poids)} → {_fmt(a.poids - delta)} %) vers « {b.nom} » "
                            f"({fmt.percent(b.poids)} → {_fmt(b.poids + delta)} %) met l'offre « {cid} » à "
                            f"égalité avec l'offre « {winner} » ; au-delà, elle la dépasse."
                        ),
                    )
                )
    out.sort(key=lambda x: (x.points, x.de, x.vers))
    return out


# --------------------------------------------------------------------------- exports


CSV_SEPARATOR = ";"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    """A text cell Excel will not run as a formula (OWASP « CSV injection »): ``'`` prefix."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(result: EvaluationResult, *, bom: bool = True) -> str:
    """One row per offer: lot, rank, bidder, SIRET, price (€ HT), points per criterion.

    For Excel in a French locale: ``;`` separator, decimal comma (``74,56``), no thousands
    separator, header row, and (``bom``) a leading U+FEFF so that the text written in
    UTF-8 is UTF-8 with BOM (``utf-8-sig``), which Excel needs to read accents. Criteria
    columns are named « <code> <nom> (<poids> %) ». Text cells starting with ``=``,
    ``+``, ``-`` or ``@`` get a leading ``'`` (never run as a formula). The JSON export
    (``EvaluationResult.model_dump_json``) stays canonical, with decimal points.
    """
    buf = io.StringIO()
    leaves = [c for c in result.criteres if c.feuille]
    writer = csv.writer(buf, delimiter=CSV_SEPARATOR, lineterminator="\r\n")
    writer.writerow(
        [
            "lot",
            "rang",
            "offre",
            "soumissionnaire",
            "siret",
            "variante",
            "prix_eur_ht",
            *[_cell(f"{c.code} {c.nom} ({_fmt_g(c.poids)} %)") for c in leaves],
            "total",
            "anormalement_basse",
            "rang_sans_criteres_responsables",
            "ecartee",
        ]
    )
    for lot in result.lots:
        for r in lot.offres:
            writer.writerow(
                [
                    lot.lot,
                    r.rang if r.rang is not None else "",
                    _cell(r.id),
                    _cell(r.soumissionnaire),
                    r.siret,
                    "oui" if r.variante else "non",
                    _fmt(r.prix),
                    *[_fmt(r.points[c.code]) if c.code in r.points else "" for c in leaves],
                    _fmt(r.total) if r.total is not None else "",
                    "oui" if r.anormalementBasse else "non",
                    r.rangSansResponsables if r.rangSansResponsables is not None else "",
                    _cell(r.ecartee or ""),
                ]
            )
    return ("\ufeff" if bom else "") + buf.getvalue()


def _fmt_g(x: float) -> str:
    return f"{x:g}".replace(".", ",")
