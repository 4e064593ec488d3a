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

from .blocks import Block, Cell, DocumentModel, Loc, ReadingIssue, Span
from .builder import cand_block, text_block
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


#: Every blank line of a text piece (read-only: the layout keeps no blank line).
_BLANK = RawLine("", Loc())


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
        stripped = line.lstrip()
        if not stripped:
            raws.append(_BLANK)  # a blank line only marks a gap: never kept, never located
            continue
        first = stripped[0]
        if markdown and first in "`~" and stripped.startswith(("```", "~~~")):
            in_fence = not in_fence
        if markdown and not in_fence and first == "#":
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
        if markdown and not in_fence and first == "<":
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
    text = decode_text(data, name)
    root = _html_root(text, name)
    hidden = _drop_hidden(root)
    blocks: list[Block] = []
    _walk_html(root, blocks)
    assign_roles(blocks)
    model = DocumentModel("html", sha256, blocks=blocks, quality=[assess(text, None)])
    for line, words in hidden:
        model.issues.append(
            ReadingIssue(
                "texte-masque",
                f"texte masqué, ligne {line} : « {words[:120]} » — ce texte n'est pas "
                "affiché par le navigateur ; il n'est pas compté comme texte de la pièce.",
                Loc(line=line),
                "warning",
            )
        )
    mark_blocks(model)
    return model


#: Inline styles that hide an element (CSS 2.1 §9.2.4 ``display``, §11.2 ``visibility``).
_HIDING_STYLE_RE = re.compile(r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*hidden)\b", re.I)


def _drop_hidden(root) -> list[tuple[int | None, str]]:
    """Remove the elements the browser does not show (``hidden`` attribute, HTML §6.1;
    inline ``display: none`` or ``visibility: hidden``); their ``(line, text)``."""
    out: list[tuple[int | None, str]] = []
    dropped: set = set()
    for el in root.xpath("//*[@hidden or @style]"):  # document order: outer first
        if el.get("hidden") is None and not _HIDING_STYLE_RE.search(el.get("style") or ""):
            continue
        if el is root or any(a in dropped for a in el.iterancestors()):
            continue  # the page itself, or inside a hidden element already dropped
        words = _own_text(el)
        if words:
            out.append((el.sourceline, words))
        dropped.add(el)
        el.drop_tree()
    return out


def _html_root(text: str, name: str):
    """The parsed page, scripts, styles and templates dropped.

    Raises:
        InputError: a file lxml cannot parse at all.
    """
    from lxml import etree
    from lxml import html as lhtml

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
    return root


def _own_text(el) -> str:
    return normalize_text(" ".join(el.itertext()))


def _walk_html(el, blocks: list[Block]) -> None:
    """Blocks of the elements below ``el``, in document order; an element that is not
    a block of its own (section, div holding blocks…) is walked into."""
    for child in el:
        if not isinstance(child.tag, str):
            continue
        tag = child.tag.lower()
        loc = Loc(line=child.sourceline)
        if tag in _HTML_READERS:
            block = _HTML_READERS[tag](child, tag, loc)
        elif tag in _HTML_PARAS or (
            tag == "div"
            and not any(isinstance(c.tag, str) and c.tag.lower() in _HTML_BLOCKS for c in child)
        ):
            block = _html_para(child, tag, loc)
        else:
            _walk_html(child, blocks)
            continue
        if block is not None:
            blocks.append(block)


def _html_heading(el, tag: str, loc: Loc) -> Block | None:
    """h1–h6: the level of the tag, number and title from the text."""
    t = _own_text(el)
    if not t:
        return None
    number, title = md_heading_parts(t)
    return text_block("heading", t, loc, level=int(tag[1]), number=number, title=title)


def _html_table(el, tag: str, loc: Loc) -> Block | None:
    """A table: its rows of td/th cells (rows without text left out)."""
    rows = []
    for tr in el.iter("tr"):
        cells = [
            Cell(_own_text(td), Loc(line=td.sourceline))
            for td in tr
            if isinstance(td.tag, str) and td.tag in ("td", "th")
        ]
        if any(c.text for c in cells):
            rows.append(cells)
    if not rows:
        return None
    b = Block(
        "table",
        " / ".join(" | ".join(c.text for c in r) for r in rows),
        loc,
        [Span(c.text, c.loc) for r in rows for c in r if c.text],
    )
    b.rows = rows
    return b


def _html_item(el, tag: str, loc: Loc) -> Block | None:
    """A list item, at the depth of its enclosing ul/ol."""
    t = _own_text(el)
    if not t:
        return None
    depth = sum(1 for a in el.iterancestors() if a.tag in ("ul", "ol"))
    return text_block("list_item", t, loc, level=max(1, depth))


def _html_field(el, tag: str, loc: Loc) -> Block:
    """A form input: its label and value (a placeholder when it has no value)."""
    label = el.get("aria-label") or el.get("name") or ""
    value = el.get("value") or "".join(el.itertext())
    t = normalize_text(f"{label} : {value}".strip(" :"))
    b = Block("form_field", t or "(champ)", loc, [Span(t, loc)])
    b.roles.add("placeholder" if not value.strip() else "form_label")
    return b


def _html_para(el, tag: str, loc: Loc) -> Block | None:
    """A paragraph, or a heading when its text opens with a strong number."""
    t = _own_text(el)
    if not t:
        return None
    c = parse_heading(t)
    if c is not None and c.strong:
        return cand_block(t, loc, c)
    return text_block("paragraph", t, loc)


_HTML_READERS = {
    **{f"h{n}": _html_heading for n in range(1, 7)},
    "table": _html_table,
    "li": _html_item,
    **{t: _html_field for t in ("input", "select", "textarea")},
}
_HTML_PARAS = frozenset(("p", "dt", "dd", "pre", "caption"))
