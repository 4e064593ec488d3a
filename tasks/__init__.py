"""The work itself: plain, typed functions (no Prefect import).

Each room (sub-package) declares its public API as a name → module table and exports
it lazily through :func:`lazy_exports`: importing a room costs nothing until a name is
used (``cahier check`` imports only what a check needs).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: dict[str, str]
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``(__all__, __getattr__, __dir__)`` for ``package`` whose public names are
    ``exports`` (name → sub-module); a name is imported from its module on first use
    and then kept in the package's namespace (PEP 562)."""
    names = sorted(exports)

    def getattr_(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)
        return value

    def dir_() -> list[str]:
        return names

    return names, getattr_, dir_
