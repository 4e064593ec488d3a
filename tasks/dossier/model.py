"""The domain model: tender.yaml, clauses, pieces, findings and check reports.

Field names follow the DECP v2.0.3 schema wherever DECP has the field (``objet``,
``codeCPV``, ``procedure``, ``nature``, ``dureeMois``, ``ccag``, ``montant``,
``acheteur.id``, ``techniques``) so that the DECP export maps them one to one
(source: ``decp_v2.0.3_schema.json``, arrêtés du 22 décembre 2022 modifiés). Amounts are
in € HT, weights in %, durations in months.

The JSON Schema of each model is generated from it (``Tender.model_json_schema()``),
never written by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

__all__ = [
    "MAX_TENDER_ID",
    "TENDER_ID_PATTERN",
    "Acheteur",
    "BuyerType",
    "Category",
    "CheckReport",
    "Clause",
    "ClauseApplies",
    "ClauseDecp",
    "ClauseEvidence",
    "ClauseParameter",
    "Critere",
    "CritereType",
    "EvidenceGroup",
    "FamilyResult",
    "FamilyStatus",
    "Finding",
    "LegalReference",
    "Location",
    "Lot",
    "Number",
    "Person",
    "Role",
    "Severity",
    "Tender",
    "Waiver",
    "check_tender_id",
    "json_text",
    "siret_ok",
]


#: The one number type of every model: prices and amounts (€ HT), weights (%), notes,
#: quantities. NaN and infinities (YAML ``.nan``, ``.inf``) are refused with the French
#: message « un nombre fini est attendu » (validation error ``finite_number``): an
#: infinite price would change the winner and write « Infinity », which is not JSON
#: (RFC 8259 § 6).
def _not_a_boolean(value: Any) -> Any:
    """YAML ``true``/``false`` where a number is expected: pydantic would read 1 or 0 (a
    note « true » made another offer win). Refused, never converted."""
    if isinstance(value, bool):
        raise ValueError(f"un nombre est attendu, pas « {str(value).lower()} »")
    return value


Number = Annotated[float, Field(allow_inf_nan=False), BeforeValidator(_not_a_boolean)]
#: A whole number (months, counts), with the same refusal of booleans.
Whole = Annotated[int, BeforeValidator(_not_a_boolean)]


def json_text(data: Any, *, indent: int | None = 2) -> str:
    """The one JSON writer: ``data`` (plain data or a pydantic model) as UTF-8 text
    ending with a newline, ``allow_nan=False`` (RFC 8259 has no NaN or Infinity).

    Raises:
        ValueError: ``data`` holds NaN or an infinity (a model bypassed :data:`Number`).
    """
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="python")
    try:
        return (
            json.dumps(data, ensure_ascii=False, indent=indent, allow_nan=False, default=str) + "\n"
        )
    except ValueError:
        raise ValueError(
            "nombre infini ou indéfini (NaN) dans les données à écrire en JSON : refusé"
        ) from None


#: Sanity bounds, not law: a value past them is a typing error (a missing decimal
#: comma, a key held down), refused with the field's name before it reaches a document.
MAX_AMOUNT = 10**12  # € HT: a thousand billion euros
MAX_MONTHS = 1200  # a hundred years


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


# --------------------------------------------------------------------------- tender


class BuyerType(StrEnum):
    """Buyer type; drives AGEC art. 58 and REEN art. 15 (State, collectivités, groupements)."""

    etat = "etat"  # services de l'État
    collectivite = "collectivite"  # collectivité territoriale
    groupement = "groupement"  # groupement de collectivités (EPCI, EPT, syndicat…)
    etablissement_public = "etablissement_public"  # établissement public (national ou local)
    hopital = "hopital"
    autre = "autre"
    prive = "prive"  # acheteur privé (entreprise, association) : hors code de la commande publique


class Category(StrEnum):
    """Purchase categories of the clausier (docs/clausier.md, « Familles de clauses ») (HW, SW, SRV, CLD, TEL)."""

    hardware = "hardware"
    software = "software"
    services = "services"
    cloud = "cloud"
    telecom = "telecom"


class CritereType(StrEnum):
    """What an award criterion measures (R2152-7 CCP)."""

    prix = "prix"
    cout = "cout"  # coût global / coût du cycle de vie (R2152-9)
    technique = "technique"
    environnement = "environnement"
    social = "social"
    delai = "delai"
    accessibilite = "accessibilite"  # accessibilité numérique (RGAA), distinct du social
    autre = "autre"


#: Referent roles (who reviews what): accessibilité, environnement, données/DPO, juridique, social.
Role = Literal["environnement", "accessibilite", "donnees", "juridique", "social"]

SIRET_RE = re.compile(r"^[0-9]{14}$")
CPV_RE = re.compile(r"^[0-9]{8}(-[0-9])?$")


def _code(v: Any, pattern: re.Pattern[str], invalid: str) -> str:
    """The code ``v`` (SIRET, CPV…) without its white space, matching ``pattern``.

    Raises:
        ValueError: ``invalid`` with ``{v}`` replaced by the value as written.
    """
    s = re.sub(r"\s", "", str(v))
    if not pattern.match(s):
        raise ValueError(invalid.format(v=v))
    return s


ProcedureDecp = Literal[
    "Procédure adaptée",
    "Appel d'offres ouvert",
    "Appel d'offres restreint",
    "Procédure avec négociation",
    "Marché passé sans publicité ni mise en concurrence préalable",
    "Dialogue compétitif",
]
NatureDecp = Literal["Marché", "Marché de partenariat", "Marché de défense ou de sécurité"]
CcagDecp = Literal[
    "Travaux",
    "Maitrise d'œuvre",
    "Fournitures courantes et services",
    "Marchés industriels",
    "Prestations intellectuelles",
    "Techniques de l'information et de la communication",
    "Pas de CCAG",
]
TechniqueDecp = Literal[
    "Accord-cadre",
    "Concours",
    "Système de qualification",
    "Système d'acquisition dynamique",
    "Catalogue électronique",
    "Enchère électronique",
    "Sans objet",
]


def siret_ok(siret: str) -> bool:
    """Whether a 14-digit SIRET has a valid check key (INSEE: Luhn formula).

    La Poste's establishments (SIREN 356000000) use another rule: the sum of the digits
    is a multiple of 5.
    """
    if not re.fullmatch(r"[0-9]{14}", siret):
        return False
    if siret.startswith("356000000"):
        return sum(int(c) for c in siret) % 5 == 0
    total = 0
    for i, ch in enumerate(reversed(siret)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


class Person(_Model):
    """A person allowed to act for a role (referent) or named in a record."""

    nom: str = Field(min_length=1)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Acheteur(_Model):
    """The buyer (DECP ``acheteur``): SIRET in ``id`` (14 digits, DECP pattern)."""

    id: str = Field(description="SIRET de l'acheteur (14 chiffres)")
    nom: str
    type: BuyerType

    @field_validator("id", mode="before")
    @classmethod
    def _siret(cls, v: Any) -> str:
        s = _code(v, SIRET_RE, "SIRET « {v} » invalide : 14 chiffres attendus")
        if not siret_ok(s):
            raise ValueError(
                f"SIRET « {v} » invalide : la clé de contrôle (formule de Luhn, INSEE) ne "
                "correspond pas ; vérifiez le numéro sur l'annuaire des entreprises"
            )
        return s


class Critere(_Model):
    """An award criterion (RC): name, weight in % of the total, optional sub-criteria.

    Sub-criteria weights are in % of the total too (so they sum to the parent's weight).
    ``poidsEcrit`` and ``unite`` keep the weight as the RC writes it (« 50 », « sur 100
    (dans le critère) »; « 20 points »; « coefficient 3 ») beside the normalised ``poids``
    (R2152-7 CCP: the weighting is published as written).
    """

    nom: str
    poids: Number = Field(ge=0, le=100, description="pondération en % de la note totale")
    type: CritereType = CritereType.autre
    poidsEcrit: str | None = Field(default=None, description="pondération telle qu'écrite")
    unite: str | None = Field(default=None, description="%, sur 100, points, coefficient…")
    sousCriteres: list[Critere] = Field(default=[])


class Lot(_Model):
    """A lot of the consultation; ``montant`` in € HT (estimated maximum).

    ``criteres``: the lot's own award criteria when they differ from the consultation's
    (R2152-7 CCP, per lot); empty means the consultation's ``criteres`` apply.
    """

    numero: int = Field(ge=1)
    objet: str
    montant: Number | None = Field(default=None, ge=0, le=MAX_AMOUNT)
    categories: list[Category] = Field(default=[])
    criteres: list[Critere] = Field(default=[])


class Waiver(_Model):
    """A clause the buyer decided not to include, with its reason (reviewed by the referent)."""

    clause: str
    reason: str = Field(min_length=10, description="motif (justification écrite)")


#: A tender id: letters, digits, dots, dashes and underscores, from a letter or digit —
#: it names the dossier's folder, its tags and its archives.
TENDER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
MAX_TENDER_ID = 100


def check_tender_id(tender_id: str, example: str = "2026-CD33-PC-001") -> None:
    """Refuse an id that tender.yaml would refuse, naming the id typed by the user.

    Raises:
        InputError: not of :data:`TENDER_ID_PATTERN`, or longer than
            :data:`MAX_TENDER_ID` characters (French).
    """
    import re

    from tasks.errors import InputError

    if not re.match(TENDER_ID_PATTERN, tender_id):
        raise InputError(
            f"identifiant de consultation « {tender_id} » invalide : lettres, chiffres, "
            "points, tirets et soulignés seulement, en commençant par une lettre ou un "
            f"chiffre (ex. {example})."
        )
    if len(tender_id) > MAX_TENDER_ID:
        raise InputError(
            f"identifiant de consultation trop long ({len(tender_id)} caractères ; au plus "
            f"{MAX_TENDER_ID}) : il nomme le dossier, ses étiquettes et ses archives."
        )


class Tender(_Model):
    """tender.yaml: one consultation (DCE).

    ``montant`` is the estimated maximum value in € HT over the whole duration
    (R2121-1 CCP), compared with the EU thresholds in force on ``dateLancement``.
    Facts that make clauses applicable: ``donneesPersonnelles`` (the holder processes
    personal data → RGPD art. 28), ``donneesSensibles`` (data of particular sensitivity
    hosted in a commercial cloud → SecNumCloud, circulaire 6404/SG), ``servicesNumeriques`` (web sites, applications,
    intranets or software delivered → RGAA, loi 2005-102 art. 47), ``defense``
    (defence/security contracts are outside L2112-2 and L2152-7 as amended).
    """

    id: str = Field(pattern=TENDER_ID_PATTERN, max_length=MAX_TENDER_ID)
    objet: str = Field(min_length=5)
    codeCPV: str
    procedure: ProcedureDecp
    nature: NatureDecp = "Marché"
    techniques: list[TechniqueDecp] = Field(default=[])
    dureeMois: Whole = Field(ge=1, le=MAX_MONTHS)
    ccag: CcagDecp
    montant: Number = Field(
        gt=0, le=MAX_AMOUNT, allow_inf_nan=False, description="montant estimé maximum, € HT"
    )
    acheteur: Acheteur
    categories: list[Category] = Field(min_length=1)
    dateLancement: dt.date
    dateLimiteOffres: dt.date | None = Field(
        default=None, description="date limite de réception des offres (RC, avis)"
    )
    lots: list[Lot] = Field(default=[])
    criteres: list[Critere] = Field(default=[])
    referents: dict[Role, list[Person]] = Field(default={})
    waivers: list[Waiver] = Field(default=[])
    donneesPersonnelles: bool = False
    donneesSensibles: bool = False
    servicesNumeriques: bool = False
    defense: bool = False
    pieces: dict[str, str] = Field(
        default={},
        description="nature de pièce par nom de fichier quand le nom ne suffit pas "
        "(ex. « Annexe 3.pdf: ccap »)",
    )

    @field_validator("codeCPV", mode="before")
    @classmethod
    def _cpv(cls, v: Any) -> str:
        return _code(
            v, CPV_RE, "code CPV « {v} » invalide : 8 chiffres, éventuellement suivis de -N"
        )

    @model_validator(mode="after")
    def _defense_nature(self) -> Tender:
        if self.nature == "Marché de défense ou de sécurité":
            self.defense = True
        return self


# --------------------------------------------------------------------------- clausier


class LegalReference(_Model):
    """One legal basis: ``ref`` as cited (e.g. « Code de la commande publique, art. L2112-2 »)."""

    ref: str
    url: str | None = None


class ClauseApplies(_Model):
    """When a clause applies. Every condition given must hold (AND); lists are OR.

    ``min_amount``: a number in € HT, or ``"eu_threshold"`` for the EU threshold in
    force at ``dateLancement`` (law.yaml). ``from_date``: a date or ``"climat_gate"``
    (loi Climat et Résilience art. 35 gate, law.yaml). ``requires``: tender facts that
    must be true (``donneesPersonnelles``, ``servicesNumeriques``).
    """

    categories: list[Category] = Field(default=[])
    cpv_prefixes: list[str] = Field(default=[])
    buyer_types: list[BuyerType] = Field(default=[])
    min_amount: Number | Literal["eu_threshold"] | None = None
    from_date: dt.date | Literal["climat_gate"] | None = None
    until_date: dt.date | None = None
    requires: list[Literal["donneesPersonnelles", "donneesSensibles", "servicesNumeriques"]] = (
        Field(default=[])
    )
    exclude_defense: bool = True


class ClauseParameter(_Model):
    """A typed parameter of a clause template, with default and bounds."""

    type: Literal["int", "float", "str", "bool", "date"]
    default: Any = None
    min: Number | None = None
    max: Number | None = None
    unit: str | None = None
    choices: list[Any] | None = None
    description: str


class EvidenceGroup(_Model):
    """Concepts that must all be found around one block (tasks/clausier/recognition.py).

    Each entry of ``all`` is a *concept*: alternative cues separated by ``|``, each cue
    one to three words matched on lemmas (« clause environnementale | condition
    environnementale »), ``mot*`` for a prefix. One concept must be in the anchor
    block; the others in it, in the ``window`` neighbouring blocks of the same section
    (default: ``window`` of clause_library/recognition.yaml) or in its headings.
    """

    all: list[str] = Field(min_length=1)
    window: int | None = Field(default=None, ge=0, le=80)


class ClauseEvidence(_Model):
    """How the checker recognises a hand-written equivalent of a clause.

    ``acts``: what a block must express to count for the family (``criterion``: a
    scored award criterion, R2152-7; ``obligation``: an obligation of the titulaire or
    execution condition, L2112-2; ``specification``: a technical specification,
    L2111-2; ``model_clause``: a model clause of a clause bank). ``pieces``: the pieces
    where the clause is expected (every piece is searched; a hit elsewhere gives an
    info finding « hors pièce attendue »). ``any``: the groups (one match suffices).
    ``negative``: cues that, in the anchor block, make it a mere mention.
    """

    acts: list[Literal["criterion", "obligation", "specification", "model_clause"]] = Field(
        default=[]
    )
    pieces: list[str] = Field(default=[])
    any: list[EvidenceGroup] = Field(default=[])
    negative: list[str] = Field(default=[])
    obligation: bool | None = Field(
        default=None,
        description="Legacy field of the regular-expression evidence (clausier ≤ 2026.11): "
        "read from old revisions by `cahier clauses diff`, ignored by the checker.",
    )


class ClauseDecp(_Model):
    """DECP v2 values this clause contributes when present."""

    considerationsSociales: list[Literal["Clause sociale", "Critère social", "Marché réservé"]] = (
        Field(default=[])
    )
    considerationsEnvironnementales: list[
        Literal["Clause environnementale", "Critère environnemental"]
    ] = Field(default=[])


class Clause(_Model):
    """One clause of the clausier (clause_library/clauses/<ID>.yaml)."""

    id: str = Field(pattern=r"^[A-Z]+(-[A-Z0-9]+)*-[0-9]{2}$")
    version: int = Field(ge=1)
    title: str
    category: Literal["environment", "social", "accessibility", "data", "durability"]
    level: Literal["mandatory", "recommended"]
    legal_basis: list[LegalReference] = Field(min_length=1)
    applies: ClauseApplies = Field(default_factory=ClauseApplies)
    piece: Literal["rc", "ccap", "cctp", "ae", "bpu", "dpgf"]
    review_role: Role
    review_always: bool = Field(
        default=False,
        description="revue par le référent même quand la clause du clausier est inchangée",
    )
    parameters: dict[str, ClauseParameter] = Field(default={})
    text: str
    evidence: ClauseEvidence = Field(default_factory=ClauseEvidence)
    bidder_guidance: str
    decp: ClauseDecp = Field(default_factory=ClauseDecp)
    changelog: list[str] = Field(default=[])


# --------------------------------------------------------------------------- findings


class Severity(StrEnum):
    error = "error"
    warning = "warning"
    info = "info"


class FamilyStatus(StrEnum):
    """Status of a clause family in a dossier (docs/check.md)."""

    present = "present"  # library clause, unchanged
    edited = "edited"  # library clause whose text was changed
    hand_written = "hand-written"  # equivalent found by evidence patterns
    waived = "waived"  # waiver with a reason in tender.yaml
    missing = "missing"
    # not found, but some text could not be read reliably: absence not proven (fail closed)
    unverifiable = "unverifiable"
    not_applicable = "not-applicable"


class Location(_Model):
    """Where a finding points: file as in the dossier, 1-based line (or PDF page)."""

    file: str
    line: int | None = None
    column: int | None = None
    page: int | None = None
    heading: str | None = None

    def label(self) -> str:
        """« ccap.md:12 (Article 5.1) » — page given for PDFs."""
        s = self.file
        if self.line:
            s += f":{self.line}"
        if self.page:
            s += f" (p. {self.page})"
        if self.heading:
            s += f" — {self.heading}"
        return s


class Finding(_Model):
    """One finding of a check."""

    rule: str
    clause: str | None = None
    severity: Severity
    status: FamilyStatus | None = None
    location: Location | None = None
    message: str
    fix: str | None = None
    legal_basis: list[LegalReference] = Field(default=[])


class FamilyResult(_Model):
    """The outcome for one clause family: applicability, status and evidence."""

    clause: str
    title: str
    level: str
    applicable: bool
    status: FamilyStatus
    version: int | None = None
    reason: str | None = Field(default=None, description="pourquoi la clause ne s'applique pas")
    evidence: list[Location] = Field(default=[])


class FindingsOutcome:
    """Counts and exit code of a model with a ``findings: list[Finding]`` field (a check,
    a follow-up); a mixin without fields, so that the model keeps its field order."""

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == Severity.error)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity == Severity.warning)

    @property
    def exit_code(self) -> int:
        """0 when no error-level finding, 1 otherwise (2 is for unusable input)."""
        return 1 if self.errors else 0


class CheckReport(FindingsOutcome, _Model):
    """The result of ``cahier check`` on one dossier at one revision."""

    tender: str
    dossier: str
    rev: str | None = None
    commit: str | None = None
    clausier_version: str
    checked_at_rule_date: dt.date
    families: list[FamilyResult]
    findings: list[Finding]
