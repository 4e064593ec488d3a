"""PDF pieces: text, layout hints and extraction quality from pypdfium2.

One pass per page over PDFium's text page: the text (as ``pdftotext`` pages it: page N
here is the N-th form-feed page of ``pdftotext -layout``), and for each short line the
font size and weight of its characters (PDFium's character API), so that headings set
only in bold or in a larger size are seen; vertical gaps between lines separate
paragraphs. Ruled tables (:mod:`tasks.dossier.pdftables`) and tables without rules
(:mod:`tasks.dossier.pdfgrid`: aligned text, shaded cells) become table blocks: their
lines give way to one table of rows and cells, each cell located at the ``pdftotext
-layout`` line of the first line read inside it; a table continued on the next page is
one block, its repeated header dropped (:mod:`tasks.dossier.pdfflow`). Per page,
:func:`tasks.dossier.quality.assess` measures undecoded glyphs (PDFium's « unicode map
error »), NUL characters and words stripped of their accents.

Security: a PDF with only an owner password (permissions) is read; a user password
(the document cannot be opened) is an :class:`~tasks.errors.InputError`. pdfplumber is
not used (37 s for the 93 pages of the AMF DCE against ~1.5 s here).
"""

from __future__ import annotations

import ctypes
import itertools
from collections import Counter

from tasks.errors import InputError

from .blocks import Cell, DocumentModel, Loc, ReadingIssue
from .layout import RawLine, blocks_from_lines
from .normalize import normalize_text
from .pdfflow import carried_columns, column_edges, merge_continued_tables
from .pdfgrid import page_grid_tables, trim_page_furniture
from .pdflines import LayoutJob, map_page_lines
from .pdftables import PdfTable, page_tables
from .quality import assess, mark_blocks

__all__ = ["read_pdf"]

_BOLD_WEIGHT = 600
_HEADING_MAX_CHARS = 140


def _font_bold(raw, textpage, index: int, buf) -> bool:
    w = raw.FPDFText_GetFontWeight(textpage, index)
    if w >= _BOLD_WEIGHT:
        return True
    flags = ctypes.c_int(0)
    n = raw.FPDFText_GetFontInfo(textpage, index, buf, len(buf), ctypes.byref(flags))
    if n:
        name = bytes(buf[: max(0, n - 1)]).decode("latin-1", "replace").lower()
        if any(k in name for k in ("bold", "black", "heavy", "semibold", "demi", "gras")):
            return True
    return bool(flags.value & (1 << 18))  # ForceBold


