"""Tables without rules of a PDF page: text aligned in columns (no pdfplumber).

A table drawn without rules (aligned text only, or cells set apart by background
shading) is found from where PDFium puts the text, not from path objects:

1. **Chunks.** PDFium's text rectangles (``FPDFText_CountRects``/``GetRect`` over the
   page: one per text object and line) are grouped into visual lines (a rectangle joins
   the line its middle falls in); on a line, rectangles closer than :data:`_GAP_EM` of
   the text height merge into one chunk (the words of a sentence, even justified), so a
   chunk is the text of one cell.
2. **Runs.** Consecutive visual lines (at most :data:`_STEP_EM` text heights apart) are
   read while at least one vertical band of white space (a gutter) crosses all of them:
   a line of prose running across the columns ends the run; a line that closes a gutter
   already splitting two lines starts a new run (a list set in columns above a table).
3. **Grid.** The gutters kept split chunks on at least :data:`_MIN_ROWS` rows. A line
   starts a new row when it does not overlap the row above and either its first column
   holds text or it stands further below than the tightest line spacing of the run
   (×:data:`_ROW_STEP`); otherwise (a cell wrapped or centred over two lines) it
   continues the row. Each cell's text is PDFium's text inside its column band × row band.
4. **Refusals** (never tables): fewer than :data:`_MIN_ROWS` lines of two chunks or
   more; a first column of list markers only (bullets, « 1. », « a) »: a list set in
   columns); two or three columns, the last of page numbers that never decrease after
   titles of two words or more (a table of contents set with tabs); a cell with dotted
   leaders, or with check boxes (a form: its lines stay form fields); columns that all
   hold prose (:data:`_PROSE_WORDS` words or more a line: a page set in two columns);
   cells filled in fewer than half the rows or half the grid (a diagram).
5. **Page headers and footers** printed right against a table may join its run: once
   every page is read, :func:`trim_page_furniture` drops the rows holding a line
   repeated at the same end and height of most pages.
6. **Continuation.** Given the columns of a table ending the previous page
   (``carry``), the first lines of the page that fit them continue it, even one row
   (:func:`_continuation`).

Thresholds are in text heights, not points, so they hold at any font size. Measured on
the visible real PDFs (``bench/reading.py``) and on real Markdown and DOCX pieces set
in PDF by Typst with their tables unruled: no table found where there is none.

The result is a :class:`~tasks.dossier.pdftables.PdfTable`, as for a ruled table, so the
reader places both alike. Cost: ~2 ms a page on the AMF DCE, ~60 ms for a page holding
a 70 × 10 table (both measured in ``bench/reading.py``).
"""

from __future__ import annotations

import ctypes
import itertools
import re
from dataclasses import dataclass, field

from .headings import parse_heading
from .layout import CHECKBOX_RE
from .normalize import fold
from .pdftables import PdfCell, PdfTable, cell_text

__all__ = ["page_grid_tables", "trim_page_furniture"]

#: Rectangles of one line closer than this share of the text height are one chunk: a
#: justified space stays below it (0.72 at most on the visible real PDFs, within a
#: sentence: no gutter aligns across lines), two cells of a table with the usual
#: padding of 5 points a side above (0.8 to 1.1).
_GAP_EM = 0.75
#: Two lines of a run are at most this many text heights apart (top to top).
_STEP_EM = 3.2
#: A table has at least this many lines of two chunks or more, and each of its gutters
#: separates chunks on at least this many lines.
_MIN_ROWS = 3
#: Average words per line from which a column reads as prose.
_PROSE_WORDS = 5.0
#: A new row when the step from the previous line exceeds the tightest step by this.
_ROW_STEP = 1.35

_MARKER_RE = re.compile(
    r"^(?:[^\w\s]{1,2}|[o\uf0a7\uf0b7]|\(?\d{1,3}(?:\.\d{1,3})*[.)°]?|\(?[a-zA-Z][.)]|\(?[ivxIVX]{1,4}[.)])$"
)
_BULLET_RE = re.compile(r"^(?:[^\w\s]{1,2}|[o\uf0a7\uf0b7])$")
_LEADERS_RE = re.compile(r"(?:\.\s?){4,}|…{2,}")
_INVISIBLE_RE = re.compile(r"[\s\u200b-\u200f\u2060\ufeff]")
_PAGE_NO_RE = re.compile(r"^\d{1,3}$")


