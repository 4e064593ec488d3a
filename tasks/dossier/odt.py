"""ODT pieces read from ``content.xml`` directly (no Pandoc).

Each ``text:p``/``text:h`` element is counted in document order (``Loc.para``, 1-based;
a footnote's paragraphs come after the paragraph holding the note, as in the labels).
``text:h`` gives headings (``text:outline-level``; the rendered number from
``text:number`` when present); list items, tables (rows × cells) and other paragraphs
follow; numbered headings written as text are recognised like in every format.

Tracked changes (``text:tracked-changes``): text between ``text:change-start`` and
``text:change-end`` of an insertion is pending (kept in ``Block.pending_text``, not
merged); the content of a pending deletion (``text:deletion``) is kept visible as a
``pending="deletion"`` block at the place of its ``text:change`` mark; both are reported,
as are comments (``office:annotation``), whose paragraphs are not document text.

Hidden text — a ``text:span`` whose automatic style has ``text:display="none"``
(OpenDocument 1.3 §20.374), or a ``text:hidden-paragraph`` set ``text:is-hidden`` — is
not the piece's text: it is reported (« texte masqué ») and never counted.
"""

from __future__ import annotations

from .blocks import Block, DocumentModel, Loc
from .builder import ModelBuilder, TableBuilder, cand_block, pending_kind, text_block
from .headings import parse_heading
from .normalize import normalize_text
from .ooxml import open_package, parse_xml, read_member

__all__ = ["read_odt"]

TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
DRAW = "{urn:oasis:names:tc:opendocument:xmlns:drawing:1.0}"
STYLE = "{urn:oasis:names:tc:opendocument:xmlns:style:1.0}"
_PARA_TAGS = (TEXT + "p", TEXT + "h")


_SKIPPED = frozenset(_PARA_TAGS) | {OFFICE + "annotation-end", DRAW + "frame"}


def read_odt(name: str, data: bytes, sha256: str) -> DocumentModel:
    """Read an ODT piece into a :class:`~tasks.dossier.blocks.DocumentModel`.

    Raises:
        InputError: not an OpenDocument archive, encrypted or damaged part, malformed XML.
    """
    root = parse_xml(_content(name, data), "content.xml", name, "ODT")
    reader = _OdtReader(root, sha256)
    reader.hidden_styles = _hidden_styles(root)
    body = root.find(f"{OFFICE}body/{OFFICE}text")
    if body is None:
        return reader.empty()
    reader.changes = _tracked_changes(body, reader.index)
    reader.walk(body)
    return reader.finish()


def _hidden_styles(root) -> frozenset[str]:
    """Names of the automatic text styles of ``content.xml`` that hide their text."""
    auto = root.find(OFFICE + "automatic-styles")
    if auto is None:
        return frozenset()
    return frozenset(
        st.get(STYLE + "name", "")
        for st in auto.iterchildren(STYLE + "style")
        if any(
            tp.get(TEXT + "display") == "none" for tp in st.iterchildren(STYLE + "text-properties")
        )
    )


def _content(name: str, data: bytes) -> bytes:
    """``content.xml`` of an ODT package (refused when encrypted)."""
    label = "ODT"
    zf = open_package(data, name, label, "OpenDocument")
    with zf:
        manifest = read_member(zf, "META-INF/manifest.xml", name, label, required=False)
        if manifest and b"encryption-data" in manifest:
            from tasks.errors import InputError

            raise InputError(
                "fichier ODT chiffré (protégé par mot de passe) : enregistrez-le sans mot "
                "de passe.",
                name,
            )
        return read_member(zf, "content.xml", name, label, required=True)


def _tracked_changes(body, index: dict) -> dict[str, tuple[str, list[tuple[str, int]]]]:
    """Tracked changes by id: (kind, deleted paragraphs' text and index)."""
    changes: dict[str, tuple[str, list[tuple[str, int]]]] = {}
    tc = body.find(TEXT + "tracked-changes")
    if tc is None:
        return changes
    for region in tc.iter(TEXT + "changed-region"):
        cid = region.get(TEXT + "id") or region.get("{http://www.w3.org/XML/1998/namespace}id")
        for kind in ("insertion", "deletion", "format-change"):
            el = region.find(TEXT + kind)
            if el is not None:
                deleted = (
                    [("".join(p.itertext()), index[p]) for p in el.iter(*_PARA_TAGS)]
                    if kind == "deletion"
                    else []
                )
                changes[cid or ""] = (kind, deleted)
    return changes


