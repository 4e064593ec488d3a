"""Ruled tables of a PDF page, from PDFium's path objects (no pdfplumber).

A table drawn by a word processor is a grid of thin rules: horizontal and vertical path
objects (lines, or rectangles less than :data:`_THIN` points thick). On each page the
rules that touch each other are grouped; a group is a table when its full-height vertical
rules make at least two columns. Its rows are cut at the horizontal rules that cross most
of its width (a cell merged over two rows keeps one row), its columns at the vertical
rules that run down most of its height; each cell's text is PDFium's text inside it.

A box of one column (a framed title, a boxed note) is not a table; nor are underlines
(horizontal rules without verticals). Cost: one pass over the page's objects, ~0.005 s a
page on the AMF DCE (measured in ``bench/reading.py``). Tables whose cells are drawn
only by background shading, or without rules (aligned text only), are found from the
text's positions by :mod:`tasks.dossier.pdfgrid`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

__all__ = ["PdfCell", "PdfTable", "cell_text", "page_tables"]

#: A rule is thinner than this (points); a cell is at least this wide or high.
_THIN = 3.0
_MIN_CELL = 6.0
#: Two rule ends closer than this (points) touch; boundary positions closer merge.
_TOUCH = 2.5
#: A row boundary crosses this share of the table width; a column boundary runs down
#: this share of its height.
_ROW_COVER = 0.6
_COL_COVER = 0.5


@dataclass(slots=True)
class _Box:
    left: float
    bottom: float
    right: float
    top: float

    def holds(self, x: float, y: float) -> bool:
        """Is the point (a character's top-left corner) inside the box?"""
        return (
            self.left - _TOUCH <= x <= self.right + _TOUCH
            and self.bottom - _TOUCH <= y <= self.top + _TOUCH
        )


@dataclass(slots=True)
class PdfCell(_Box):
    """A cell: its box (PDF points, y upwards) and its text (whitespace collapsed)."""

    text: str = ""


@dataclass(slots=True)
class PdfTable(_Box):
    """A table of one page: its box (PDF points, y upwards) and its cells row by row
    (top row first; a row's cells left to right, empty cells kept); ``ruled``: drawn
    with rules (False: found from aligned text by :mod:`tasks.dossier.pdfgrid`)."""

    rows: list[list[PdfCell]] = field(default_factory=list)
    ruled: bool = True


def _rules(page) -> tuple[list[tuple], list[tuple]]:
    """(horizontal rules (y, x0, x1), vertical rules (x, y0, y1)) of the page."""
    import pypdfium2.raw as raw  # lazy

    hs: list[tuple] = []
    vs: list[tuple] = []
    for obj in page.get_objects(filter=[raw.FPDF_PAGEOBJ_PATH], max_depth=3):
        left, bottom, right, top = obj.get_bounds()
        w, h = right - left, top - bottom
        if h < _THIN and w >= _MIN_CELL:
            hs.append(((bottom + top) / 2, left, right))
        elif w < _THIN and h >= _MIN_CELL:
            vs.append(((left + right) / 2, bottom, top))
    return hs, vs


def _groups(hs: list[tuple], vs: list[tuple]) -> list[tuple[list[tuple], list[tuple]]]:
    """Rules grouped by contact (a horizontal and a vertical rule that touch)."""
    parent = list(range(len(hs) + len(vs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, (y, x0, x1) in enumerate(hs):
        for j, (x, y0, y1) in enumerate(vs):
            if x0 - _TOUCH <= x <= x1 + _TOUCH and y0 - _TOUCH <= y <= y1 + _TOUCH:
                parent[find(i)] = find(len(hs) + j)
    out: dict[int, tuple[list, list]] = {}
    for i, h in enumerate(hs):
        out.setdefault(find(i), ([], []))[0].append(h)
    for j, v in enumerate(vs):
        out.setdefault(find(len(hs) + j), ([], []))[1].append(v)
    return [g for g in out.values() if g[0] and g[1]]


def _boundaries(
    rules: list[tuple], lo: float, hi: float, extent: tuple[float, float], share: float
) -> list[float]:
    """Positions in ``[lo, hi]`` (merged within :data:`_TOUCH`) whose rules cover
    ``share`` of ``extent``, the two ends always included; sorted ascending."""
    by_pos: list[list] = []  # [position, covered length]
    for pos, a, b in sorted(rules):
        length = max(0.0, min(b, extent[1]) - max(a, extent[0]))
        if by_pos and pos - by_pos[-1][0] <= _TOUCH:
            by_pos[-1][1] += length
        else:
            by_pos.append([pos, length])
    span = extent[1] - extent[0]
    inner = [p for p, c in by_pos if c >= share * span and lo + _MIN_CELL <= p <= hi - _MIN_CELL]
    out = [lo]
    for p in inner:
        if p - out[-1] >= _MIN_CELL:
            out.append(p)
    out.append(hi)
    return out


def cell_text(textpage, left: float, bottom: float, right: float, top: float) -> str:
    """PDFium's text inside the box (PDF points), whitespace collapsed. PDFium marks a
    word cut by a hyphen at a line end with U+0002 here (U+FFFE in the page's text):
    it becomes U+FFFE, which :func:`~tasks.dossier.normalize.normalize_text` rejoins
    (« adjudi‐␤cateur » → « adjudicateur », a compound keeping its hyphen)."""
    text = textpage.get_text_bounded(left + 0.5, bottom + 0.5, right - 0.5, top - 0.5)
    return " ".join(text.replace("\x02", "\ufffe").split())


def page_tables(page, textpage) -> list[PdfTable]:
    """The ruled tables of a PDFium page (see the module docstring), top first."""
    hs, vs = _rules(page)
    if not hs or len(vs) < 3:
        return []
    tables: list[PdfTable] = []
    for g_hs, g_vs in _groups(hs, vs):
        left = min(min(x0 for _y, x0, _x1 in g_hs), min(x for x, _a, _b in g_vs))
        right = max(max(x1 for _y, _x0, x1 in g_hs), max(x for x, _a, _b in g_vs))
        bottom = min(min(y for y, _a, _b in g_hs), min(y0 for _x, y0, _y1 in g_vs))
        top = max(max(y for y, _a, _b in g_hs), max(y1 for _x, _y0, y1 in g_vs))
        cols = _boundaries(g_vs, left, right, (bottom, top), _COL_COVER)
        rows = _boundaries(g_hs, bottom, top, (left, right), _ROW_COVER)
        if len(cols) < 3 or len(rows) < 2:
            continue  # one column: a framed title or note, not a table
        table = PdfTable(left, bottom, right, top)
        for y_top, y_bottom in zip(reversed(rows[1:]), reversed(rows[:-1]), strict=True):
            cells = [
                PdfCell(x0, y_bottom, x1, y_top, cell_text(textpage, x0, y_bottom, x1, y_top))
                for x0, x1 in itertools.pairwise(cols)
            ]
            if any(c.text for c in cells):
                table.rows.append(cells)
        if sum(1 for row in table.rows for c in row if c.text) >= 2:
            tables.append(table)
    tables.sort(key=lambda t: -t.top)
    return tables
