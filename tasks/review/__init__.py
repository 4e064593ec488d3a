"""Referent reviews: plan, records committed in Git, status, four-eyes rule, gate.

Public API: the names below (module: names), imported on first use (see
:func:`tasks.lazy_exports`); everything else in the package is internal."""

from __future__ import annotations

from tasks import lazy_exports

_PUBLIC = """
    reviews: ROLE_LABELS ReviewItemDigest ReviewRecord StatusEntry check_role committer_identity
    reviews: inspect_records plan_for read_records record_review repair_review_index review_gate
    reviews: review_status
"""

__all__, __getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
