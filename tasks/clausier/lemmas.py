"""French lemmas for the recognition engine, cached on disk.

simplemma's French dictionary costs ~0.9 s to decode on every process start, while a
check only asks for the lemmas of a few thousand distinct words, mostly the same from
one run to the next. This module keeps ``word -> (lemma, known)`` as JSON in the
settings' cache folder (:meth:`tasks.config.Settings.effective_cache_dir`), keyed by
the installed simplemma files (path, size, modification time), and loads the
dictionary only for a word the cache does not hold. New answers are written back
atomically at process exit (JSON only: nothing executable; an unreadable or
read-only cache folder just means no cache).
"""

from __future__ import annotations

import atexit
import json
from functools import lru_cache
from pathlib import Path

__all__ = ["lemma_info"]

_ENTRIES: dict[str, list] = {}
_STATE: dict[str, object] = {"loaded": False, "dirty": False, "file": None}
#: Keep the cache bounded (entries), whatever the dossiers read.
_MAX_ENTRIES = 200_000


@lru_cache(maxsize=1)
def _lemmatizer():
    """simplemma's French lemmatiser and dictionary, loaded on first use (~0.9 s)."""
    from simplemma import is_known, lemmatize

    return lemmatize, is_known


def _cache_file() -> Path | None:
    import hashlib
    import importlib.util

    spec = importlib.util.find_spec("simplemma")
    if spec is None or not spec.origin:
        return None
    pkg = Path(spec.origin).parent
    stamp = []
    for f in sorted((pkg / "strategies" / "dictionaries" / "data").glob("fr*")) or [pkg]:
        st = f.stat()
        stamp.append((str(f), st.st_size, st.st_mtime_ns))
    from tasks.config import load_settings

    base = load_settings().effective_cache_dir()
    if str(base).startswith("~"):
        return None
    key = hashlib.sha256(repr(stamp).encode()).hexdigest()[:32]
    return base / f"lemmas-fr-{key}.json"


def _load() -> None:
    _STATE["loaded"] = True
    try:
        cache = _cache_file()
    except OSError:
        cache = None
    _STATE["file"] = cache
    if cache is None:
        return
    try:
        data = json.loads(cache.read_bytes())
    except (OSError, ValueError):
        data = None  # no cache yet or unreadable: rebuilt at exit
    if isinstance(data, dict):
        # entries are checked when asked for (:func:`_valid`): a check asks for a few
        # thousand of the cache's words, and checking them all cost ~4 ms per process
        _ENTRIES.update(data)
    atexit.register(_save)


def _valid(value: object) -> bool:
    """A cache entry of the expected form ``[lemma, known]``."""
    return (
        type(value) is list and len(value) == 2 and type(value[0]) is str and type(value[1]) is bool
    )


def _save() -> None:
    cache = _STATE["file"]
    if not _STATE["dirty"] or not isinstance(cache, Path) or len(_ENTRIES) > _MAX_ENTRIES:
        return
    from tasks.dossier.files import write_atomic

    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(cache, json.dumps(_ENTRIES, ensure_ascii=False, separators=(",", ":")))
    except OSError:
        pass  # read-only home: work without the cache
    else:
        _STATE["dirty"] = False
        for stale in cache.parent.glob("lemmas-fr-*.json"):
            if stale != cache:
                stale.unlink(missing_ok=True)


def lemma_info(word: str) -> tuple[str, bool]:
    """``(lemma, known)`` of a lower-case French word longer than two letters:
    simplemma's lemma (``lang="fr"``) and whether its dictionary knows the word."""
    if not _STATE["loaded"]:
        _load()
    hit = _ENTRIES.get(word)
    if hit is not None and _valid(hit):
        return hit[0], hit[1]
    lemmatize, is_known = _lemmatizer()
    lemma, known = lemmatize(word, lang="fr"), bool(is_known(word, lang="fr"))
    _ENTRIES[word] = [lemma, known]
    _STATE["dirty"] = True
    return lemma, known
