"""Extra sources of review items, registered by the floors above review.

The review plan (:func:`tasks.review.reviews.build_plan`) holds the checker's flagged
clauses; a room above (the execution follow-up, ``tasks/award/followup.py``) adds its
own items without review importing it: the CLI or a flow registers
``"module:function"`` here, and the plan calls ``function(dossier, clausier)`` (returning
:class:`tasks.review.reviews.ReviewItem` objects). Importing this module costs nothing.
"""

from __future__ import annotations

__all__ = ["ITEM_SOURCES", "register_item_source"]

#: ``"module:function"`` specs, in registration order.
ITEM_SOURCES: list[str] = []


def register_item_source(spec: str) -> None:
    """Register ``"package.module:function"`` (idempotent)."""
    if ":" not in spec:
        raise ValueError("« module:fonction » attendu")
    if spec not in ITEM_SOURCES:
        ITEM_SOURCES.append(spec)