@dataclass(slots=True)
class _Line:
    """A visual line: its chunks (left, right) sorted by x, top and bottom (points)."""

    top: float
    bottom: float
    chunks: list[list[float]] = field(default_factory=list)

    @property
    def height(self) -> float:
        return max(self.top - self.bottom, 1.0)


def _rects(raw, textpage) -> list[tuple[float, float, float, float]]:
    """PDFium's text rectangles (left, right, top, bottom) of the page (one call for
    the page: PDFium cuts them per text object and line)."""
    out = []
    left, top, right, bottom = (ctypes.c_double() for _ in range(4))
    for k in range(raw.FPDFText_CountRects(textpage, 0, -1)):
        if (
            raw.FPDFText_GetRect(
                textpage,
                k,
                ctypes.byref(left),
                ctypes.byref(top),
                ctypes.byref(right),
                ctypes.byref(bottom),
            )
            and right.value - left.value > 0.5
            and top.value - bottom.value > 0.5
        ):
            out.append((left.value, right.value, top.value, bottom.value))
    return out


def _visual_lines(rects: list[tuple]) -> list[_Line]:
    """Rectangles grouped into lines (top first), chunks merged within a line."""
    lines: list[_Line] = []
    for left, right, top, bottom in sorted(rects, key=lambda r: -r[2]):
        middle = (top + bottom) / 2
        # a rectangle belongs to a line its middle falls in (a hyphen, a dash, a
        # superscript are lower or smaller than the words around them)
        line = next((ln for ln in lines[-3:] if ln.bottom <= middle <= ln.top), None)
        if line is None:
            line = _Line(top, bottom)
            lines.append(line)
        line.bottom = min(line.bottom, bottom)
        line.chunks.append([left, right])
    for line in lines:
        merged: list[list[float]] = []
        for left, right in sorted(line.chunks):
            if merged and left - merged[-1][1] < _GAP_EM * line.height:
                merged[-1][1] = max(merged[-1][1], right)
            else:
                merged.append([left, right])
        line.chunks = merged
    return lines


def _gutters(lines: list[_Line]) -> list[tuple[float, float]]:
    """White bands (left, right) crossing all ``lines``, inside their extent, at least
    :data:`_GAP_EM` of a text height wide."""
    spans = sorted(c for line in lines for c in line.chunks)
    if not spans:
        return []
    height = min(line.height for line in lines)
    out = []
    reach = spans[0][1]
    for left, right in spans[1:]:
        if left - reach >= _GAP_EM * height:
            out.append((reach, left))
        reach = max(reach, right)
    return out


def _splits(line: _Line, gutter: tuple[float, float]) -> bool:
    """Does the line hold chunks on both sides of the gutter?"""
    return any(c[1] <= gutter[0] for c in line.chunks) and any(
        c[0] >= gutter[1] for c in line.chunks
    )


def _supported(lines: list[_Line]) -> list[tuple[float, float]]:
    """Gutters of ``lines`` that split two of them or more."""
    return [g for g in _gutters(lines) if sum(_splits(ln, g) for ln in lines) >= 2]


class _Run:
    """Lines read so far with the white bands crossing all of them, kept up to date line
    by line (linear in the line's chunks, not in the run's size)."""

    def __init__(self, line: _Line) -> None:
        self.lines = [line]
        self.lo = line.chunks[0][0]
        self.hi = max(c[1] for c in line.chunks)
        self.white = self._free(line, self.lo, self.hi)
        self.height = line.height

    @staticmethod
    def _free(line: _Line, lo: float, hi: float) -> list[tuple[float, float]]:
        out = []
        x = lo
        for a, b in line.chunks:
            if a > x:
                out.append((x, a))
            x = max(x, b)
        if x < hi:
            out.append((x, hi))
        return out

    def gutters(self, white=None, height=None) -> list[tuple[float, float]]:
        """The white bands wide enough to be gutters (:data:`_GAP_EM`)."""
        least = _GAP_EM * (height or self.height)
        return [(a, b) for a, b in (white or self.white) if b - a >= least]

    def with_line(self, line: _Line) -> tuple[list, float, float]:
        """(white bands, left, right) of the run with ``line`` added."""
        lo = min(self.lo, line.chunks[0][0])
        hi = max(self.hi, max(c[1] for c in line.chunks))
        old = [(lo, self.lo)] if lo < self.lo else []
        old += self.white + ([(self.hi, hi)] if hi > self.hi else [])
        free = self._free(line, lo, hi)
        out = []
        i = j = 0
        while i < len(old) and j < len(free):
            a, b = max(old[i][0], free[j][0]), min(old[i][1], free[j][1])
            if a < b and lo < a and b < hi:
                out.append((a, b))
            if old[i][1] < free[j][1]:
                i += 1
            else:
                j += 1
        return out, lo, hi

    def add(self, line: _Line) -> bool:
        """Add the line when a gutter still crosses the run and every gutter splitting
        two of its last lines goes on (see :func:`_runs`); False otherwise."""
        white, lo, hi = self.with_line(line)
        height = min(self.height, line.height)
        after = self.gutters(white, height)
        recent = self.lines[-6:]
        supported = [g for g in self.gutters() if sum(_splits(ln, g) for ln in recent) >= 2]
        if not after or not all(any(a < g[1] and g[0] < b for a, b in after) for g in supported):
            return False
        self.lines.append(line)
        self.white, self.lo, self.hi, self.height = white, lo, hi, height
        return True


