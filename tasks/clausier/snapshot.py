"""On-disk JSON snapshots of validated library files (clausier, rules.yaml).

Composing YAML and validating it costs tens of milliseconds per file set at every
``cahier check``; the validated model, dumped as JSON, is read back by pydantic-core in
a few. A snapshot is keyed by what it was built from — the files' paths, sizes and
modification times, and the source files of the modules that define the model and
the models it holds (a changed schema never reads an old snapshot) — and lives in the settings' cache folder
(:meth:`tasks.config.Settings.effective_cache_dir`), as ``<kind>-<sha256>.json``.

JSON only (nothing executable is ever loaded); an unreadable, stale-format or missing
snapshot is rebuilt; a read-only cache folder means working without it. Only what
validated is written: a file in error raises at every run, as without the cache.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar, get_args

from pydantic import BaseModel

__all__ = ["cached_model", "file_stamp"]

M = TypeVar("M", bound=BaseModel)

#: Snapshots kept per kind (the most recent ones).
KEEP = 16


def file_stamp(files: Iterable[Path]) -> tuple[tuple[str, int, int], ...]:
    """``(path, size, mtime_ns)`` of each existing file, in the order given."""
    out = []
    for f in files:
        try:
            st = f.stat()
        except OSError:
            continue
        out.append((str(f), st.st_size, st.st_mtime_ns))
    return tuple(out)


def _cache_folder() -> Path | None:
    from tasks.config import load_settings

    base = load_settings().effective_cache_dir()
    return None if str(base).startswith("~") else base


def _schema_modules(model: type[BaseModel]) -> set[str]:
    """The modules defining ``model`` and every model its fields hold, at any depth."""
    seen: set[type] = set()
    modules: set[str] = set()
    todo: list[object] = [model]
    while todo:
        tp = todo.pop()
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if tp in seen:
                continue
            seen.add(tp)
            modules.add(tp.__module__)
            todo.extend(f.annotation for f in tp.model_fields.values())
        else:
            todo.extend(get_args(tp))
    return modules


def _snapshot_path(kind: str, model: type[BaseModel], key: tuple) -> Path | None:
    folder = _cache_folder()
    if folder is None:
        return None
    sources = (getattr(sys.modules.get(m), "__file__", None) for m in _schema_modules(model))
    schema = file_stamp(sorted(Path(f) for f in sources if f))
    digest = hashlib.sha256(repr((kind, model.__qualname__, schema, key)).encode()).hexdigest()
    return folder / f"{kind}-{digest[:32]}.json"


def cached_model(model: type[M], kind: str, key: tuple, build: Callable[[], M]) -> M:
    """The model that ``build()`` validates, read from its snapshot when one matches
    ``key`` (typically :func:`file_stamp` of the files ``build`` reads), else built and
    its snapshot written.

    Raises:
        Whatever ``build`` raises (nothing is written then).
    """
    path = _snapshot_path(kind, model, key)
    if path is not None:
        try:
            return model.model_validate_json(path.read_bytes())
        except (OSError, ValueError):
            pass  # no snapshot yet, unreadable or stale format: rebuild it below
    value = build()
    if path is not None:
        _write(path, kind, value.model_dump_json(by_alias=True))
    return value


def _write(path: Path, kind: str, text: str) -> None:
    from tasks.dossier.files import write_atomic

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text)
        old = sorted(path.parent.glob(f"{kind}-*.json"), key=lambda f: f.stat().st_mtime)
        for stale in old[:-KEEP]:
            stale.unlink(missing_ok=True)
    except OSError:
        pass  # read-only cache folder: work without the snapshot
