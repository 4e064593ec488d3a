"""The award criteria of the RC by number (``"1"``, ``"2.1"``…), as the evaluation uses them."""

from __future__ import annotations

import re

from tasks.dossier.model import Critere, Tender

from .model import RESPONSIBLE_TYPES, CriterionInfo


def criteria_index(tender: Tender) -> dict[str, CriterionInfo]:
    """The RC criteria by number: ``{"1": Prix, "2": Valeur technique, "2.1": …}``."""
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

    walk(tender.criteres, "", None)
    return out


def _top(code: str) -> str:
    return code.split(".", 1)[0]


def _fold(s: str) -> str:
    import unicodedata

    s = unicodedata.normalize("NFKD", s.lower())
    return " ".join(re.findall(r"[a-z0-9]+", "".join(c for c in s if not unicodedata.combining(c))))
