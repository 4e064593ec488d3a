"""The checker and its outputs (text, JSON, SARIF 2.1.0, JUnit) and batch checks.

Public API: the names below (module: names), imported on first use (see
:func:`tasks.lazy_exports`); everything else in the package is internal."""

from __future__ import annotations

from tasks import lazy_exports

_PUBLIC = """
    batch: BatchSummary DossierResult check_all check_one count_dossiers iter_dossiers
    checker: check_dossier is_applicable
    report: findings_table to_json to_junit to_markdown to_sarif to_text
"""

__all__, __getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
