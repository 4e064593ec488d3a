"""Referent reviews: plan, records committed in Git, status, four-eyes rule, gate.

Public API: the names below, imported lazily from their module (importing the
package costs nothing until a name is used). Everything else in the package is
internal."""

from __future__ import annotations

from tasks import lazy_exports

_EXPORTS: dict[str, str] = {
    "ROLE_LABELS": "reviews",
    "ReviewItemDigest": "reviews",
    "ReviewRecord": "reviews",
    "StatusEntry": "reviews",
    "check_role": "reviews",
    "committer_identity": "reviews",
    "inspect_records": "reviews",
    "repair_review_index": "reviews",
    "plan_for": "reviews",
    "read_records": "reviews",
    "record_review": "reviews",
    "review_gate": "reviews",
    "review_status": "reviews",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
