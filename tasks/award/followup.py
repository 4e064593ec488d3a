"""Execution follow-up: what the winner committed to, and what the contract delivered.

After the award, :func:`build_plan` turns the execution clauses of the dossier (the
parameter values written in the CCAP/CCTP: insertion hours per 100 000 € HT, share of
refurbished devices, report periodicity…) and the winner's figured commitments
(``engagements`` of its offer in ``evaluation/evaluation.yaml``) into a follow-up plan,
``suivi/plan.yaml``: one commitment per indicator with its target, its due dates (from
the notification date and the clause's periodicity) and the clause's penalty. The
vocabulary — which clause yields which indicator, how it is measured, when it falls
due — is data: ``clause_library/followup.yaml``.

Execution reports, ``suivi/rapports/*.yaml`` or ``*.csv`` (:class:`ExecutionReport`),
committed by the titulaire or the buyer, are checked against the plan by
:func:`check_followup`: a shortfall (``suivi-ecart``), a late report
(``suivi-rapport-en-retard``) or a missing one (``suivi-rapport-manquant``) is a
:class:`~tasks.dossier.model.Finding` citing the clause, its place in the dossier and
its penalty. Bad input — a negative count, hours dated outside the contract, a
certificate for another contract — raises :class:`~tasks.errors.InputError` naming the
file and line (exit code 2); nothing is written.

Amounts are in € HT, shares in %, periods in months, delays in days.

The follow-up is three steps, one module each: the plan (:mod:`.followup_plan`), the
reports (:mod:`.followup_reports`) and the check (:mod:`.followup_check`); this module
is their public API and turns the check's findings into review items.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tasks.dossier.model import Location, Severity

from .followup_check import FollowupResult, Progress, check_followup
from .followup_plan import (
    FOLLOWUP_DIR,
    PLAN_FILE,
    Commitment,
    DueDate,
    FollowupPlan,
    _suivi_files,
    build_plan,
    load_vocabulary,
    plan_yaml,
    read_plan,
    write_plan,
)
from .followup_reports import ExecutionReport, read_reports

__all__ = [
    "FOLLOWUP_DIR",
    "PLAN_FILE",
    "Commitment",
    "DueDate",
    "ExecutionReport",
    "FollowupPlan",
    "FollowupResult",
    "Progress",
    "build_plan",
    "check_followup",
    "iter_followups",
    "load_vocabulary",
    "plan_yaml",
    "read_plan",
    "read_reports",
    "review_items",
    "write_plan",
]


def review_items(dossier, clausier, on: dt.date | None = None) -> list[Any]:
    """Follow-up findings of a dossier as review items for the clause's referent
    (:class:`tasks.review.reviews.ReviewItem`, kind ``suivi-ecart``): a shortfall or a
    missing report is reviewed like a flagged clause — the referent approves the
    penalty or the exonerating cause. Digest: the finding's message (so an approval
    lapses when a new report changes the figures). None when the dossier has no plan."""
    import hashlib

    from tasks.review.reviews import ReviewItem

    root = Path(dossier.root)
    rev = dossier.commit if dossier.rev is not None else None
    files = _suivi_files(root, rev)
    if PLAN_FILE not in files:
        return []
    result = check_followup(root, on, rev)
    items: list[ReviewItem] = []
    seen: dict[str, int] = {}
    for f in result.findings:
        if f.severity != Severity.error or not f.clause:
            continue
        clause = clausier.get(f.clause)
        if clause is None:
            continue
        base = f"{f.clause}@{PLAN_FILE}"
        n = seen.get(base, 0) + 1
        seen[base] = n
        text = f"{f.rule} : {f.message}"
        items.append(
            ReviewItem(
                id=base + (f"#{n}" if n > 1 else ""),
                role=clause.review_role,
                kind="suivi-ecart",
                clause=f.clause,
                title=clause.title,
                clause_version=clause.version,
                clausier_version=clausier.version,
                location=f.location or Location(file=PLAN_FILE),
                digest=hashlib.sha256(text.encode()).hexdigest(),
                text=text,
            )
        )
    return items


def iter_followups(root: str | os.PathLike[str]) -> Iterable[Path]:
    """Dossiers under ``root`` that have a follow-up plan."""
    for plan in sorted(Path(root).glob(f"**/{PLAN_FILE}")):
        yield plan.parent.parent
