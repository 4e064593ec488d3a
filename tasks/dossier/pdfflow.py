"""Tables continued across pages of a PDF: one table block, the repeated header dropped.

A table that does not fit on its page goes on at the top of the next one; a word
processor often repeats its header row there. After the blocks are grouped (page headers
and footers removed), a table block that ends a page and one that opens the next page
are one table when their columns match: the same number of columns, each boundary
within :data:`_EDGE_TOLERANCE` points (5 mm) of the other's. The second one's first
row is dropped when it repeats the first one's header (same cells, case and accents
aside). Each row keeps its own location (its page and line), so a finding still names
the page a row is printed on. A continuation too short to be found on its own (one row)
is read with the columns of the table ending the previous page
(:func:`carried_columns`, :func:`~tasks.dossier.pdfgrid.page_grid_tables`).
"""

from __future__ import annotations

from collections.abc import Sequence

from .blocks import Block, Cell, Span
from .normalize import fold
from .pdftables import PdfTable

__all__ = ["carried_columns", "column_edges", "merge_continued_tables"]

#: Column boundaries of two parts of a table match within this distance (points).
_EDGE_TOLERANCE = 15.0


def column_edges(table: PdfTable) -> list[float]:
    """Column boundaries of a table (x in points, left to right, both ends included)."""
    widest = max(table.rows, key=len) if table.rows else []
    return [c.left for c in widest] + ([widest[-1].right] if widest else [])


def carried_columns(tables: list[PdfTable], page_lines: list[tuple]) -> list[float] | None:
    """The column boundaries of the lowest table of a page when it ends the page (at
    most two lines, a footer, below it), for the reading of the next page
    (:func:`~tasks.dossier.pdfgrid.page_grid_tables`); else None. ``page_lines``: the
    page's lines as the PDF reader gathers them (text, number, size, bold, top y, x)."""
    if not tables:
        return None
    last = min(tables, key=lambda t: t.bottom)
    below = sum(
        1
        for seg, _n, _s, _b, y, _x in page_lines
        if seg.strip() and y is not None and y < last.bottom
    )
    return column_edges(last) if below <= 2 else None


def _same_columns(a: Sequence[float], b: Sequence[float]) -> bool:
    if len(a) != len(b) or len(a) < 3:
        return False
    return all(abs(x - y) <= _EDGE_TOLERANCE for x, y in zip(a, b, strict=True))


def _row_key(row: list[Cell]) -> tuple[str, ...]:
    return tuple(" ".join(fold(c.text).split()) for c in row)


def _last_page(block: Block) -> int | None:
    pages = [c.loc.page for row in block.rows for c in row if c.text and c.loc.page]
    return max(pages) if pages else block.loc.page


def merge_continued_tables(blocks: list[Block], edges: dict[int, list[float]]) -> list[Block]:
    """``blocks`` with each table continued on the next page merged into the table it
    continues (see the module docstring). ``edges`` maps ``id(block.rows)`` to the
    column boundaries of the table read (:func:`column_edges`); a table without an
    entry is never merged. Returns a new list; merged blocks are changed in place."""
    out: list[Block] = []
    for b in blocks:
        prev = out[-1] if out else None
        if (
            prev is not None
            and b.kind == "table"
            and prev.kind == "table"
            and id(prev.rows) in edges
            and id(b.rows) in edges
            and b.loc.page is not None
            and _last_page(prev) == b.loc.page - 1
            and _same_columns(edges[id(prev.rows)], edges[id(b.rows)])
        ):
            rows = b.rows
            if prev.rows and rows and _row_key(rows[0]) == _row_key(prev.rows[0]):
                rows = rows[1:]  # the header repeated at the top of the page
            prev.rows.extend(rows)
            prev.spans = [Span(c.text, c.loc) for row in prev.rows for c in row if c.text]
            prev.text = " / ".join(" | ".join(c.text for c in row) for row in prev.rows)
            continue
        out.append(b)
    return out
