"""After the bids: evaluation and ranking, tamper-evident archives, audit, DECP open data, portfolio report.

Public API: the names below, imported lazily from their module (importing the
package costs nothing until a name is used). Everything else in the package is
internal."""

from __future__ import annotations

from tasks import lazy_exports

_EXPORTS: dict[str, str] = {
    "ArchiveInfo": "archive",
    "EVALUATION_FILE": "evaluation",
    "EvaluationResult": "evaluation",
    "Portfolio": "portfolio",
    "SCHEMA_PATH": "decp",
    "build_decp": "decp",
    "build_portfolio": "portfolio",
    "considerations": "decp",
    "consistency_issues": "decp",
    "create_archive": "archive",
    "evaluate": "evaluation",
    "evaluation_template": "evaluation",
    "indicator_rows": "portfolio_page",
    "parse_evaluation": "evaluation",
    "read_evaluation": "evaluation",
    "recover": "archive",
    "schema_errors": "decp",
    "sha256": "archive",
    "siret_ok": "evaluation",
    "tag_name": "archive",
    "timeline": "audit",
    "to_csv": "evaluation",
    "to_html": "portfolio_page",
    "to_json": "decp",
    "verify": "audit",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
