"""After the bids: evaluation and ranking, tamper-evident archives, audit, DECP open data, portfolio report.

Public API: the names below (module: names), imported on first use (see
:func:`tasks.lazy_exports`); everything else in the package is internal."""

from __future__ import annotations

from tasks import lazy_exports

_PUBLIC = """
    archive: ArchiveInfo create_archive recover sha256 tag_name
    audit: timeline verify
    decp: SCHEMA_PATH build_decp considerations consistency_issues schema_errors to_json
    evaluation: EVALUATION_FILE EvaluationResult evaluate evaluation_template parse_evaluation
    evaluation: read_evaluation siret_ok to_csv
    portfolio: Portfolio build_portfolio
    portfolio_page: indicator_rows to_html
"""

__all__, __getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
