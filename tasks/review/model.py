"""Data of reviews: roles, decisions, the items of a plan and the records written in Git.

Shapes only (pydantic models validated at load); where they come from and how they are
checked: :mod:`tasks.review.plan`, :mod:`tasks.review.records` (docs/reviews.md)."""

from __future__ import annotations

import datetime as dt
from typing import Literal, get_args

from pydantic import Field, field_validator, model_validator

from tasks.dossier.model import Location, Person, Role, _Model

ROLES: tuple[str, ...] = get_args(Role)
Decision = Literal["approve", "request-changes"]
ItemStatus = Literal["approved", "lapsed", "pending", "changes-requested"]


ROLE_LABELS = {
    "environnement": "référent environnement",
    "accessibilite": "référent accessibilité",
    "donnees": "référent données (DPO)",
    "juridique": "référent juridique",
    "social": "référent social",
}
DECISION_LABELS = {"approve": "approbation", "request-changes": "demande de modifications"}
REVIEWS_DIR = "reviews"
REFERENTS_FILE = "referents.yaml"
_DIGEST_RE = r"^[0-9a-f]{64}$"


# --------------------------------------------------------------------------- models


class ReviewItem(_Model):
    """One item to review: a flagged clause occurrence or a waiver, for one role."""

    id: str = Field(description="identifiant stable : CLAUSE@fichier[#n]")
    role: Role
    kind: Literal[
        "clause-modifiee", "clause-redigee-main", "derogation", "clause-sensible", "suivi-ecart"
    ]
    clause: str
    title: str
    clause_version: int | None = None
    clausier_version: str
    location: Location
    digest: str = Field(pattern=_DIGEST_RE)
    text: str = Field(description="texte normalisé examiné (ce que couvre l'empreinte)")

    def label(self) -> str:
        """« ENV-COND-01 (clause modifiée) — pieces/ccap.md:12 — Article 9.1… »."""
        kinds = {
            "clause-modifiee": "clause modifiée",
            "clause-redigee-main": "clause rédigée à la main",
            "derogation": "dérogation",
            "clause-sensible": "clause à valider",
            "suivi-ecart": "écart d'exécution",
        }
        return f"{self.clause} ({kinds[self.kind]}) — {self.location.label()}"


class ReviewPlan(_Model):
    """Items to review for one dossier at one revision, and who may review them."""

    tender: str
    dossier: str
    commit: str | None = None
    clausier_version: str
    items: list[ReviewItem]
    referents: dict[Role, list[Person]] = Field(default_factory=dict)

    def roles(self) -> list[str]:
        """Roles having at least one item, in :data:`ROLES` order."""
        present = {i.role for i in self.items}
        return [r for r in ROLES if r in present]

    def for_role(self, role: str) -> list[ReviewItem]:
        return [i for i in self.items if i.role == role]


class ReferentsFile(_Model):
    """``referents.yaml`` at the root of the repository: role → people allowed to approve.

    Example::

        referents:
          accessibilite:
            - {nom: Amélie Rousseau, email: amelie.rousseau@example.fr}
    """

    referents: dict[Role, list[Person]]


class ReviewItemDigest(_Model):
    """An item as recorded in a review: id, clause and digest of its text."""

    id: str
    clause: str
    digest: str = Field(pattern=_DIGEST_RE)


class ReviewRecord(_Model):
    """``reviews/<timestamp>-<role>.yaml``: one referent's decision on the items of a role."""

    tender: str
    role: Role
    reviewer: Person
    decision: Decision
    comment: str = ""
    time: dt.datetime = Field(description="horodatage UTC (ISO 8601)")
    items: list[ReviewItemDigest] = Field(min_length=1)
    clausier_version: str
    commit: str = Field(pattern=r"^[0-9a-f]{40}$", description="commit examiné")
    flow_run: str | None = Field(default=None, description="run Prefect qui attendait la revue")
    recorded_by: Person | None = Field(
        default=None,
        description=(
            "personne qui a enregistré la décision pour le compte du référent (committer Git "
            "de la ligne de commande, ou auteur déclaré d'une réponse au formulaire Prefect)"
        ),
    )
    provenance: Literal["demonstration"] | None = Field(
        default=None,
        description=(
            "« demonstration » : décision de « cahier demo », non probante, qui ne compte que "
            "dans le dépôt de démonstration qui l'a produite"
        ),
    )

    @field_validator("time")
    @classmethod
    def _utc(cls, v: dt.datetime) -> dt.datetime:
        if v.tzinfo is None:
            return v.replace(tzinfo=dt.UTC)
        return v.astimezone(dt.UTC)

    @model_validator(mode="after")
    def _comment_for_changes(self) -> ReviewRecord:
        if self.decision == "request-changes" and not self.comment.strip():
            raise ValueError("une demande de modifications doit être motivée (commentaire)")
        return self