def _runs(lines: list[_Line]) -> list[list[_Line]]:
    """Consecutive lines crossed by a common gutter (see the module docstring). A line
    that closes a gutter already splitting two of the last lines of the run starts a
    new run (a list set with tabs above a table: each keeps its own columns)."""
    runs: list[list[_Line]] = []
    run: _Run | None = None
    for line in lines:
        if run is not None:
            last = run.lines[-1]
            near = last.top - line.top <= _STEP_EM * max(last.height, line.height)
            if near and run.add(line):
                continue
            runs.append(run.lines)
        run = _Run(line) if len(line.chunks) >= 2 else None
    if run is not None:
        runs.append(run.lines)
    return [r for r in runs if sum(len(line.chunks) >= 2 for line in r) >= _MIN_ROWS]


def _bounds(run: list[_Line], gutters: list[tuple[float, float]]) -> list[float]:
    left = min(c[0] for ln in run for c in ln.chunks)
    right = max(c[1] for ln in run for c in ln.chunks)
    return [left, *((a + b) / 2 for a, b in gutters), right]


def _grid(run: list[_Line]) -> tuple[list[float], list[list[_Line]]]:
    """(column boundaries: x left to right, ends included; rows of lines) of a run.

    Gutters splitting two lines give first columns and rows (:func:`_rows`); the
    gutters kept split at least :data:`_MIN_ROWS` rows (a cell centred between two
    lines of its neighbours splits its row, not a line). Trailing lines of one chunk
    starting at the table's left edge (prose after the table) are dropped from ``run``
    first; one starting further right is the last cell going on."""
    left = min(ln.chunks[0][0] for ln in run)
    while run and len(run[-1].chunks) == 1 and run[-1].chunks[0][0] <= left + 2 * run[-1].height:
        run.pop()
    gutters = _supported(run)
    if not gutters:
        return [], []
    rows = _rows(run, _bounds(run, gutters))
    merged = [_Line(r[0].top, r[-1].bottom, [c for ln in r for c in ln.chunks]) for r in rows]
    gutters = [g for g in gutters if sum(_splits(m, g) for m in merged) >= _MIN_ROWS]
    if not gutters:
        return [], []
    cols = _bounds(run, gutters)
    return cols, _rows(run, cols)


def _rows(run: list[_Line], cols: list[float]) -> list[list[_Line]]:
    """Lines grouped into rows: a line overlapping the row above (a cell centred
    between two lines of its neighbour) continues it; otherwise a new row when the
    first column holds text or the step from the previous line exceeds the tightest
    step by :data:`_ROW_STEP`."""
    steps = [a.top - b.top for a, b in itertools.pairwise(run)]
    tight = min(steps) if steps else 0.0
    rows: list[list[_Line]] = []
    for k, line in enumerate(run):
        if rows:
            bottom = min(ln.bottom for ln in rows[-1])
            overlaps = line.top > bottom + 0.5
            first_col = any(c[0] < cols[1] for c in line.chunks)
            if overlaps or not (first_col or steps[k - 1] > tight * _ROW_STEP):
                rows[-1].append(line)
                continue
        rows.append([line])
    return rows


