"""Referent reviews: plan, records committed in Git, status, four-eyes rule, gate.

Public API: the names below, imported lazily from their module (importing the
package costs nothing until a name is used). Everything else in the package is
internal."""

from __future__ import annotations

import importlib
from typing import Any

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

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
