"""The clause library: loading and validation, law in force, clause rendering, template lint, evidence vocabulary, changelog diff.

Public API: the names below (module: names), imported on first use (see
:func:`tasks.lazy_exports`); everything else in the package is internal."""

from __future__ import annotations

from tasks import lazy_exports

_PUBLIC = """
    diff: diff_clausiers load_folder load_revision load_side to_text
    library: Clausier check_clausier default_library_path load_clausier
    recognition: Hit Recognizer TOC_RE Vocabulary cue_problems
    render: CLAUSE_CALL_RE FENCE_CLOSE_RE FENCE_OPEN_RE clause_block clause_param_errors
    render: fence_attrs match_clause parse_call_args render_clause validate_params
    templates: environment lint_templates scan_tokens syntax_message
"""

__all__, __getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
