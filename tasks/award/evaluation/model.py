"""Models of evaluation.yaml (input) and of the evaluation result (output).

Input: :class:`Evaluation` and its parts, validated field by field (amounts in € HT,
weights in % of the total score, SIRET with its check key). Output:
:class:`EvaluationResult` (per lot: offers with points, rank, sensitivity) and
:data:`METHOD_VERSION`. Cross-field rules against tender.yaml are in ``rules``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_serializer,
    model_validator,
)

from tasks import fmt
from tasks.dossier.model import MAX_AMOUNT, CritereType, LegalReference, Number, siret_ok

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
    """« 86,25 » (Babel fr_FR, two decimals, no thousands separator: also CSV cells)."""
    return fmt.number(x, 2, grouping=False)


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

    @model_validator(mode="after")
    def _anchors_on_the_scale(self) -> Echelle:
        """An anchor names a note of the scale: « 9: excellent » on a 0–4 scale is a
        typing error the notes would never meet."""
        outside = sorted(k for k in self.ancres if not self.min <= k <= self.max)
        if outside:
            raise ValueError(
                f"ancre {fmt.number(outside[0])} hors de l'échelle "
                f"{fmt.number(self.min)}–{fmt.number(self.max)} : une ancre décrit une note "
                "de l'échelle"
            )
        return self


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
    quantite: Number = Field(gt=0, le=MAX_AMOUNT)
    prixUnitaire: Number = Field(gt=0, le=MAX_AMOUNT, description="€ HT")

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
    prix: Number | None = Field(
        default=None, gt=0, le=MAX_AMOUNT, description="montant total € HT (DQE)"
    )
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


class MethodesLot(_Model):
    """The scoring methods of a lot judged on its own criteria (``lots[].criteres`` of
    tender.yaml): criteria by the lot's RC numbers and its tie-break criteria."""

    criteres: dict[str, MethodeCritere] = Field(min_length=1)
    departage: list[str] = Field(
        default_factory=list, description="critères du lot départageant les ex aequo"
    )


class Evaluation(_Model):
    """evaluation.yaml: the analysis of the offers of one tender.

    ``criteres`` and ``departage`` apply to the lots judged on the consultation's
    criteria; ``lots`` gives, for each lot that has its own criteria in tender.yaml, its
    methods (:class:`MethodesLot`).
    """

    tender: str = Field(description="identifiant du dossier (id de tender.yaml)")
    dateAnalyse: dt.date
    evaluateurs: list[Evaluateur] = Field(min_length=1)
    echelle: Echelle = Field(default_factory=Echelle, description="échelle par défaut")
    criteres: dict[str, MethodeCritere] = Field(default_factory=dict)
    departage: list[str] = Field(
        default_factory=list, description="critères départageant les ex aequo, dans l'ordre"
    )
    lots: dict[int, MethodesLot] = Field(
        default_factory=dict, description="méthodes des lots qui ont leurs propres critères"
    )
    offresAnormalementBasses: SeuilsOffreAnormalementBasse = Field(
        default_factory=SeuilsOffreAnormalementBasse
    )
    offres: list[Offre] = Field(min_length=1)
    attribution: Attribution | None = None

    def methods_of(self, lot: int) -> tuple[dict[str, MethodeCritere], list[str]]:
        """The methods and tie-break criteria of ``lot``: its own, else the consultation's."""
        own = self.lots.get(lot)
        return (own.criteres, own.departage) if own else (self.criteres, self.departage)


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
    criteres: list[CriterionInfo] = Field(
        default_factory=list,
        description="critères propres du lot (vide : ceux de la consultation s'appliquent)",
    )

    def why_no_winner(self) -> str:
        """Why the lot has no winner, in French: every offer eliminated (or none
        received: an unsuccessful procedure), else a tie the RC's rule did not break."""
        if all(o.ecartee for o in self.offres):
            return (
                "aucune offre reçue"
                if not self.offres
                else "toutes les offres ont été écartées : procédure infructueuse"
            )
        return "offres ex aequo non départagées"

    @model_serializer(mode="wrap")
    def _without_empty_criteria(self, handler: Any) -> Any:
        """A lot judged on the consultation's criteria is written as before (no
        ``criteres`` key): evaluation.json of such a dossier is unchanged."""
        out = handler(self)
        if isinstance(out, dict) and not self.criteres:
            out.pop("criteres", None)
        return out


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

    def criteria_of(self, lot: LotResult) -> list[CriterionInfo]:
        """The criteria ``lot`` was judged on: its own, else the consultation's."""
        return lot.criteres or self.criteres
