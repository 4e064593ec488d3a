"""DOCX pieces read from ``word/document.xml`` directly (no Pandoc).

Each ``<w:p>`` is counted in document order, nested paragraphs included (table cells,
text boxes, content controls): ``Loc.para`` is that 1-based index, as in the labels.
Read per paragraph: its text (runs, tabs, breaks), the automatic number Word would show
(``numbering.xml`` counters, « 4.2 », « II. », « a) »), its style (heading styles and
outline levels give headings), whether it is wholly bold, and its tracked changes:

* text only in pending insertions (``w:ins``, ``w:moveTo``) is kept apart in
  ``Block.pending_text`` and not merged into the accepted text; a paragraph made only of
  it is a block with ``pending="insertion"``;
* pending deletions (``w:del``, ``w:delText``, ``w:moveFrom``) stay visible as
  ``pending="deletion"`` blocks (or in ``pending_text``);
* both are reported (« modification non acceptée, paragraphe N : … », « suppression en
  attente, paragraphe N : … »), as are comments (``word/comments.xml``);
* an empty content control (``w:sdt`` showing its placeholder, ``w:showingPlcHdr``) is
  empty: its placeholder text is not read, the block gets the ``placeholder`` role;
* hidden text (run property ``w:vanish``, ECMA-376 Part 1 §17.3.2.41: neither shown
  nor printed) is not the piece's text: it is reported (« texte masqué, paragraphe N :
  … ») and never counted — a clause a bidder cannot see is not in the DCE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .blocks import Block, DocumentModel, Loc
from .builder import ModelBuilder, TableBuilder, cand_block, pending_kind, text_block
from .headings import parse_heading
from .layout import CHECKBOX_RE
from .normalize import normalize_text
from .ooxml import open_package, parse_xml, read_member

__all__ = ["read_docx"]

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_TOC_STYLE_RE = re.compile(r"^(?:toc|tm|table des mati\w+|sommaire)\s*\d", re.I)
_TOC_TAB_RE = re.compile(r"\t\s*\d{1,3}\s*$")
_HEADING_STYLE_RE = re.compile(r"^(?:heading|titre|title)\s*(\d)$", re.I)


@dataclass
class _Level:
    fmt: str = "decimal"
    text: str = "%1."
    start: int = 1


@dataclass
class _Numbering:
    nums: dict[str, str] = field(default_factory=dict)  # numId -> abstractNumId
    levels: dict[str, dict[int, _Level]] = field(default_factory=dict)
    overrides: dict[tuple[str, int], int] = field(default_factory=dict)
    counters: dict[str, list[int]] = field(default_factory=dict)

    def label(self, num_id: str, ilvl: int) -> tuple[str, str]:
        """(label as Word shows it, numFmt) after advancing the counters."""
        abstract = self.nums.get(num_id)
        if abstract is None:
            return "", ""
        levels = self.levels.get(abstract, {})
        lvl = levels.get(ilvl, _Level())
        counters = self.counters.setdefault(abstract, [0] * 9)
        if counters[ilvl] == 0:
            counters[ilvl] = self.overrides.get((num_id, ilvl), lvl.start)
        else:
            counters[ilvl] += 1
        for deeper in range(ilvl + 1, 9):
            counters[deeper] = 0
        if lvl.fmt in ("bullet", "none"):
            return "", lvl.fmt

        def fmt_one(m: re.Match[str]) -> str:
            k = int(m.group(1)) - 1
            if not 0 <= k < 9:
                return ""
            v = counters[k] or levels.get(k, _Level()).start
            f = levels.get(k, _Level()).fmt
            return _format(v, f)

        return re.sub(r"%(\d)", fmt_one, lvl.text).strip(), lvl.fmt


def _format(v: int, fmt: str) -> str:
    if fmt in ("upperRoman", "lowerRoman"):
        out = ""
        for val, sym in (
            (1000, "M"),
            (900, "CM"),
            (500, "D"),
            (400, "CD"),
            (100, "C"),
            (90, "XC"),
            (50, "L"),
            (40, "XL"),
            (10, "X"),
            (9, "IX"),
            (5, "V"),
            (4, "IV"),
            (1, "I"),
        ):
            while v >= val:
                out += sym
                v -= val
        return out if fmt == "upperRoman" else out.lower()
    if fmt in ("upperLetter", "lowerLetter"):
        s = chr(ord("A") + (v - 1) % 26)
        return s if fmt == "upperLetter" else s.lower()
    return str(v)


def _numbering(root) -> _Numbering:
    n = _Numbering()
    if root is None:
        return n
    for a in root.iter(W + "abstractNum"):
        aid = a.get(W + "abstractNumId")
        levels: dict[int, _Level] = {}
        for lvl in a.iter(W + "lvl"):
            ilvl = int(lvl.get(W + "ilvl", "0"))
            fmt_el = lvl.find(W + "numFmt")
            text_el = lvl.find(W + "lvlText")
            start_el = lvl.find(W + "start")
            levels[ilvl] = _Level(
                fmt_el.get(W + "val", "decimal") if fmt_el is not None else "decimal",
                text_el.get(W + "val", "") if text_el is not None else "",
                int(start_el.get(W + "val", "1")) if start_el is not None else 1,
            )
        n.levels[aid] = levels
    for num in root.iter(W + "num"):
        nid = num.get(W + "numId")
        ab = num.find(W + "abstractNumId")
        if ab is not None:
            n.nums[nid] = ab.get(W + "val")
        for ov in num.iter(W + "lvlOverride"):
            so = ov.find(W + "startOverride")
            if so is not None:
                n.overrides[(nid, int(ov.get(W + "ilvl", "0")))] = int(so.get(W + "val", "1"))
    return n


@dataclass
class _Style:
    name: str = ""
    outline: int | None = None
    num: tuple[str, int] | None = None
    based_on: str | None = None
    bold: bool = False


def _styles(root) -> dict[str, _Style]:
    out: dict[str, _Style] = {}
    if root is None:
        return out
    for st in root.iter(W + "style"):
        sid = st.get(W + "styleId")
        s = _Style()
        name = st.find(W + "name")
        s.name = name.get(W + "val", "") if name is not None else ""
        based = st.find(W + "basedOn")
        s.based_on = based.get(W + "val") if based is not None else None
        ppr = st.find(W + "pPr")
        if ppr is not None:
            ol = ppr.find(W + "outlineLvl")
            if ol is not None:
                s.outline = int(ol.get(W + "val", "9"))
            np_ = ppr.find(W + "numPr")
            if np_ is not None:
                nid = np_.find(W + "numId")
                il = np_.find(W + "ilvl")
                if nid is not None:
                    s.num = (
                        nid.get(W + "val"),
                        int(il.get(W + "val", "0")) if il is not None else 0,
                    )
        rpr = st.find(W + "rPr")
        if rpr is not None and rpr.find(W + "b") is not None:
            b = rpr.find(W + "b")
            s.bold = b.get(W + "val", "true") not in ("0", "false")
        out[sid] = s
    # inherit outline level / numbering / bold from basedOn
    for s in out.values():
        seen = 0
        base = s.based_on
        while base and base in out and seen < 10:
            b = out[base]
            if s.outline is None and b.outline is not None:
                s.outline = b.outline
            if s.num is None and b.num is not None:
                s.num = b.num
            s.bold = s.bold or b.bold
            base = b.based_on
            seen += 1
        m = _HEADING_STYLE_RE.match(s.name.replace(" ", " "))
        if m and s.outline is None:
            s.outline = int(m.group(1)) - 1
    return out


@dataclass
class _Para:
    index: int
    text: str = ""
    inserted: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    placeholder: bool = False
    bold_chars: int = 0
    chars: int = 0
    comments: list[str] = field(default_factory=list)
    style: str | None = None
    num: tuple[str, int] | None = None
    outline: int | None = None
    checkbox: bool = False


def _run_hidden(r) -> bool:
    """Whether a run is hidden text (``w:rPr/w:vanish``, not switched off by ``w:val``)."""
    rpr = r.find(W + "rPr")
    if rpr is None:
        return False
    v = rpr.find(W + "vanish")
    return v is not None and v.get(W + "val", "true") not in ("0", "false", "off")


def _run_bold(r) -> bool:
    rpr = r.find(W + "rPr")
    if rpr is None:
        return False
    b = rpr.find(W + "b")
    return b is not None and b.get(W + "val", "true") not in ("0", "false")


def _showing_placeholder(sdt) -> bool:
    """Whether a content control shows its placeholder (``w:showingPlcHdr``): empty."""
    pr = sdt.find(W + "sdtPr")
    return pr is not None and pr.find(W + "showingPlcHdr") is not None


# elements of a paragraph read for nothing: nested paragraphs are their own blocks, the
# markup-compatibility fallback duplicates its choice, field codes are not shown
_SKIP = frozenset(
    W + t for t in ("p", "txbxContent", "pPr", "instrText", "delInstrText", "fldChar")
) | {MC + "Fallback"}
_CHANGE_STATE = {W + "ins": "ins", W + "moveTo": "ins", W + "del": "del", W + "moveFrom": "del"}
_SPACING = {W + "tab": "\t", W + "ptab": "\t", W + "br": " ", W + "cr": " "}
_CHECKBOX = "{http://schemas.microsoft.com/office/word/2010/wordml}checkbox"


class _Runs:
    """The text of one paragraph, run by run, without descending into nested paragraphs:
    accepted text, pending insertions and deletions, bold share, comments, controls."""

    def __init__(self, para: _Para) -> None:
        self.para = para
        self.accepted: list[str] = []

    def out(self, state: str) -> list[str]:
        if state == "":
            return self.accepted
        if state == "hidden":
            return self.para.hidden
        return self.para.inserted if state == "ins" else self.para.deleted

    def walk(self, el, state: str, bold: bool) -> None:
        for ch in el:
            tag = ch.tag
            if not isinstance(tag, str) or tag in _SKIP:
                continue
            if tag in _CHANGE_STATE:
                self.walk(ch, _CHANGE_STATE[tag], bold)
            elif tag == W + "sdt":
                self.control(ch, state, bold)
            elif tag == W + "r":
                if _run_hidden(ch):
                    self.walk(ch, "hidden", bold)
                else:
                    self.walk(ch, state, bold or _run_bold(ch))
            elif tag in (W + "t", W + "delText"):
                self.text(ch, state, bold)
            elif tag in _SPACING:
                self.out(state).append(_SPACING[tag])
            elif tag == W + "sym":
                self.accepted.append("☐")
            elif tag == W + "commentReference":
                self.para.comments.append(ch.get(W + "id", ""))
            else:
                self.walk(ch, state, bold)

    def control(self, sdt, state: str, bold: bool) -> None:
        """A content control: an empty one (placeholder shown) is not read."""
        if _showing_placeholder(sdt):
            self.para.placeholder = True
            return
        pr = sdt.find(W + "sdtPr")
        if pr is not None and pr.find(_CHECKBOX) is not None:
            self.para.checkbox = True
        content = sdt.find(W + "sdtContent")
        if content is not None:
            self.walk(content, state, bold)

    def text(self, t_el, state: str, bold: bool) -> None:
        t = t_el.text or ""
        if state == "hidden":
            self.para.hidden.append(t)
        elif state == "ins":
            self.para.inserted.append(t)
        elif state == "del" or t_el.tag == W + "delText":
            self.para.deleted.append(t)
        else:
            self.accepted.append(t)
            n = sum(1 for c in t if c.isalnum())
            self.para.chars += n
            if bold:
                self.para.bold_chars += n


def _collect(p, para: _Para) -> None:
    """Text of paragraph ``p`` without descending into nested paragraphs."""
    runs = _Runs(para)
    runs.walk(p, "", False)
    para.text = "".join(runs.accepted)


def _num_pr(ppr) -> tuple[str, int] | None:
    """(numId, ilvl) of a ``w:numPr`` under ``ppr``, or None."""
    np_ = ppr.find(W + "numPr")
    if np_ is None:
        return None
    nid = np_.find(W + "numId")
    il = np_.find(W + "ilvl")
    if nid is None:
        return None
    return nid.get(W + "val"), int(il.get(W + "val", "0")) if il is not None else 0


@dataclass
class _Parts:
    """The parsed parts of a DOCX package."""

    root: object
    styles: dict[str, _Style]
    numbering: _Numbering
    comments: dict[str, str]
    notes: list[tuple[str, bytes]]  # ("footnotes" | "endnotes", XML), parsed when read


def _read_parts(name: str, data: bytes) -> _Parts:
    label = "DOCX"
    zf = open_package(data, name, label, "Office Open XML")
    with zf:
        doc_raw = read_member(zf, "word/document.xml", name, label, required=True)
        raws = {
            part: read_member(zf, f"word/{part}.xml", name, label, required=False)
            for part in ("styles", "numbering", "comments", "footnotes", "endnotes")
        }
    root = parse_xml(doc_raw, "word/document.xml", name, label)

    def part_root(part: str):
        raw = raws[part]
        return parse_xml(raw, f"word/{part}.xml", name, label) if raw else None

    styles = _styles(part_root("styles"))
    numbering = _numbering(part_root("numbering"))
    comments: dict[str, str] = {}
    croot = part_root("comments")
    for c in croot.iter(W + "comment") if croot is not None else ():
        text = normalize_text(
            " ".join("".join(t.text or "" for t in p.iter(W + "t")) for p in c.iter(W + "p"))
        )
        comments[c.get(W + "id", "")] = text
    notes = [(part, raws[part]) for part in ("footnotes", "endnotes") if raws[part]]
    return _Parts(root, styles, numbering, comments, notes)


def read_docx(name: str, data: bytes, sha256: str) -> DocumentModel:
    """Read a DOCX piece into a :class:`~tasks.dossier.blocks.DocumentModel`.

    Raises:
        InputError: not an Office Open XML archive, password-protected or Word 97-2003
            file, damaged or oversized part, malformed XML.
    """
    parts = _read_parts(name, data)
    reader = _DocxReader(parts, sha256)
    body = parts.root.find(W + "body")
    if body is None:
        return reader.empty()
    reader.walk_body(body)
    for part, raw in parts.notes:  # footnotes and endnotes: after the body, by id
        reader.notes(part, parse_xml(raw, f"word/{part}.xml", name, "DOCX"))
    return reader.finish()


class _DocxReader(ModelBuilder):
    """The walk of ``word/document.xml``: paragraphs, tables, content controls, notes."""

    def __init__(self, parts: _Parts, sha256: str) -> None:
        super().__init__("docx", sha256)
        self.styles = parts.styles
        self.numbering = parts.numbering
        self.comments = parts.comments
        # index of every w:p in document order (nested counted)
        self.index = {p: i for i, p in enumerate(parts.root.iter(W + "p"), start=1)}
        self.note_refs: dict[int, int] = {}  # note id -> index of the block citing it

    def walk_body(self, el) -> None:
        for ch in el:
            tag = ch.tag
            if tag == W + "p":
                self.paragraph(ch)
                # nested paragraphs (text boxes) after the paragraph holding them
                for nested in ch.iter(W + "p"):
                    if nested is not ch and not _in_fallback(nested, ch):
                        self.paragraph(nested)
            elif tag == W + "tbl":
                self.table(ch)
            elif tag == W + "sdt":
                self.control(ch)
            elif tag in _BODY_CONTAINERS:
                self.walk_body(ch)

    def control(self, sdt) -> None:
        """A block-level content control: one placeholder block per paragraph of an
        empty one, else its content."""
        if _showing_placeholder(sdt):
            for p in sdt.iter(W + "p"):
                b = Block("form_field", "", Loc(para=self.index[p]), [])
                b.roles.add("placeholder")
                self.blocks.append(b)
            return
        content = sdt.find(W + "sdtContent")
        if content is not None:
            self.walk_body(content)

    def para_of(self, p) -> _Para:
        """A paragraph's properties (own, else its style's) and text."""
        para = _Para(self.index[p])
        ppr = p.find(W + "pPr")
        if ppr is not None:
            ps = ppr.find(W + "pStyle")
            if ps is not None:
                para.style = ps.get(W + "val")
            para.num = _num_pr(ppr)
            ol = ppr.find(W + "outlineLvl")
            if ol is not None:
                para.outline = int(ol.get(W + "val", "9"))
        st = self.styles.get(para.style or "") if para.style else self.styles.get("Normal")
        if st is not None:
            if para.num is None and st.num is not None:
                para.num = st.num
            if para.outline is None:
                para.outline = st.outline
        _collect(p, para)
        if st is not None and st.bold and para.chars:
            para.bold_chars = para.chars
        return para

    def report(self, para: _Para, loc: Loc) -> str:
        """Report the paragraph's tracked changes and comments; its pending text."""
        pending_text = self.tracked(
            loc, normalize_text("".join(para.inserted)), normalize_text("".join(para.deleted))
        )
        for cid in para.comments:
            self.comment(loc, self.comments.get(cid, ""))
        hidden = normalize_text("".join(para.hidden))
        if hidden:
            self.hidden(loc, hidden)
        return pending_text

    def paragraph(self, p) -> None:
        for ref in p.iter(W + "footnoteReference", W + "endnoteReference"):
            rid = ref.get(W + "id", "")
            if rid.isdigit():
                self.note_refs[int(rid)] = len(self.blocks)
        para = self.para_of(p)
        loc = Loc(para=para.index)
        self.raw_texts.append(para.text)
        label, fmt = ("", "")
        if para.num is not None and para.num[0] not in ("0", None):
            label, fmt = self.numbering.label(*para.num)
        text = normalize_text(para.text)
        pending_text = self.report(para, loc)
        if not text:
            self.empty_paragraph(para, loc, pending_text)
            return
        full = f"{label} {text}".strip() if label else text
        block = self.classify(para, full, text, label, fmt, loc)
        if pending_text:
            block.pending = "mixed"
            block.pending_text = pending_text
        if para.placeholder:
            block.roles.add("placeholder")
        self.blocks.append(block)

    def empty_paragraph(self, para: _Para, loc: Loc, pending_text: str) -> None:
        """A paragraph without accepted text: pending changes only, or an empty control."""
        if pending_text:
            kind = pending_kind(bool(para.inserted), bool(para.deleted))
            self.pending_only(loc, kind, pending_text, para.style)
        elif para.placeholder:
            b = Block("form_field", "", loc, [], style=para.style)
            b.roles.add("placeholder")
            self.blocks.append(b)

    def classify(self, para: _Para, full: str, text: str, label: str, fmt: str, loc: Loc):
        """The block of a paragraph with text: table-of-contents entry, heading by
        outline level, numbered heading, list item, form field or paragraph."""
        style_name = self.styles[para.style].name if para.style in self.styles else para.style
        if _TOC_STYLE_RE.match(style_name or "") or _TOC_TAB_RE.search(para.text):
            # a table-of-contents entry (« 3.1 Durée⇥5 »), whatever its outline level
            block = text_block("paragraph", full, loc, para.style)
            block.roles.add("toc")
            return block
        if para.outline is not None and para.outline < 9:
            number = label.rstrip(".)") or None
            level = para.outline + 1
            return self.outline_heading(full, text, loc, level, number, para.style, same_level=True)
        cand = parse_heading(full)
        bold = para.chars > 0 and para.bold_chars >= 0.85 * para.chars
        # a paragraph numbered by a Word list is a list item unless its number is
        # strong (« 2.1 », « Article 3 »)
        if cand is not None and (
            cand.strong if para.num is not None else self.seq.accept(cand, hint=bold)
        ):
            return cand_block(full, loc, cand, para.style)
        if para.num is not None and (label or fmt == "bullet"):
            return text_block("list_item", full, loc, para.style, level=para.num[1] + 1)
        if para.checkbox or para.placeholder or CHECKBOX_RE.search(para.text):
            block = text_block("form_field", full, loc, para.style)
            block.roles.add("form_label")
            return block
        return text_block("paragraph", full, loc, para.style)

    def table(self, tbl) -> None:
        table = TableBuilder()
        for tr in tbl.iterchildren(W + "tr"):
            for tc in tr.iterchildren(W + "tc", W + "sdt"):
                for p in tc.iter(W + "p"):
                    para = self.para_of(p)
                    self.raw_texts.append(para.text)
                    loc = Loc(para=para.index)
                    label = self.numbering.label(*para.num)[0] if para.num is not None else ""
                    text = normalize_text(f"{label} {para.text}".strip())
                    table.para(loc, text, self.report(para, loc))
                table.end_cell()
            table.end_row()
        block = table.block()
        if block is not None:
            self.blocks.append(block)

    def notes(self, part: str, nroot) -> None:
        """Footnotes or endnotes, read after the body, each located by its id."""
        tag = W + ("footnote" if part == "footnotes" else "endnote")
        for note in nroot.iter(tag):
            if note.get(W + "type") in ("separator", "continuationSeparator", "continuationNotice"):
                continue
            nid = note.get(W + "id")
            parts: list[str] = []
            for p in note.iter(W + "p"):
                np_ = _Para(0)
                _collect(p, np_)
                self.raw_texts.append(np_.text)
                if np_.text.strip():
                    parts.append(np_.text)
            text = normalize_text(" ".join(parts))
            if text:
                loc = Loc(note=int(nid) if nid and nid.lstrip("-").isdigit() else None)
                b = text_block("paragraph", text, loc)
                b.roles.add("note")
                self.blocks.append(b)

    def after_roles(self) -> None:
        for b in self.blocks:  # a note belongs to the article of the paragraph citing it
            if "note" in b.roles and b.loc.note in self.note_refs:
                cited = min(self.note_refs[b.loc.note], len(self.blocks) - 1)
                b.article = self.blocks[cited].article


_BODY_CONTAINERS = frozenset(
    W + t for t in ("customXml", "smartTag", "ins", "moveTo", "del", "moveFrom")
)


def _in_fallback(el, stop) -> bool:
    for a in el.iterancestors():
        if a is stop:
            return False
        if a.tag == MC + "Fallback":
            return True
    return False
