"""The buyer's authoring aids: ``cahier import`` (importer) and ``cahier new`` (scaffold).

Public API: the names below (module: names), imported on first use (see
:func:`tasks.lazy_exports`); everything else in the package is internal."""

from __future__ import annotations

from tasks import lazy_exports

_PUBLIC = """
    importer: KIND_LABELS import_dce
    scaffold: PURCHASE_TYPES ScaffoldRequest parse_montant render_dossier scaffold
"""

__all__, __getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
