"""A process-wide memo with bounded memory, for what depends on a text alone.

``cahier check --all`` meets the same lines again and again across the dossiers of one
repository; the reading and the recognition remember what they computed from a text
(normalised and folded forms, word keys, typo probes, line flags, template lints) in a
:class:`BoundedMemo`. Lookups are a plain ``dict.get`` (the hot path); a new entry goes
through :meth:`BoundedMemo.put`, which empties the memo first once it holds more than
``limit`` entries, so that memory stays flat in a long batch.
"""

from __future__ import annotations

from typing import TypeVar

__all__ = ["BoundedMemo"]

K = TypeVar("K")
V = TypeVar("V")


class BoundedMemo(dict[K, V]):
    """``dict`` of at most about ``limit`` entries: read with ``get``, fill with
    :meth:`put` (cleared whole past ``limit``: no per-entry bookkeeping on lookups).

    >>> memo: BoundedMemo[str, int] = BoundedMemo(2)
    >>> memo.put("a", 1)
    1
    >>> memo.get("a"), memo.get("b")
    (1, None)
    """

    __slots__ = ("limit",)

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def put(self, key: K, value: V) -> V:
        """Remember ``value`` for ``key`` and return it; the memo is emptied first when
        it already holds more than ``limit`` entries."""
        if len(self) > self.limit:
            self.clear()
        self[key] = value
        return value
