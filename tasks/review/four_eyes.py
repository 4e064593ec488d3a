"""The four-eyes rule: a referent approves neither as a self-declared referent nor an
item they changed (author or committer of any commit since its previous approval)."""

from __future__ import annotations

import os

from tasks.dossier.model import Person
from tasks.errors import InputError

from .history import Change, item_changes
from .identity import _same, _who
from .model import ROLE_LABELS, ReviewItem
from .records import StoredRecord, read_records
from .referents import Declaration, referent_declaration


def _four_eyes_refusal(
    role: str,
    reviewer: Person,
    declaration: Declaration | None,
    changes: dict[str, list[Change]],
    labels: dict[str, str],
) -> str | None:
    """French reason why ``reviewer``'s approval breaks the four-eyes rule, or None."""
    if declaration is not None and (
        _same(declaration.author, reviewer)
        or (declaration.committer is not None and _same(declaration.committer, reviewer))
    ):
        return (
            f"{_who(reviewer)} a été déclaré(e) {ROLE_LABELS[role]} par cette même personne "
            f"(commit {declaration.commit[:10]} du {declaration.time:%d/%m/%Y}, "
            f"{declaration.file}) ; une déclaration de référent doit être faite par une autre "
            "personne (l'acheteur ou le service), puis la revue recommencée"
        )
    for iid, lst in changes.items():
        for ch in lst:
            as_committer = ch.committer is not None and _same(ch.committer, reviewer)
            if _same(ch.author, reviewer) or as_committer:
                what = (
                    "committer" if as_committer and not _same(ch.author, reviewer) else "auteur(e)"
                )
                return (
                    f"{_who(reviewer)} est {what} d'une modification de "
                    f"{labels.get(iid, iid)} (commit {ch.commit[:10]} du {ch.time:%d/%m/%Y}"
                    + (f", auteur {_who(ch.author)}" if what == "committer" else "")
                    + (
                        " : le dossier y est illisible, ou le devient juste avant, donc "
                        "l'élément peut y avoir changé sans que cahier puisse le prouver"
                        if ch.unreadable
                        else ""
                    )
                    + ") ; chaque commit qui a modifié l'élément depuis son approbation "
                    "précédente compte, pas seulement le dernier ; l'approbation doit venir "
                    f"d'un(e) autre {ROLE_LABELS[role]} déclaré(e)"
                )
    return None


def _previous_approvals(
    records: list[StoredRecord], role: str, before: StoredRecord | None = None
) -> dict[str, str]:
    """Item id → commit reviewed by the latest approval of the role (older than
    ``before`` when given): the point from which the four-eyes rule looks at changes."""
    out: dict[str, str] = {}
    for stored in records:  # oldest first
        if before is not None and (stored is before or stored.record.time >= before.record.time):
            break
        rec = stored.record
        if rec.role == role and rec.decision == "approve":
            for it in rec.items:
                out[it.id] = rec.commit
    return out


def _check_four_eyes(
    dossier_path, role: str, reviewer: Person, head: str, items: list[ReviewItem], clausier_path
) -> None:
    declaration = referent_declaration(dossier_path, role, reviewer.email, head)
    since = _previous_approvals(read_records(dossier_path, head), role)
    changes = item_changes(
        dossier_path, head, {i.id for i in items}, since=since, clausier_path=clausier_path
    )
    reason = _four_eyes_refusal(
        role, reviewer, declaration, changes, {i.id: i.label() for i in items}
    )
    if reason:
        raise InputError(f"revue refusée : {reason}.", os.fspath(dossier_path))
