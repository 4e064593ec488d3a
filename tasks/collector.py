"""Python's cycle collector on the check paths: one policy, measured.

A check allocates hundreds of thousands of small objects (lines, blocks, word keys,
the entries of the process-wide memos of :mod:`tasks.memo`) that reference counting
frees on its own: they form almost no cycles. CPython's cycle collector still walks
them each time its young generation fills (every 700 allocations by default), and its
full collections walk every memo entry again and again.

Both policies do the same two things: what exists when they start (modules, clausier,
compiled patterns, the memos filled so far) is moved out of the collector's sight
(:func:`gc.freeze`, which also keeps the pages shared by forked workers from being
copied), and the young generation holds 50 000 objects instead of 700. The collector
still runs, so memory stays bounded whatever the number of dossiers.

* :func:`quiet` — for the rest of a ``cahier check`` process (the pre-commit hook's
  command). ``bench/first_run.py``: 0.47 → 0.42 s CPU for the example, as fast as with
  the collector off; peak memory unchanged on the 93-page AMF DCE (112 MB).
* :func:`batch` — around :func:`tasks.check.batch.check_all` (``cahier check --all``,
  the batch flows): the previous settings come back when the batch ends.
  ``bench/check_all.py`` (400 dossiers, 2 workers): 138 → 90 ms CPU per dossier, 14 →
  22 dossiers per second, peak memory 304 → 299 MB.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["BATCH_THRESHOLD", "batch", "quiet"]

#: Collector thresholds during a batch (young generation, middle, old), objects.
BATCH_THRESHOLD = (50_000, 20, 100)


def quiet() -> None:
    """For the rest of the process: objects alive now frozen, young generation of
    :data:`BATCH_THRESHOLD`."""
    gc.freeze()
    gc.set_threshold(*BATCH_THRESHOLD)


@contextmanager
def batch() -> Iterator[None]:
    """:func:`quiet` within the block; the thresholds come back and the objects frozen
    are unfrozen on leaving (even on error)."""
    old = gc.get_threshold()
    quiet()
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()
