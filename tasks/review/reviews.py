"""Referent reviews: what to review, who may approve, records in Git, validity and gate.

The review **plan** lists, from a :class:`~tasks.dossier.model.CheckReport`, the items a referent
must look at, each for one role (``Clause.review_role``):

* ``clause-modifiee`` — a library clause whose text was edited (fenced div);
* ``clause-redigee-main`` — a hand-written equivalent recognised by evidence patterns;
* ``derogation`` — a clause waived in tender.yaml with a reason; a waived clause that is
  mandatory and applicable goes to the ``juridique`` referent (it is a legal
  obligation), any other waiver to the clause's own referent;
* ``clause-sensible`` — every occurrence of a clause that is reviewed even when unchanged:
  the web accessibility clause (ACC-RGAA-01, loi n° 2005-102 art. 47), the hosting
  clause (HOST-ENV-01) and every clause of category ``data`` (RGPD art. 28,
  sovereignty, reversibility, open licences) — clauses whose ``review_always`` is true in
  the clausier.

Each item has a stable id (``ENV-COND-01@pieces/ccap.md``, ``#2`` for a second
occurrence in the same file) and a **digest**: SHA-256 of the normalised text
(:func:`tasks.dossier.normalize.normalize_text`) of the whole article that holds the item — its
heading, its text and its sub-sections, down to the next heading of the same or a higher
level (:func:`_span`; in Markdown only « # » headings bound it) — so that a
sub-section contradicting the clause lapses its approval; for a ``clause()`` call, the
article plus the rendered clause; for a waiver, the waiver entry (clause id and reason).
Line numbers are not hashed: an edit in another article or piece never changes a
digest; an edit of the item's article always does.

A **review record** (``tenders/<id>/reviews/<timestamp>-<role>.yaml``) holds role,
reviewer, decision, comment, UTC time, the digests of the items reviewed, the clausier
version and the commit reviewed. It is committed with the reviewer as Git author,
through a temporary index: the user's staged and unstaged work is never touched (only
the record's own entry is added to the user's index, so that the next commit does not
delete it), and concurrent reviews are serialised by a compare-and-swap of the branch
(``git update-ref <ref> <new> <old>``), retried on a race.

Identities: the Git author of a review commit is the reviewer, the committer the
person running the code; when they differ the record names ``recorded_by`` (the CLI
refuses it without ``--pour-le-compte-de``).

Only **committed** records count (read from HEAD or the revision asked), and only when
the commit that added the file has the reviewer as author. Four-eyes rule (refused when
recording, not retained by :func:`review_status`): an approval counts only if its
reviewer was a declared referent of the role at the parent of the commit adding the
record, was not declared by a commit of their own (:func:`referent_declaration`), and
did not author the last change of the item (:func:`last_changes`).

Modules (issue 16, one concept each; this module re-exports their public names):
:mod:`~tasks.review.model` (roles, items, plan and record models),
:mod:`~tasks.review.plan` (the plan and digests), :mod:`~tasks.review.referents` (who may
approve, which commit declared them), :mod:`~tasks.review.identity` (committer, same person,
confusable identities, demonstration repository, signature policy),
:mod:`~tasks.review.history` (commits that changed an item),
:mod:`~tasks.review.records` (which committed records count, fail closed),
:mod:`~tasks.review.four_eyes`, :mod:`~tasks.review.write` (recording a decision, repairing
the index) and :mod:`~tasks.review.status` (status and gate).
"""

from __future__ import annotations

from .history import Change, item_changes, last_changes
from .identity import (
    DEMO_LABEL,
    DEMO_MARKER,
    _confusion,
    _mixed_script,
    _refuse_confusable,
    _skeleton,
    check_role,
    committer_identity,
    is_demo_repository,
)
from .model import (
    ROLE_LABELS,
    ROLES,
    Decision,
    ItemStatus,
    ReferentsFile,
    ReviewItem,
    ReviewItemDigest,
    ReviewPlan,
    ReviewRecord,
    Role,
)
from .plan import build_plan, plan_for
from .records import RejectedRecord, StoredRecord, inspect_records, read_records
from .referents import Declaration, load_referents, referent_declaration
from .status import StatusEntry, review_gate, review_status
from .write import RecordResult, record_review, repair_review_index

__all__ = [
    "DEMO_LABEL",
    "DEMO_MARKER",
    "ROLES",
    "ROLE_LABELS",
    "Change",
    "Decision",
    "Declaration",
    "ItemStatus",
    "RecordResult",
    "ReferentsFile",
    "RejectedRecord",
    "ReviewItem",
    "ReviewItemDigest",
    "ReviewPlan",
    "ReviewRecord",
    "Role",
    "StatusEntry",
    "StoredRecord",
    "build_plan",
    "check_role",
    "committer_identity",
    "inspect_records",
    "is_demo_repository",
    "item_changes",
    "last_changes",
    "load_referents",
    "plan_for",
    "read_records",
    "record_review",
    "referent_declaration",
    "repair_review_index",
    "review_gate",
    "review_status",
]


# Internal helpers that tests exercise directly (look-alike identities).
_PRIVATE = (_confusion, _mixed_script, _refuse_confusable, _skeleton)