def _page_lines(raw, textpage, text: str, page_no: int):
    """(line text, line number, font size, bold fraction, top y, left x) of each line
    (positions of its first character, PDF points)."""
    n = len(text)
    out = []
    buf = (ctypes.c_char * 128)()
    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    start = 0
    for line_no, segment in enumerate(text.split("\n"), start=1):
        seg = segment.rstrip("\r")
        idx = start
        start += len(segment) + 1
        stripped = seg.strip()
        if not stripped:
            out.append((seg, line_no, 0.0, 0.0, None, None))
            continue
        lead = len(seg) - len(seg.lstrip())
        first = idx + lead
        y = x = None
        if first < n and raw.FPDFText_GetCharBox(
            textpage,
            first,
            ctypes.byref(left),
            ctypes.byref(right),
            ctypes.byref(bottom),
            ctypes.byref(top),
        ):
            y, x = top.value, left.value
        size = 0.0
        bold = 0.0
        if len(stripped) <= _HEADING_MAX_CHARS:
            sizes = []
            nb = 0
            letters = 0
            # sample at most 8 characters of the line
            step = max(1, len(seg) // 8)
            for j in range(lead, len(seg), step):
                ch = seg[j]
                if not ch.isalnum() or idx + j >= n:
                    continue
                letters += 1
                sizes.append(round(raw.FPDFText_GetFontSize(textpage, idx + j), 1))
                if _font_bold(raw, textpage, idx + j, buf):
                    nb += 1
            if sizes:
                size = Counter(sizes).most_common(1)[0][0]
                bold = nb / letters
        out.append((seg, line_no, size, bold, y, x))
    return out


def read_pdf(name: str, data: bytes, sha256: str) -> DocumentModel:
    """Read a PDF piece into a :class:`~tasks.dossier.blocks.DocumentModel`.

    Raises:
        InputError: user password (the PDF cannot be opened), damaged file or page.
    """
    import pypdfium2 as pdfium  # lazy

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise InputError(
                "PDF chiffré (protégé par mot de passe) : un mot de passe d'ouverture empêche de le lire ; "
                "déposez une version sans mot de passe.",
                name,
            ) from None
        raise InputError(
            "PDF illisible (fichier endommagé ou qui n'est pas un PDF) : exportez de "
            "nouveau le document en PDF.",
            name,
        ) from None
    job = LayoutJob(data)  # pdftotext's line numbers, computed beside PDFium's reading
    pages_text, lines_info, qualities, tables = _read_pages(pdf, name, job)
    model = DocumentModel("pdf", sha256, pages=len(pages_text), quality=qualities)
    visible = sum(len(t) - t.count(" ") - t.count("\r") - t.count("\n") for t in pages_text)
    if not pages_text or visible < 20 * len(pages_text):
        model.has_text_layer = False
        model.issues.append(
            ReadingIssue(
                "sans-couche-texte",
                "PDF sans couche texte (document numérisé) : rien ne peut y être vérifié ; "
                "demandez le document source ou un PDF issu du traitement de texte.",
                Loc(page=1),
                "error",
            )
        )
        job.cancel()
        return model
    edges: dict[int, list[float]] = {}
    raws = _raw_lines(lines_info, job.pages(), tables, edges)
    model.blocks = merge_continued_tables(blocks_from_lines(raws, paged=True), edges)
    mark_blocks(model)
    return model


def _layout_numbers(page: list[tuple], layout: list[str] | None) -> dict[int, int]:
    """PDFium line number → line of ``pdftotext -layout`` on the page (see
    :mod:`tasks.dossier.pdflines`); a line not found follows the previous one found."""
    if layout is None:
        return {}
    kept = [(seg, line_no) for seg, line_no, *_rest in page if seg.strip()]
    found = map_page_lines([seg for seg, _n in kept], layout)
    out: dict[int, int] = {}
    prev = 0
    for (_seg, line_no), got in zip(kept, found, strict=True):
        if got is None:
            got = prev + 1 if prev else line_no
        out[line_no] = prev = got
    return out


def _body_sizes(lines_info: list[list[tuple]]) -> tuple[float, list[float]]:
    """(body size: the most common size, weighted by line length; heading sizes larger
    than the body by 12 % or more, largest first)."""
    weights: Counter[float] = Counter()
    for page in lines_info:
        for seg, _n, size, _b, _y, _x in page:
            if size:
                weights[size] += len(seg)
    body = weights.most_common(1)[0][0] if weights else 0.0
    return body, sorted({s for s in weights if body and s >= body * 1.12}, reverse=True)


def _typical_gap(page: list[tuple]) -> float:
    """Median vertical step between consecutive lines of a page (points)."""
    ys = [line[4] for line in page if line[4] is not None]
    gaps = sorted(a - b for a, b in itertools.pairwise(ys) if a > b)
    return gaps[len(gaps) // 2] if gaps else 0.0


def _table_line(table: PdfTable, inside: list[tuple], numbers: dict[int, int], p: int) -> RawLine:
    """The :class:`RawLine` standing for a table (ruled or not): its cells located at the
    ``pdftotext -layout`` line of the first PDFium line read inside each cell."""
    first = Loc(page=p, line=numbers.get(inside[0][0], inside[0][0])) if inside else Loc(page=p)
    rows: list[list[Cell]] = []
    for row in table.rows:
        cells = []
        for c in row:
            # the first line read inside the cell, else in its row (a row read as one line)
            line_no = next((ln for ln, x, y in inside if c.holds(x, y)), None) or next(
                (ln for ln, _x, y in inside if c.holds(c.left, y)), None
            )
            loc = Loc(page=p, line=numbers.get(line_no, line_no)) if line_no else first
            cells.append(Cell(normalize_text(c.text), loc))
        rows.append(cells)
    text = " / ".join(" | ".join(c.text for c in r if c.text) for r in rows)
    return RawLine(text, rows[0][0].loc if rows else first, gap_before=True, table=rows)


def _raw_lines(
    lines_info: list[list[tuple]],
    layout: list[list[str]] | None,
    tables: list[list[PdfTable]] | None = None,
    edges: dict[int, list[float]] | None = None,
) -> list[RawLine]:
    """The lines of every page with their layout hints: style (bold, larger than the
    body), vertical gap before, and line number in ``pdftotext -layout`` when given.
    The lines inside a table of ``tables`` give way to one table line (its rows
    and cells), where the table's first line was."""
    body, big_sizes = _body_sizes(lines_info)
    raws: list[RawLine] = []
    for p, page in enumerate(lines_info, start=1):
        numbers = _layout_numbers(page, layout[p - 1] if layout and p <= len(layout) else None)
        page_tables_ = tables[p - 1] if tables and p <= len(tables) else []
        inside: dict[int, list[tuple]] = {i: [] for i in range(len(page_tables_))}
        at: dict[int, int] = {}  # table → index in raws of its first line
        typical = _typical_gap(page)
        prev_y = None
        blank = False
        for seg, line_no, size, bold, y, x in page:
            if not seg.strip():
                blank = True
                continue
            held = next(
                (i for i, t in enumerate(page_tables_) if x is not None and t.holds(x, y)), None
            )
            if held is not None:
                inside[held].append((line_no, x, y))
                at.setdefault(held, len(raws))
                prev_y, blank = y, True
                continue
            gap = blank
            if prev_y is not None and y is not None and typical and prev_y - y > typical * 1.6:
                gap = True
            prev_y = y if y is not None else prev_y
            blank = False
            larger = bool(body) and size >= body * 1.12
            styled = bold >= 0.85 or larger
            rank = big_sizes.index(size) + 1 if larger and size in big_sizes else 0
            raws.append(
                RawLine(
                    seg,
                    Loc(page=p, line=numbers.get(line_no, line_no)),
                    hint=styled,
                    styled=styled,
                    gap_before=gap,
                    size_rank=rank if rank <= 3 else 0,
                )
            )
        # insert the tables where their first line was, last first (indexes hold)
        for i in sorted(inside, key=lambda i: at.get(i, len(raws)), reverse=True):
            line = _table_line(page_tables_[i], inside[i], numbers, p)
            if edges is not None and line.table is not None:
                edges[id(line.table)] = column_edges(page_tables_[i])
            raws.insert(at.get(i, len(raws)), line)
    return raws


def _read_pages(
    pdf, name: str, job: LayoutJob
) -> tuple[list[str], list[list[tuple]], list, list[list[PdfTable]]]:
    """Text, lines (with font size, weight and position), quality and tables of every
    page (ruled: :func:`~tasks.dossier.pdftables.page_tables`; without rules:
    :func:`~tasks.dossier.pdfgrid.page_grid_tables`), top first.

    Raises:
        InputError: a damaged page.
    """
    import pypdfium2 as pdfium  # lazy
    import pypdfium2.raw as raw

    pages_text: list[str] = []
    lines_info: list[list[tuple]] = []
    qualities = []
    tables: list[list[PdfTable]] = []
    carry = None  # columns of a table ending the previous page
    try:
        for i in range(len(pdf)):
            page = pdf[i]
            try:
                textpage = page.get_textpage()
                try:
                    text = textpage.get_text_range()
                    count = raw.FPDFText_CountChars(textpage)
                    unmapped = sum(
                        1 for c in range(count) if raw.FPDFText_HasUnicodeMapError(textpage, c)
                    )
                    qualities.append(assess(text, i + 1, unmapped=unmapped))
                    pages_text.append(text)
                    lines_info.append(_page_lines(raw, textpage, text, i + 1))
                    ruled = page_tables(page, textpage)
                    grid = page_grid_tables(raw, textpage, ruled, carry)
                    tables.append(sorted(ruled + grid, key=lambda t: -t.top) if grid else ruled)
                    carry = carried_columns(tables[-1], lines_info[-1])
                finally:
                    textpage.close()
            finally:
                page.close()
    except pdfium.PdfiumError:
        job.cancel()
        raise InputError(
            "PDF illisible (page endommagée) : exportez de nouveau le document en PDF.", name
        ) from None
    finally:
        pdf.close()
    trim_page_furniture(tables, lines_info)
    return pages_text, lines_info, qualities, tables
