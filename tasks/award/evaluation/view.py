"""What the rules over evaluation.yaml read: located errors (:class:`Ctx`), the sets of
criteria and methods (:class:`MethodSet`) and the evaluation with its tender (:class:`View`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tasks.dossier.model import Tender
from tasks.dossier.yamlio import line_of
from tasks.errors import InputError

from .criteria import criteria_index, own_criteria, uses_tender_criteria
from .model import CriterionInfo, Evaluation, MethodeCritere, Offre


def _offer_label(data: Any, index: int) -> str:
    try:
        o = data["offres"][index]
        return f"offre « {o.get('id', index + 1)} » ({o.get('soumissionnaire', '?')})"
    except (KeyError, IndexError, TypeError, AttributeError):
        return f"offre n° {index + 1}"


def _where(loc: tuple[Any, ...], data: Any) -> str:
    """« offre « B » (Société), critère « 2.1 » : » for an error location."""
    parts: list[str] = []
    if len(loc) >= 2 and loc[0] == "offres" and isinstance(loc[1], int):
        parts.append(_offer_label(data, loc[1]))
        if len(loc) >= 4 and loc[2] == "notes":
            parts.append(f"critère « {loc[3]} »")
    elif len(loc) >= 2 and loc[0] == "criteres":
        parts.append(f"critère « {loc[1]} »")
    elif len(loc) >= 2 and loc[0] == "lots":
        parts.append(f"lot {loc[1]}")
        if len(loc) >= 4 and loc[2] == "criteres":
            parts.append(f"critère « {loc[3]} »")
    return (", ".join(parts) + " : ") if parts else ""


class Ctx:
    """The YAML read (data and node tree) and its file: builds located errors."""

    def __init__(self, data: Any, node: Any, file: str):
        self.data, self.node, self.file = data, node, file

    def fail(self, loc: tuple[Any, ...], message: str, lot: int | None = None) -> InputError:
        """The error located at ``loc``; ``lot``: a lot judged on its own criteria, named
        after the offer (« offre « A » (…), lot 2, critère « 1 » : »)."""
        line = line_of(self.node, loc)
        where = _where(loc, self.data)
        if lot is not None and len(loc) >= 2 and loc[0] == "offres":
            label = _offer_label(self.data, loc[1])
            where = where.replace(label, f"{label}, lot {lot}", 1) if where else where
        return InputError(where + message, self.file, line)


@dataclass(frozen=True)
class MethodSet:
    """One set of criteria and their methods: the consultation's (``lot`` None, under
    ``criteres``) or a lot's own (under ``lots: N: criteres``)."""

    lot: int | None
    crit: dict[str, CriterionInfo]
    methods: dict[str, MethodeCritere]
    departage: list[str]

    def loc(self, *rest: Any) -> tuple[Any, ...]:
        """Location in evaluation.yaml of a key under this set's ``criteres``."""
        return ("criteres", *rest) if self.lot is None else ("lots", self.lot, "criteres", *rest)

    def under(self) -> str:
        return "« criteres »" if self.lot is None else f"« lots » → « {self.lot} » → « criteres »"


@dataclass(frozen=True)
class View:
    """What the rules read: the evaluation, the tender and what is derived from them."""

    ev: Evaluation
    tender: Tender
    ctx: Ctx
    crit: dict[str, CriterionInfo]
    lots: frozenset[int]  # lot numbers of tender.yaml, or {1} without lots
    names: frozenset[str]  # evaluators: folded names and lower-case e-mails

    def lot_of(self, o: Offre) -> int:
        """The offer's lot; 1 when the tender has no lots and the offer names none."""
        return o.lot or 1

    def own_lot(self, o: Offre) -> int | None:
        """The offer's lot when that lot is judged on its own criteria, else None."""
        lot = self.lot_of(o)
        return lot if own_criteria(self.tender, lot) else None

    def set_of(self, o: Offre) -> MethodSet:
        """The criteria and methods the offer is judged on."""
        lot = self.own_lot(o)
        if lot is None:
            return MethodSet(None, self.crit, self.ev.criteres, self.ev.departage)
        own = self.ev.lots[lot]
        return MethodSet(lot, criteria_index(self.tender, lot), own.criteres, own.departage)

    def method_sets(self) -> list[MethodSet]:
        """The consultation's set (when a lot uses it or methods are given), then each lot's."""
        out = []
        if uses_tender_criteria(self.tender) or self.ev.criteres:
            out.append(MethodSet(None, self.crit, self.ev.criteres, self.ev.departage))
        for lot in self.tender.lots:
            own = self.ev.lots.get(lot.numero)
            if lot.criteres and own is not None:
                crit = criteria_index(self.tender, lot.numero)
                out.append(MethodSet(lot.numero, crit, own.criteres, own.departage))
        return out

    def lots_text(self) -> str:
        return ", ".join(str(n) for n in sorted(self.lots))
