"""The buyer's authoring aids: ``cahier import`` (importer) and ``cahier new`` (scaffold).

Public API: the names below, imported lazily from their module (importing the
package costs nothing until a name is used). Everything else in the package is
internal."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "KIND_LABELS": "importer",
    "PURCHASE_TYPES": "scaffold",
    "ScaffoldRequest": "scaffold",
    "import_dce": "importer",
    "parse_montant": "scaffold",
    "render_dossier": "scaffold",
    "scaffold": "scaffold",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