class _ParaText:
    """The text of one ``text:p``/``text:h``, without its nested paragraphs: accepted
    text, pending insertions (between change marks) and deletions; comments reported."""

    def __init__(self, reader: _OdtReader, loc: Loc) -> None:
        self.reader = reader
        self.loc = loc
        self.accepted: list[str] = []
        self.inserted: list[str] = []
        self.deleted: list[str] = []
        self.hidden: list[str] = []
        self.hiding = 0  # depth of hidden spans around the text being read
        self.open: set[str] = set()  # insertions whose change-start was met

    def add(self, t: str) -> None:
        if self.hiding:
            self.hidden.append(t)
        else:
            (self.inserted if self.open else self.accepted).append(t)

    def walk(self, el) -> None:
        if el.text:
            self.add(el.text)
        for ch in el:
            tag = ch.tag
            if not isinstance(tag, str):
                continue
            if tag not in _SKIPPED:
                self.element(ch, tag)
            if ch.tail:
                self.add(ch.tail)

    def element(self, ch, tag: str) -> None:
        if tag == TEXT + "note":
            cit = ch.find(TEXT + "note-citation")
            if cit is not None and cit.text:
                self.add(cit.text)
        elif tag == OFFICE + "annotation":
            text = normalize_text(" ".join("".join(x.itertext()) for x in ch.iter(TEXT + "p")))
            self.reader.comment(self.loc, text)
        elif tag == TEXT + "s":
            self.add(" " * int(ch.get(TEXT + "c", "1") or 1))
        elif tag in (TEXT + "tab", TEXT + "line-break"):
            self.add(" ")
        elif tag == TEXT + "change-start":
            cid = ch.get(TEXT + "change-id", "")
            if self.reader.changes.get(cid, ("",))[0] == "insertion":
                self.open.add(cid)
        elif tag == TEXT + "change-end":
            self.open.discard(ch.get(TEXT + "change-id", ""))
        elif tag == TEXT + "change":
            kind, dels = self.reader.changes.get(ch.get(TEXT + "change-id", ""), ("", []))
            if kind == "deletion":
                self.deleted.extend(t for t, _i in dels)
        elif tag == TEXT + "span" and ch.get(TEXT + "style-name") in self.reader.hidden_styles:
            self.hiding += 1
            self.walk(ch)
            self.hiding -= 1
        elif tag == TEXT + "hidden-paragraph":
            if ch.get(TEXT + "is-hidden") == "true":
                self.hiding += 1  # the whole paragraph from here on
        else:
            self.walk(ch)


class _OdtReader(ModelBuilder):
    """The walk of ``content.xml``: paragraphs, headings, lists, tables."""

    def __init__(self, root, sha256: str) -> None:
        super().__init__("odt", sha256)
        self.index = {p: i for i, p in enumerate(root.iter(*_PARA_TAGS), start=1)}
        self.changes: dict[str, tuple[str, list[tuple[str, int]]]] = {}
        self.hidden_styles: frozenset[str] = frozenset()

    def para_text(self, p, loc: Loc) -> _ParaText:
        text = _ParaText(self, loc)
        text.walk(p)
        self.raw_texts.append("".join(text.accepted))
        return text

    def walk(self, el, in_list: int = 0) -> None:
        for ch in el:
            tag = ch.tag
            if not isinstance(tag, str) or tag == TEXT + "tracked-changes":
                continue
            if tag in _PARA_TAGS:
                self.paragraph(ch, in_list)
                for nested in ch.iter(*_PARA_TAGS):
                    if nested is not ch and not any(
                        a.tag == OFFICE + "annotation" for a in nested.iterancestors()
                    ):
                        self.paragraph(nested)
            elif tag == TABLE + "table":
                self.table(ch)
            elif tag == TEXT + "list":
                self.walk(ch, in_list + 1)
            else:
                self.walk(ch, in_list)

    def paragraph(self, p, in_list: int = 0) -> None:
        loc = Loc(para=self.index[p])
        read = self.para_text(p, loc)
        text = normalize_text("".join(read.accepted))
        ins_t = normalize_text("".join(read.inserted))
        del_t = normalize_text(" ".join(read.deleted))
        pending_text = self.tracked(loc, ins_t, del_t)
        hidden = normalize_text("".join(read.hidden))
        if hidden:
            self.hidden(loc, hidden)
        if not text:
            if pending_text:
                self.pending_only(loc, pending_kind(bool(ins_t), bool(del_t)), pending_text)
            return
        style = p.get(TEXT + "style-name")
        if p.tag == TEXT + "h":
            b = self.heading(p, text, loc, style)
        else:
            cand = parse_heading(text)
            if cand is not None and self.seq.accept(cand):
                b = cand_block(text, loc, cand, style)
            elif in_list:
                b = text_block("list_item", text, loc, style, level=in_list)
            else:
                b = text_block("paragraph", text, loc, style)
        if pending_text:
            b.pending = "mixed"
            b.pending_text = pending_text
        self.blocks.append(b)

    def heading(self, h, text: str, loc: Loc, style: str | None) -> Block:
        """A ``text:h``: its outline level; its number as rendered (``text:number``)
        unless the text carries one."""
        level = int(h.get(TEXT + "outline-level", "1") or 1)
        num_el = h.find(TEXT + "number")
        number = (
            normalize_text(num_el.text).rstrip(".)") if num_el is not None and num_el.text else None
        )
        return self.outline_heading(text, text, loc, level, number, style, same_level=False)

    def table(self, tbl) -> None:
        table = TableBuilder()
        for tr in tbl.iter(TABLE + "table-row"):
            for td in tr:
                if td.tag not in (TABLE + "table-cell", TABLE + "covered-table-cell"):
                    continue
                for p in td.iter(*_PARA_TAGS):
                    loc = Loc(para=self.index[p])
                    table.para(loc, normalize_text("".join(self.para_text(p, loc).accepted)))
                table.end_cell()
            table.end_row()
        block = table.block()
        if block is not None:
            self.blocks.append(block)
