"""The work itself: plain, typed functions (no Prefect import).

Each room (sub-package) declares its public API as a table of lines ``module: name
name …`` and exports it lazily through :func:`lazy_exports`: importing a room costs
nothing until a name is used (``cahier check`` imports only what a check needs).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["lazy_exports"]


def _parse_table(package: str, table: str) -> dict[str, str]:
    """``{name: module}`` from ``table``, one ``module: name name …`` line per
    sub-module (blank lines ignored). Raises ``ValueError`` on a line without
    ``:`` or a name listed twice (a programming error, caught by any import)."""
    exports: dict[str, str] = {}
    for line in filter(None, map(str.strip, table.splitlines())):
        module, sep, names = line.partition(":")
        if not sep:
            raise ValueError(f"{package}: export line without 'module:': {line!r}")
        for name in names.split():
            if exports.setdefault(name, module.strip()) != module.strip():
                raise ValueError(f"{package}: {name!r} exported twice")
    return exports


def lazy_exports(
    package: str, table: str
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``(__all__, __getattr__, __dir__)`` for ``package`` whose public names are
    listed in ``table`` (lines ``module: name name …``, module relative to the
    package); a name is imported from its module on first use and then kept in the
    package's namespace (PEP 562). Raises ``ValueError`` on a malformed table."""
    exports = _parse_table(package, table)
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
