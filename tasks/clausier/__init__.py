"""The clause library: loading and validation, law in force, clause rendering, template lint, evidence vocabulary, changelog diff.

Public API: the names below, imported lazily from their module (importing the
package costs nothing until a name is used). Everything else in the package is
internal."""

from __future__ import annotations

from tasks import lazy_exports

_EXPORTS: dict[str, str] = {
    "CLAUSE_CALL_RE": "render",
    "Clausier": "library",
    "Hit": "recognition",
    "Recognizer": "recognition",
    "Vocabulary": "recognition",
    "FENCE_CLOSE_RE": "render",
    "FENCE_OPEN_RE": "render",
    "TOC_RE": "recognition",
    "check_clausier": "library",
    "clause_block": "render",
    "clause_param_errors": "render",
    "default_library_path": "library",
    "diff_clausiers": "diff",
    "environment": "templates",
    "fence_attrs": "render",
    "cue_problems": "recognition",
    "lint_templates": "templates",
    "load_clausier": "library",
    "load_folder": "diff",
    "load_revision": "diff",
    "load_side": "diff",
    "match_clause": "render",
    "parse_call_args": "render",
    "render_clause": "render",
    "scan_tokens": "templates",
    "syntax_message": "templates",
    "to_text": "diff",
    "validate_params": "render",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
