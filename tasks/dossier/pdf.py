"""PDF pieces: text, layout hints and extraction quality from pypdfium2.

One pass per page over PDFium's text page: the text (as ``pdftotext`` pages it: page N
here is the N-th form-feed page of ``pdftotext -layout``), and for each short line the
font size and weight of its characters (PDFium's character API), so that headings set
only in bold or in a larger size are seen; vertical gaps between lines separate
paragraphs. Per page, :func:`tasks.dossier.quality.assess` measures undecoded glyphs
(PDFium's « unicode map error »), NUL characters and words stripped of their accents.

Security: a PDF with only an owner password (permissions) is read; a user password
(the document cannot be opened) is an :class:`~tasks.errors.InputError`. pdfplumber is
not used (37 s for the 93 pages of the AMF DCE against ~1.5 s here).
"""

from __future__ import annotations

import ctypes
import itertools
from collections import Counter

from tasks.errors import InputError

from .blocks import DocumentModel, Loc, ReadingIssue
from .layout import RawLine, blocks_from_lines
from .pdflines import LayoutJob, map_page_lines
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
    """(line text, first char index, font size, bold fraction, top y) of each line."""
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
            out.append((seg, line_no, 0.0, 0.0, None))
            continue
        lead = len(seg) - len(seg.lstrip())
        first = idx + lead
        y = None
        if first < n and raw.FPDFText_GetCharBox(
            textpage,
            first,
            ctypes.byref(left),
            ctypes.byref(right),
            ctypes.byref(bottom),
            ctypes.byref(top),
        ):
            y = top.value
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
        out.append((seg, line_no, size, bold, y))
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
    pages_text, lines_info, qualities = _read_pages(pdf, name, job)
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
    model.blocks = blocks_from_lines(_raw_lines(lines_info, job.pages()), paged=True)
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


def _raw_lines(lines_info: list[list[tuple]], layout: list[list[str]] | None) -> list[RawLine]:
    """The lines of every page with their layout hints: style (bold, larger than the
    body), vertical gap before, and line number in ``pdftotext -layout`` when given."""
    # body size: the most common size of long lines, weighted by length
    weights: Counter[float] = Counter()
    for page in lines_info:
        for seg, _n, size, _b, _y in page:
            if size:
                weights[size] += len(seg)
    body = weights.most_common(1)[0][0] if weights else 0.0
    big_sizes = sorted({s for s in weights if body and s >= body * 1.12}, reverse=True)
    raws: list[RawLine] = []
    for p, page in enumerate(lines_info, start=1):
        numbers = _layout_numbers(page, layout[p - 1] if layout and p <= len(layout) else None)
        prev_y = None
        gaps = []
        ys = [y for *_x, y in page if y is not None]
        for a, b in itertools.pairwise(ys):
            if a > b:
                gaps.append(a - b)
        typical = sorted(gaps)[len(gaps) // 2] if gaps else 0.0
        blank = False
        for seg, line_no, size, bold, y in page:
            if not seg.strip():
                blank = True
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
    return raws


def _read_pages(pdf, name: str, job: LayoutJob) -> tuple[list[str], list[list[tuple]], list]:
    """Text, lines (with font size, weight and position) and quality of every page.

    Raises:
        InputError: a damaged page.
    """
    import pypdfium2 as pdfium  # lazy
    import pypdfium2.raw as raw

    pages_text: list[str] = []
    lines_info: list[list[tuple]] = []
    qualities = []
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
    return pages_text, lines_info, qualities
