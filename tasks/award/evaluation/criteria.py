"""The award criteria of the RC by number (``"1"``, ``"2.1"``…), as the evaluation uses them."""

from __future__ import annotations

import re

from tasks.dossier.model import Critere, Tender

from .model import RESPONSIBLE_TYPES, CriterionInfo


def criteria_index(tender: Tender, lot: int | None = None) -> dict[str, CriterionInfo]:
    """The RC criteria by number: ``{"1": Prix, "2": Valeur technique, "2.1": …}``.

    ``lot``: the criteria of that lot, its own (``lots[].criteres`` of tender.yaml,
    R2152-7 CCP per lot) when it has them, else the consultation's; without ``lot``,
    the consultation's (``criteres``).
    """
    return _index(own_criteria(tender, lot) or tender.criteres)


def own_criteria(tender: Tender, lot: int | None) -> list[Critere]:
    """The lot's own criteria in tender.yaml; empty when it has none (or no such lot)."""
    found = next((x for x in tender.lots if x.numero == lot), None)
    return found.criteres if found is not None else []


def uses_tender_criteria(tender: Tender) -> bool:
    """True when some lot (or the single lot of a tender without lots) is judged on the
    consultation's criteria rather than on its own."""
    return not tender.lots or any(not x.criteres for x in tender.lots)


def _index(items: list[Critere]) -> dict[str, CriterionInfo]:
    out: dict[str, CriterionInfo] = {}

    def walk(items: list[Critere], prefix: str, parent: CriterionInfo | None) -> None:
        for i, c in enumerate(items, 1):
            code = f"{prefix}{i}"
            info = CriterionInfo(
                code=code,
                nom=c.nom,
                poids=c.poids,
                type=c.type,
                parent=parent.code if parent else None,
                feuille=not c.sousCriteres,
                responsable=c.type in RESPONSIBLE_TYPES or bool(parent and parent.responsable),
            )
            out[code] = info
            walk(c.sousCriteres, code + ".", info)

    walk(items, "", None)
    return out


def _top(code: str) -> str:
    return code.split(".", 1)[0]


def _fold(s: str) -> str:
    import unicodedata

    s = unicodedata.normalize("NFKD", s.lower())
    return " ".join(re.findall(r"[a-z0-9]+", "".join(c for c in s if not unicodedata.combining(c))))
