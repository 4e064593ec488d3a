"""The buyer's authoring aids: ``cahier import`` (importer) and ``cahier new`` (scaffold).

Public API: the names below, imported lazily from their module (importing the
package costs nothing until a name is used). Everything else in the package is
internal."""

from __future__ import annotations

from tasks import lazy_exports

_EXPORTS: dict[str, str] = {
    "KIND_LABELS": "importer",
    "PURCHASE_TYPES": "scaffold",
    "ScaffoldRequest": "scaffold",
    "import_dce": "importer",
    "parse_montant": "scaffold",
    "render_dossier": "scaffold",
    "scaffold": "scaffold",
}

__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
