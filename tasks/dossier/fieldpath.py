"""Field paths of pydantic errors as the user wrote them in YAML.

Pydantic adds, in an error's ``loc``, a tag for the member of a union that was tried
(a model's class name « LayerSpec », « lax-or-strict[…] », « function-after[…] »): the
user never wrote it. :func:`data_loc` removes those tags, :func:`field_path` gives the
dotted field (« policy.layers.0.path ») every YAML reader names in its messages.
"""

from __future__ import annotations

from typing import Any

__all__ = ["data_loc", "field_path"]

_MODEL_NAMES: set[str] = set()


def _model_names() -> set[str]:
    """Names of every pydantic model class loaded (the tags pydantic puts in an error's
    ``loc`` for a member of a union such as ``Path | LayerSpec``)."""
    from pydantic import BaseModel

    todo = [BaseModel]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            _MODEL_NAMES.add(sub.__name__)
            todo.append(sub)
    return _MODEL_NAMES


def data_loc(loc: Any) -> tuple[Any, ...]:
    """A pydantic error ``loc`` as a path in the user's data: the tags pydantic adds for
    the members of a union (a model's class name, ``lax-or-strict[…]``,
    ``function-after[…]``) are removed; keys, indexes and ``[key]`` are kept."""
    out = []
    names: set[str] | None = None
    for part in tuple(loc or ()):
        if isinstance(part, str) and part != "[key]":
            if "[" in part:
                continue
            if part[:1].isupper() and part.isidentifier():
                names = names if names is not None else _model_names()
                if part in names:
                    continue
        out.append(part)
    return tuple(out)


def field_path(loc: Any) -> str:
    """The dotted field of a pydantic error ``loc`` as the user wrote it (« policy.layers.0.path »),
    without union tags nor ``[key]``; « (racine) » for the whole file."""
    return ".".join(str(p) for p in data_loc(loc) if p != "[key]") or "(racine)"
