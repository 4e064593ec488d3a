"""``cahier import`` (:mod:`tasks.drafting.importer`): a legacy piece as Markdown.

DOCX/ODT through Pandoc (``--sandbox``) with numbered headings restored; PDF and text
through the lines of :func:`tasks.dossier.reader.read_piece` with ``## Page N`` markers.
Jinja2 and fenced-div syntax is neutralised: an imported document is text, never a template.
"""

from __future__ import annotations

import re
from pathlib import Path

from tasks.dossier.document import PieceText
from tasks.dossier.normalize import normalize_text
from tasks.dossier.reader import detect_heading, read_piece
from tasks.errors import InputError

__all__ = ["to_markdown"]


_JINJA = re.compile(r"\{(?=[{%#])")


def _safe(text: str) -> str:
    """Neutralise Jinja2 delimiters, fenced divs and a leading « # » of body text."""
    text = _JINJA.sub("{\u200b", text)
    if text.lstrip().startswith(":::"):
        text = "\\" + text.lstrip()
    if text.startswith("#"):
        text = "\\" + text
    return text


def _from_lines(piece: PieceText) -> str:
    out: list[str] = []
    page = None
    heading_at = {s.line_index: s for s in piece.sections}
    for i, line in enumerate(piece.lines):
        if line.page is not None and line.page != page:
            page = line.page
            out += ["", f"## Page {page}", ""]
        sec = heading_at.get(i)
        if sec is not None:
            level = min(sec.level + 1, 6) if sec.number else max(2, min(sec.level, 6))
            out += ["", "#" * level + " " + _safe(line.text).lstrip("\\"), ""]
        else:
            out.append(_safe(line.text))
    return "\n".join(out).strip() + "\n"


_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)(\{[^}]*\})?")


def _restore_headings(markdown: str) -> str:
    """Numbered headings that Pandoc left as paragraphs become Markdown headings."""
    out: list[str] = []
    in_code = False
    for raw in markdown.splitlines():
        line = _IMAGE.sub("", raw).rstrip()
        if line.lstrip().startswith("```"):
            in_code = not in_code
        if in_code or not line.strip() or _MD_HEADING.match(line) or line.lstrip()[:1] in "|+:>-*":
            out.append(_safe(line) if not _MD_HEADING.match(line) else line)
            continue
        plain = normalize_text(re.sub(r"\*\*|__|\\", "", line))
        h = detect_heading(plain) if plain else None
        if h is not None and h[0]:
            out += ["", "#" * min(h[2] + 1, 6) + " " + _safe(plain), ""]
        else:
            out.append(_safe(line))
    text = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _pandoc_markdown(data: bytes, fmt: str, name: str) -> str:
    import pypandoc

    try:
        return pypandoc.convert_text(
            data,
            "markdown-raw_html-native_divs-native_spans-fenced_divs-bracketed_spans"
            "-header_attributes-link_attributes-smart",
            format=fmt,
            extra_args=["--sandbox", "--wrap=none"],
        )
    except (RuntimeError, OSError, ValueError):
        # Pandoc's own text is English (« couldn't parse docx file: DocxError »)
        raise InputError(
            f"conversion impossible : Pandoc ne parvient pas à lire ce fichier {fmt.upper()} "
            "(document endommagé, incomplet ou produit par un outil non conforme) ; "
            "ouvrez-le et réenregistrez-le depuis votre traitement de texte, ou déposez-en "
            "un export PDF.",
            name,
        ) from None


def to_markdown(name: str, data: bytes) -> tuple[str, PieceText]:
    """One legacy piece as Markdown, and the piece as the checker reads the original.

    Raises:
        InputError: an unreadable piece (see :func:`tasks.dossier.reader.read_piece`), a scanned
            PDF without text layer.
    """
    ext = Path(name).suffix.lower()
    if ext in (".docx", ".odt"):
        piece = read_piece(name, data)  # the reader's checks first (password, not an archive…)
        return _restore_headings(_pandoc_markdown(data, ext.lstrip("."), name)), piece
    piece = read_piece(name, data)
    if not piece.has_text_layer:
        raise InputError(
            "pas de couche texte : ce PDF est une image (document numérisé) ; faites-le passer "
            "par une reconnaissance de caractères (OCR) avant l'import.",
            name,
        )
    return _from_lines(piece), piece
