"""Award criteria read as written in a RC or a notice (R2152-7 to R2152-12 CCP).

What is read, from tables (rows of cells: the table blocks of the document model for
PDF, DOCX, ODT and HTML pieces, Markdown pipe tables read from their text),
lists and prose of the zones that speak of award criteria (« Jugement des offres »,
« Critères d'attribution », « II.2.5) », « 5.1.10 »…):

* weights written ``60 %``, ``30,5 %``, ``40/100``, ``20 points``, ``coefficient 3``, a bare
  ``Pondération : 40`` or ``Critère d'attribution — Nombre : 40`` (eForms notices), a
  column of bare numbers under a « Pondération » header, ``(70 % de la note globale)``;
* sub-criteria (« Sous-critère 1 : … », « dont », numbered 1.1, lettered a)) whose weights
  are either absolute (they sum to their parent's weight) or relative to their parent
  (« Pondération sur 100 » inside a criterion of 70 %: 50 → 35 % of the total);
* criteria per lot (« Lot 1 : … » before or inside the zone).

Every criterion keeps its weight as written (``ecrit``, e.g. « 50 », and ``unite``, e.g.
« sur 100 (dans le critère) ») beside the normalised weight in % of the total (``poids``).
A set that does not sum to its total (95 %, 150 %), a criterion without a weight or two
sets that disagree are kept, never dropped, and reported as :class:`CriteriaProblem` (in
French, with the page or line). Types come from ``clause_library/criteres.yaml``
(:mod:`tasks.clausier.criteria_vocab`).

Shapes: :func:`read_criteria` takes the pieces as read by :mod:`tasks.dossier.reader`
and returns a list of :class:`CriteriaSet` (one per zone and lot, in reading order).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tasks.check.criteria_build import _build, _Item, _items, _normalise
from tasks.check.criteria_model import (
    CriteriaProblem,
    CriteriaSet,
    CriterionRead,
    SourceLine,
    lines_of,
)
from tasks.check.criteria_text import _CRIT_WORD, _LOT_LINE, _weights, _zone_start
from tasks.dossier.document import PieceText

__all__ = [
    "CriteriaProblem",
    "CriteriaSet",
    "CriterionRead",
    "SourceLine",
    "lines_of",
    "read_criteria",
    "read_criteria_lines",
]


def read_criteria_lines(
    lines: Sequence[SourceLine], *, file: str = "", vocab=None
) -> list[CriteriaSet]:
    """Criteria sets of a sequence of lines (see the module docstring)."""
    if vocab is None:
        from tasks.clausier.criteria_vocab import load_criteria_vocab

        vocab = load_criteria_vocab()
    zones = _zones(lines)
    sets: list[CriteriaSet] = []
    for zone, lot_before in zones:
        items, lots, _tail = _items(zone)
        if not items:
            continue
        groups: list[tuple[int | None, list[_Item], SourceLine]] = []
        if lots and any(i < len(items) for i, _ in lots):
            bounds = [(i, sl) for i, sl in lots]
            first_idx = bounds[0][0]
            if first_idx > 0:
                groups.append((lot_before, items[:first_idx], items[0].line))
            for k, (i, sl) in enumerate(bounds):
                j = bounds[k + 1][0] if k + 1 < len(bounds) else len(items)
                n = int(_LOT_LINE.match(sl.text.strip()).group("n"))
                if items[i:j]:
                    groups.append((n, items[i:j], sl))
        else:
            groups.append((lot_before, items, items[0].line))
        for lot, its, src in groups:
            tops, problems = _build(its, vocab)
            problems += _normalise(tops, src, vocab)
            for c in [*tops, *(s for t in tops for s in t.sous)]:
                if c._value is None:
                    problems.append(
                        CriteriaProblem(
                            "critere-sans-poids",
                            f"Le critère « {c.nom} » n'a pas de pondération lisible.",
                            c.source,
                        )
                    )
            sets.append(
                CriteriaSet(
                    file=file or src.file, lot=lot, criteres=tops, source=src, problems=problems
                )
            )
    sets = [s for s in sets if _credible(s)]
    # a criterion detailed in its own section (« 6.2 Critère Prix (50 points) ») is not a
    # second statement of the criteria when a full set was read
    if any(len(s.criteres) >= 2 for s in sets):
        sets = [s for s in sets if len(s.criteres) >= 2]
    return sets


def _credible(s: CriteriaSet) -> bool:
    """A zone that reads as criteria: two criteria or more, or one named like a criterion
    with a weight in % or points."""
    if len(s.criteres) >= 2:
        return True
    return len(s.criteres) == 1 and bool(s.criteres[0].sous or s.criteres[0].type != "autre")


def _zones(lines: Sequence[SourceLine]) -> list[tuple[list[SourceLine], int | None]]:
    """Zones that speak of award criteria: from a line (or heading) that names them to the
    next section of the same or a higher level that does not, or after 40 lines without
    weight."""
    zones: list[tuple[list[SourceLine], int | None]] = []
    lot: int | None = None
    i = 0
    n = len(lines)
    while i < n:
        sl = lines[i]
        m = _LOT_LINE.match(sl.text.strip())
        if m and len(sl.text) < 140:
            lot = int(m.group("n"))
        if not (
            _zone_start(sl.text)
            or (sl.heading and _zone_start(sl.heading) and _weights(sl.text, bare_ok=False))
        ):
            i += 1
            continue
        start_section = sl.section
        zone: list[SourceLine] = [sl] if _weights(sl.text, bare_ok=False) else []
        quiet = 0
        j = i + 1
        while j < n:
            nl = lines[j]
            if nl.section != start_section and nl.section >= 0:
                title = nl.heading or ""
                if _complete(zone):
                    break
                if not (
                    _zone_start(title)
                    or _weights(nl.text, bare_ok=True)
                    or _CRIT_WORD.search(title)
                    or _LOT_LINE.match(title.split("—")[-1].strip())
                ):
                    break
                start_section = nl.section
            has_w = bool(_weights(nl.text, bare_ok=False)) or bool(_CRIT_WORD.search(nl.text))
            quiet = 0 if has_w else quiet + 1
            if quiet > 40:
                break
            zone.append(nl)
            j += 1
        zones.append((zone, lot))
        i = j
    return zones


def _complete(zone: list[SourceLine]) -> bool:
    """Whether the lines read so far already state a full set (top level sums to 100 %)."""
    items, _lots, _tail = _items(zone)
    if len(items) < 2:
        return False
    from tasks.clausier.criteria_vocab import load_criteria_vocab

    tops, _ = _build(items, load_criteria_vocab())
    vals = [c._value for c in tops]
    return (
        all(v is not None for v in vals)
        and abs(sum(vals) - 100) <= 0.01
        and all(c._unit in ("%", "colonne", "ponderation") for c in tops)
    )


def read_criteria(pieces: Iterable[PieceText], vocab=None) -> list[CriteriaSet]:
    """Criteria sets of the pieces, RC and notices first (the order of the pieces given
    otherwise)."""
    ordered = sorted(pieces, key=lambda p: p.kind not in ("rc", "avis"))
    out: list[CriteriaSet] = []
    for piece in ordered:
        if piece.kind in ("bpu", "dpgf", "dqe", "dpf", "ae"):
            continue
        out.extend(read_criteria_lines(lines_of(piece), file=piece.path, vocab=vocab))
    return out
