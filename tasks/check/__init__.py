"""The checker and its outputs (text, JSON, SARIF 2.1.0, JUnit) and batch checks.

Public API: the names below, imported lazily from their module (importing the
package costs nothing until a name is used). Everything else in the package is
internal."""

from __future__ import annotations

from tasks import lazy_exports

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

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
