"""Assembly of the DCE: sandboxed rendering, document passes, Pandoc/Typst conversions, manifest.

Public API: the names below (module: names), imported on first use (see
:func:`tasks.lazy_exports`); everything else in the package is internal."""

from __future__ import annotations

from tasks import lazy_exports

_PUBLIC = """
    assemble: AssemblyRefused AssemblyResult Document FORMATS assemble bidder_guide
    assemble: check_output_dir convert copy_sources finalize french_typography make_context
    assemble: prepare render_piece render_pieces source_date_epoch
    look: load_look resolve_look
    mathalt: math_alt
    validators: audit_outputs
"""

__all__, __getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