def _refused(table: PdfTable, lines_in: list[int]) -> bool:
    """A list set with tabs, a table of contents or a page in two columns (see the
    module docstring); ``lines_in``: per column, the lines holding text in it."""
    columns = list(zip(*((c.text for c in row) for row in table.rows), strict=True))
    filled = [sum(1 for c in row if c.text) for row in table.rows]
    if sum(n >= 2 for n in filled) < max(2, len(filled) / 2) or sum(filled) < 0.5 * len(
        columns
    ) * len(filled):
        return True  # text scattered over a grid: a diagram, not a table
    if all(not t or _MARKER_RE.match(t) for t in columns[0]) or all(
        not t or _BULLET_RE.match(t) for t in columns[0][1:]
    ):
        return True  # a list set with tabs (a stray first line above the bullets)
    if any(
        _LEADERS_RE.search(c.text) or CHECKBOX_RE.search(c.text) for row in table.rows for c in row
    ):
        return True  # contents, or a form: each line stays a form field
    last = [_INVISIBLE_RE.sub("", t) for t in columns[-1] if t]
    if last and not _PAGE_NO_RE.match(last[0]):
        last = last[1:]  # a header row (« Page »)
    titles = [t for t in columns[-2] if t]
    if (
        len(columns) <= 3
        and len(last) >= _MIN_ROWS - 1
        and all(_PAGE_NO_RE.match(t) for t in last)
        and sum(len(t.split()) for t in titles) >= 2 * len(titles)
    ):
        numbers = [int(t) for t in last]
        if numbers == sorted(numbers):
            return True  # titles and page numbers: a table of contents set with tabs

    return all(
        sum(len(t.split()) for t in col) >= _PROSE_WORDS * max(1, n)
        for col, n in zip(columns, lines_in, strict=True)
    )


def _table(textpage, cols: list[float], rows: list[list[_Line]]) -> PdfTable:
    """The table of ``rows`` cut at the column boundaries ``cols``, each cell's text
    read by PDFium inside it."""
    top = rows[0][0].top + 1.0
    table = PdfTable(cols[0], rows[-1][-1].bottom - 1.0, cols[-1], top, ruled=False)
    bounds = [top]
    for upper, lower in itertools.pairwise(rows):
        bounds.append((min(ln.bottom for ln in upper) + lower[0].top) / 2)
    bounds.append(table.bottom)
    edges = [cols[0] - 1.0, *cols[1:-1], cols[-1] + 1.0]
    for y_top, y_bottom in itertools.pairwise(bounds):
        table.rows.append(
            [
                PdfCell(x0, y_bottom, x1, y_top, cell_text(textpage, x0, y_bottom, x1, y_top))
                for x0, x1 in itertools.pairwise(edges)
            ]
        )
    return table


#: A carried column boundary may be this far (points) from the text of the next page.
_CARRY_TOLERANCE = 6.0


def _continuation(lines: list[_Line], cols: list[float]) -> list[_Line]:
    """The lines at the top of a page that go on with a table of the previous page whose
    column boundaries are ``cols``: consecutive lines whose every chunk stays within one
    column, after at most two lines that do not (the page header); a first line set
    apart from the next by more than 1.8 times the spacing of the others (a page header
    that happens to fit the columns), and last lines of one chunk in the first column (a
    short paragraph after the table), are left out."""
    tol = _CARRY_TOLERANCE

    def fits(line: _Line) -> bool:
        return all(
            any(x0 - tol <= a and b <= x1 + tol for x0, x1 in itertools.pairwise(cols))
            for a, b in line.chunks
        )

    taken: list[_Line] = []
    for k, line in enumerate(lines):
        if not taken and not fits(line):
            if k >= 2:
                break
            continue
        if not fits(line) or (
            taken and taken[-1].top - line.top > _STEP_EM * max(taken[-1].height, line.height)
        ):
            break
        taken.append(line)
    while taken and len(taken[-1].chunks) == 1 and taken[-1].chunks[0][0] < cols[1]:
        taken.pop()  # a short paragraph after the table, at the left margin
    steps = [a.top - b.top for a, b in itertools.pairwise(taken)]
    if len(steps) >= 2 and steps[0] > 1.8 * max(steps[1:]):
        taken = taken[1:]
    return taken if any(len(ln.chunks) >= 2 for ln in taken) else []


def _continues(table: PdfTable) -> bool:
    """Do the lines read with the previous page's columns continue its table? A row of
    two cells or more, and no numbered heading set with a tab (« 5.1 | Durée »,
    « ARTICLE 3 | OBJET »: a first column of numbers only, or a strong heading)."""
    firsts = [row[0].text for row in table.rows]
    if not any(sum(1 for c in row if c.text) >= 2 for row in table.rows):
        return False
    if all(not t or _MARKER_RE.match(t) for t in firsts):
        return False
    for row in table.rows:
        cand = parse_heading(" ".join(c.text for c in row if c.text))
        if cand is not None and cand.strong:
            return False
    return True


