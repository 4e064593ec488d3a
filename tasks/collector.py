"""Python's cycle collector on the check paths: one policy, measured.

A check allocates hundreds of thousands of small objects (lines, blocks, word keys,
the entries of the process-wide memos of :mod:`tasks.memo`) that reference counting
frees on its own: they form almost no cycles. CPython's cycle collector still walks
them each time its young generation fills (every 700 allocations by default), and its
full collections walk every memo entry again and again.

* :func:`one_shot` — a process that checks one dossier and exits (``cahier check
  DOSSIER``, the pre-commit hook's command): the collector is switched off.
  ``bench/first_run.py``: 0.47 → 0.42 s CPU for the example; peak memory unchanged on the
  93-page AMF DCE (112 MB with and without the collector).
* :func:`batch` — ``cahier check --all`` and every caller of
  :func:`tasks.check.batch.check_all`: what exists when the batch starts (modules,
  clausier, compiled patterns) is moved out of the collector's sight (:func:`gc.freeze`,
  which also keeps the pages shared by forked workers from being copied), and the young
  generation holds 50 000 objects instead of 700. The collector still runs, so memory
  stays bounded; the previous settings come back when the batch ends.
  ``bench/check_all.py`` (400 dossiers, 2 workers): 138 → 90 ms CPU per dossier, 14 →
  22 dossiers per second, peak memory 304 → 299 MB.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["BATCH_THRESHOLD", "batch", "one_shot"]

#: Collector thresholds during a batch (young generation, middle, old), objects.
BATCH_THRESHOLD = (50_000, 20, 100)


def one_shot() -> None:
    """Switch the cycle collector off for the rest of a short, one-dossier process."""
    gc.disable()


@contextmanager
def batch() -> Iterator[None]:
    """Within the block: objects alive at its start frozen, young generation of
    :data:`BATCH_THRESHOLD`; restored on leaving (even on error)."""
    old = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*BATCH_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()
