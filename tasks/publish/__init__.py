"""Assembly of the DCE: sandboxed rendering, document passes, Pandoc/Typst conversions, manifest.

Public API: the names below, imported lazily from their module (importing the
package costs nothing until a name is used). Everything else in the package is
internal."""

from __future__ import annotations

from tasks import lazy_exports

_EXPORTS: dict[str, str] = {
    "AssemblyRefused": "assemble",
    "AssemblyResult": "assemble",
    "Document": "assemble",
    "FORMATS": "assemble",
    "assemble": "assemble",
    "bidder_guide": "assemble",
    "check_output_dir": "assemble",
    "convert": "assemble",
    "copy_sources": "assemble",
    "finalize": "assemble",
    "french_typography": "assemble",
    "audit_outputs": "validators",
    "load_look": "look",
    "math_alt": "mathalt",
    "resolve_look": "look",
    "make_context": "assemble",
    "prepare": "assemble",
    "render_piece": "assemble",
    "render_pieces": "assemble",
    "source_date_epoch": "assemble",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