def page_grid_tables(
    raw, textpage, ruled: list[PdfTable], carry: list[float] | None = None
) -> list[PdfTable]:
    """The tables without rules of a page (see the module docstring), top first; text
    inside a ruled table of ``ruled`` is left out. ``carry``: the column boundaries of
    a table ending the previous page; the lines at the top of this page that fit them
    (:func:`_continuation`) are its continuation, even a single row."""
    rects = [r for r in _rects(raw, textpage) if not any(t.holds(r[0], r[2]) for t in ruled)]
    lines = _visual_lines(rects)
    tables: list[PdfTable] = []
    for run in _runs(lines):
        cols, rows = _grid(run)
        if len(cols) < 3 or len(rows) < 2:
            continue
        table = _table(textpage, cols, rows)
        edges = [cols[0] - 1.0, *cols[1:-1], cols[-1] + 1.0]
        lines_in = [
            sum(any(x0 <= (c[0] + c[1]) / 2 < x1 for c in ln.chunks) for ln in run)
            for x0, x1 in itertools.pairwise(edges)
        ]
        if not _refused(table, lines_in):
            tables.append(table)
    if carry and len(carry) >= 3:
        top = max((t.top for t in [*tables, *ruled]), default=None)
        free = [ln for ln in lines if top is None or ln.top > top + 1.0]
        taken = _continuation(free, carry)
        if taken:
            # the box holds every line taken (its text may start left of the columns)
            left = min(carry[0], *(ln.chunks[0][0] for ln in taken))
            right = max(carry[-1], *(ln.chunks[-1][1] for ln in taken))
            cols = [left, *carry[1:-1], right]
            table = _table(textpage, cols, _rows(taken, cols))
            if _continues(table):
                tables.insert(0, table)
    return tables


#: Lines at each end of a page where headers and footers are looked for.
_EDGE_LINES = 2


def _furniture(lines_info: list[list[tuple]]) -> list[list[float]]:
    """Per page, the heights (top y) of its header and footer lines: among the first or
    last :data:`_EDGE_LINES` lines of a page, those repeated (digits aside, at the same
    height) on more than half of the pages, three at least."""
    edges: list[list[tuple[str, float]]] = []
    seen: dict[str, set[int]] = {}
    for p, page in enumerate(lines_info):
        kept = [(seg, y) for seg, _n, _s, _b, y, _x in page if seg.strip() and y is not None]
        at_edge = kept[:_EDGE_LINES] + kept[-_EDGE_LINES:]
        # the same text (digits aside) at the same height (within 3 points)
        keyed = [
            (f"{round(y / 3)} " + re.sub(r"\d+", "#", " ".join(fold(seg).split())), y)
            for seg, y in at_edge
        ]
        edges.append(keyed)
        for key, _y in keyed:
            seen.setdefault(key, set()).add(p)
    threshold = max(3, len(lines_info) // 2 + 1)
    repeated = {k for k, pages in seen.items() if len(pages) >= threshold}
    return [[y for key, y in page if key in repeated] for page in edges]


def trim_page_furniture(tables: list[list[PdfTable]], lines_info: list[list[tuple]]) -> None:
    """Drop from the tables without rules (in place) the rows holding a page header or
    footer (a line repeated at the same end of most pages, see :func:`_furniture`),
    which joins a table printed right against it; a table left with fewer than two
    rows is dropped. ``lines_info``: the lines of every page, (text, line number, size,
    bold, top y, left x) as the PDF reader gathers them."""
    if len(lines_info) < 3 or not any(not t.ruled for page in tables for t in page):
        return
    furniture = _furniture(lines_info)
    for p, page in enumerate(tables):
        ys = furniture[p] if p < len(furniture) else []
        if not ys:
            continue
        for table in [t for t in page if not t.ruled]:
            table.rows = [
                row
                for row in table.rows
                if not any(row[0].bottom - 1.0 <= y <= row[0].top + 1.0 for y in ys)
            ]
            if len(table.rows) < 2:
                page.remove(table)
                continue
            table.top = max(c.top for c in table.rows[0])
            table.bottom = min(c.bottom for c in table.rows[-1])
