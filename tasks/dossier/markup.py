"""Markdown, plain-text and HTML pieces read into blocks.

Markdown / text: one :class:`~tasks.dossier.blocks.Span` per physical line of the user's
own file (``Loc.line``), « # » headings, numbered headings in any French style, list
items, pipe tables; ``## Page N`` markers of PDF conversions give ``Loc.page``.
HTML: parsed with lxml (no network, no entities resolved); h1–h6, p, li, table rows and
cells, form inputs; ``Loc.line`` is the line of the element's start tag.
"""

from __future__ import annotations

import html
import re

from tasks.errors import InputError

from .blocks import Block, Cell, DocumentModel, Loc, Span
from .headings import assign_roles, parse_heading
from .layout import RawLine, blocks_from_lines, md_heading_parts
from .normalize import normalize_text
from .quality import assess, mark_blocks

__all__ = ["decode_text", "read_html", "read_text"]

_MD_HEADING_RE = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_PAGE_RE = re.compile(r"^\s{0,3}#{1,6}\s*page\s+(\d{1,5})\s*$", re.I)
_MD_ATTR_RE = re.compile(r"\s*\{[^}]*\}\s*$")
# A raw HTML heading on one line of a Markdown file (CommonMark HTML block), as pages
# converted from a web site keep them: « <h2 id="…">3. Des exemples…</h2> ».
_MD_HTML_HEADING_RE = re.compile(r"^\s{0,3}<h([1-6])\b[^>]*>(.*?)</h\1>\s*$", re.I)
_TAG_RE = re.compile(r"<[^>]+>")


def decode_text(data: bytes, name: str) -> str:
    """Text of a Markdown/text piece: UTF-16 with BOM, UTF-8, else cp1252/Latin-1.

    Raises:
        InputError: binary content (NUL bytes) in a text piece.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:65536]:
        raise InputError(
            "fichier binaire : un texte (Markdown ou .txt) est attendu ; vérifiez "
            "l'extension du fichier ou exportez le document au bon format.",
            name,
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_text(name: str, data: bytes, sha256: str, fmt: str) -> DocumentModel:
    """Read a Markdown (``fmt="md"``) or text (``"txt"``) piece.

    Raises:
        InputError: binary content.
    """
    text = decode_text(data, name)
    markdown = fmt == "md"
    raws: list[RawLine] = []
    page: int | None = None
    paged = False
    in_fence = False
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            raws.append(RawLine("", Loc(page=page, line=n)))
            continue
        if markdown and line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        if markdown and not in_fence and line.lstrip().startswith("#"):
            pm = _MD_PAGE_RE.match(line)
            if pm:
                page = int(pm.group(1))
                paged = True
                continue
            hm = _MD_HEADING_RE.match(line)
            if hm and hm.group(2).strip():
                title = _MD_ATTR_RE.sub("", hm.group(2))
                raws.append(RawLine(title, Loc(page=page, line=n), md_level=len(hm.group(1))))
                continue
        if markdown and not in_fence and line.lstrip().startswith("<"):
            hm = _MD_HTML_HEADING_RE.match(line)
            title = html.unescape(_TAG_RE.sub("", hm.group(2))).strip() if hm else ""
            if title:
                raws.append(RawLine(title, Loc(page=page, line=n), md_level=int(hm.group(1))))
                continue
        raws.append(RawLine(line, Loc(page=page, line=n)))
    model = DocumentModel(fmt, sha256, raw_source=text)
    model.blocks = blocks_from_lines(raws, markdown=markdown, paged=paged)
    model.quality = [assess(text, None)]
    mark_blocks(model)
    return model


_HTML_BLOCKS = {
    "p",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "dt",
    "dd",
    "blockquote",
    "pre",
    "caption",
    "input",
    "select",
    "textarea",
    "div",
}


def read_html(name: str, data: bytes, sha256: str) -> DocumentModel:
    """Read an HTML piece (lxml, entities not resolved, no network).

    Raises:
        InputError: a file lxml cannot parse at all.
    """
    from lxml import etree
    from lxml import html as lhtml

    text = decode_text(data, name)
    parser = lhtml.HTMLParser(
        encoding="utf-8", no_network=True, remove_comments=True, remove_pis=True
    )
    try:
        root = lhtml.document_fromstring(text.encode("utf-8"), parser=parser)
    except (etree.ParserError, ValueError):
        raise InputError(
            "fichier HTML illisible : réenregistrez la page depuis le navigateur ou l'éditeur.",
            name,
        ) from None
    for bad in root.xpath("//script|//style|//noscript|//template"):
        bad.drop_tree()
    blocks: list[Block] = []

    def own_text(el) -> str:
        return normalize_text(" ".join(el.itertext()))

    def walk(el) -> None:
        for child in el:
            if not isinstance(child.tag, str):
                continue
            tag = child.tag.lower()
            loc = Loc(line=child.sourceline)
            if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
                t = own_text(child)
                if t:
                    number, title = md_heading_parts(t)
                    blocks.append(
                        Block(
                            "heading",
                            t,
                            loc,
                            [Span(t, loc)],
                            level=int(tag[1]),
                            number=number,
                            title=title,
                        )
                    )
            elif tag == "table":
                rows = []
                for tr in child.iter("tr"):
                    cells = [
                        Cell(own_text(td), Loc(line=td.sourceline))
                        for td in tr
                        if isinstance(td.tag, str) and td.tag in ("td", "th")
                    ]
                    if any(c.text for c in cells):
                        rows.append(cells)
                if rows:
                    b = Block(
                        "table",
                        " / ".join(" | ".join(c.text for c in r) for r in rows),
                        loc,
                        [Span(c.text, c.loc) for r in rows for c in r if c.text],
                    )
                    b.rows = rows
                    blocks.append(b)
            elif tag == "li":
                t = own_text(child)
                if t:
                    depth = sum(1 for a in child.iterancestors() if a.tag in ("ul", "ol"))
                    blocks.append(Block("list_item", t, loc, [Span(t, loc)], level=max(1, depth)))
            elif tag in ("input", "select", "textarea"):
                label = child.get("aria-label") or child.get("name") or ""
                value = child.get("value") or "".join(child.itertext())
                t = normalize_text(f"{label} : {value}".strip(" :"))
                b = Block("form_field", t or "(champ)", loc, [Span(t, loc)])
                b.roles.add("placeholder" if not value.strip() else "form_label")
                blocks.append(b)
            elif tag in ("p", "dt", "dd", "pre", "caption") or (
                tag == "div"
                and not any(isinstance(c.tag, str) and c.tag.lower() in _HTML_BLOCKS for c in child)
            ):
                t = own_text(child)
                if t:
                    c = parse_heading(t)
                    if c is not None and c.strong:
                        blocks.append(
                            Block(
                                "heading",
                                t,
                                loc,
                                [Span(t, loc)],
                                level=c.level,
                                number=c.number,
                                title=c.title,
                            )
                        )
                    else:
                        blocks.append(Block("paragraph", t, loc, [Span(t, loc)]))
            else:
                walk(child)

    walk(root)
    assign_roles(blocks)
    model = DocumentModel("html", sha256, blocks=blocks, quality=[assess(text, None)])
    mark_blocks(model)
    return model
