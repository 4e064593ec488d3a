"""The checker and its outputs (text, JSON, SARIF 2.1.0, JUnit) and batch checks.

Public API: the names below, imported lazily from their module (importing the
package costs nothing until a name is used). Everything else in the package is
internal."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "BatchSummary": "batch",
    "DossierResult": "batch",
    "check_all": "batch",
    "check_dossier": "checker",
    "check_one": "batch",
    "count_dossiers": "batch",
    "findings_table": "report",
    "is_applicable": "checker",
    "iter_dossiers": "batch",
    "to_json": "report",
    "to_junit": "report",
    "to_markdown": "report",
    "to_sarif": "report",
    "to_text": "report",
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
