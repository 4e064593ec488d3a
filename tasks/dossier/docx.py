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
  empty: its placeholder text is not read, the block gets the ``placeholder`` role.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .blocks import Block, Cell, DocumentModel, Loc, ReadingIssue, Span
from .headings import HeadingSequencer, assign_roles, parse_heading
from .layout import CHECKBOX_RE
from .normalize import normalize_text
from .ooxml import open_package, parse_xml, read_member
from .quality import assess, mark_blocks

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
    placeholder: bool = False
    bold_chars: int = 0
    chars: int = 0
    comments: list[str] = field(default_factory=list)
    style: str | None = None
    num: tuple[str, int] | None = None
    outline: int | None = None
    checkbox: bool = False


def _collect(p, para: _Para) -> None:
    """Text of paragraph ``p`` without descending into nested paragraphs."""
    accepted: list[str] = []

    def run_bold(r) -> bool:
        rpr = r.find(W + "rPr")
        if rpr is None:
            return False
        b = rpr.find(W + "b")
        return b is not None and b.get(W + "val", "true") not in ("0", "false")

    def walk(el, state: str, bold: bool) -> None:
        for ch in el:
            tag = ch.tag
            if not isinstance(tag, str):
                continue
            if tag == W + "p" or tag == W + "txbxContent" or tag == MC + "Fallback":
                continue  # nested paragraphs are their own blocks; fallback duplicates
            if tag == W + "pPr":
                continue
            if tag in (W + "ins", W + "moveTo"):
                walk(ch, "ins", bold)
            elif tag in (W + "del", W + "moveFrom"):
                walk(ch, "del", bold)
            elif tag == W + "sdt":
                pr = ch.find(W + "sdtPr")
                if pr is not None and pr.find(W + "showingPlcHdr") is not None:
                    para.placeholder = True
                    continue
                if (
                    pr is not None
                    and pr.find("{http://schemas.microsoft.com/office/word/2010/wordml}checkbox")
                    is not None
                ):
                    para.checkbox = True
                content = ch.find(W + "sdtContent")
                if content is not None:
                    walk(content, state, bold)
            elif tag == W + "r":
                b = bold or run_bold(ch)
                walk(ch, state, b)
            elif tag in (W + "t", W + "delText"):
                t = ch.text or ""
                if state == "ins":
                    para.inserted.append(t)
                elif state == "del" or tag == W + "delText":
                    para.deleted.append(t)
                else:
                    accepted.append(t)
                    n = sum(1 for c in t if c.isalnum())
                    para.chars += n
                    if bold:
                        para.bold_chars += n
            elif tag in (W + "tab", W + "ptab"):
                (
                    accepted if state == "" else para.inserted if state == "ins" else para.deleted
                ).append("\t")
            elif tag in (W + "br", W + "cr"):
                (
                    accepted if state == "" else para.inserted if state == "ins" else para.deleted
                ).append(" ")
            elif tag == W + "sym":
                accepted.append("☐")
            elif tag == W + "commentReference":
                para.comments.append(ch.get(W + "id", ""))
            elif tag in (W + "instrText", W + "delInstrText", W + "fldChar"):
                continue
            else:
                walk(ch, state, bold)

    walk(p, "", False)
    para.text = "".join(accepted)


def read_docx(name: str, data: bytes, sha256: str) -> DocumentModel:
    """Read a DOCX piece into a :class:`~tasks.dossier.blocks.DocumentModel`.

    Raises:
        InputError: not an Office Open XML archive, password-protected or Word 97-2003
            file, damaged or oversized part, malformed XML.
    """
    label = "DOCX"
    zf = open_package(data, name, label, "Office Open XML")
    with zf:
        doc_raw = read_member(zf, "word/document.xml", name, label, required=True)
        styles_raw = read_member(zf, "word/styles.xml", name, label, required=False)
        num_raw = read_member(zf, "word/numbering.xml", name, label, required=False)
        com_raw = read_member(zf, "word/comments.xml", name, label, required=False)
        notes_raw = [
            (part, read_member(zf, f"word/{part}.xml", name, label, required=False))
            for part in ("footnotes", "endnotes")
        ]
    root = parse_xml(doc_raw, "word/document.xml", name, label)
    styles = _styles(parse_xml(styles_raw, "word/styles.xml", name, label) if styles_raw else None)
    numbering = _numbering(
        parse_xml(num_raw, "word/numbering.xml", name, label) if num_raw else None
    )
    comments: dict[str, str] = {}
    if com_raw:
        croot = parse_xml(com_raw, "word/comments.xml", name, label)
        for c in croot.iter(W + "comment"):
            text = normalize_text(
                " ".join("".join(t.text or "" for t in p.iter(W + "t")) for p in c.iter(W + "p"))
            )
            comments[c.get(W + "id", "")] = text
    model = DocumentModel("docx", sha256)
    body = root.find(W + "body")
    if body is None:
        model.quality = [assess("", None)]
        return model
    # index of every w:p in document order (nested counted)
    index: dict = {}
    for i, p in enumerate(root.iter(W + "p"), start=1):
        index[p] = i
    blocks: list[Block] = []
    seq = HeadingSequencer()
    raw_texts: list[str] = []

    def para_of(p) -> _Para:
        para = _Para(index[p])
        ppr = p.find(W + "pPr")
        if ppr is not None:
            ps = ppr.find(W + "pStyle")
            if ps is not None:
                para.style = ps.get(W + "val")
            np_ = ppr.find(W + "numPr")
            if np_ is not None:
                nid = np_.find(W + "numId")
                il = np_.find(W + "ilvl")
                if nid is not None:
                    para.num = (
                        nid.get(W + "val"),
                        int(il.get(W + "val", "0")) if il is not None else 0,
                    )
            ol = ppr.find(W + "outlineLvl")
            if ol is not None:
                para.outline = int(ol.get(W + "val", "9"))
        st = styles.get(para.style or "") if para.style else styles.get("Normal")
        if st is not None:
            if para.num is None and st.num is not None:
                para.num = st.num
            if para.outline is None:
                para.outline = st.outline
        _collect(p, para)
        if st is not None and st.bold and para.chars:
            para.bold_chars = para.chars
        return para

    def emit_pending(para: _Para, loc: Loc) -> tuple[str | None, str]:
        ins = normalize_text("".join(para.inserted))
        dele = normalize_text("".join(para.deleted))
        if ins:
            model.issues.append(
                ReadingIssue(
                    "modification-non-acceptee",
                    f"modification non acceptée, paragraphe {loc.para} : « {ins[:120]} » — "
                    "acceptez ou refusez les modifications suivies avant le contrôle ; ce texte "
                    "n'est pas compté.",
                    loc,
                    "warning",
                )
            )
        if dele:
            model.issues.append(
                ReadingIssue(
                    "suppression-en-attente",
                    f"suppression en attente, paragraphe {loc.para} : « {dele[:120]} » — "
                    "acceptez ou refusez la suppression ; le texte supprimé reste lu comme "
                    "supprimé.",
                    loc,
                    "warning",
                )
            )
        for cid in para.comments:
            model.issues.append(
                ReadingIssue(
                    "commentaire",
                    f"commentaire non résolu, paragraphe {loc.para} : « {comments.get(cid, '')[:120]} »"
                    " — traitez puis supprimez les commentaires avant publication.",
                    loc,
                    "info",
                )
            )
        pending = None
        if ins or dele:
            pending = "mixed"
        return pending, " ".join(x for x in (ins, dele) if x)

    note_refs: dict[int, int] = {}  # note id -> index of the block that cites it

    def handle_para(p) -> None:
        for ref in p.iter(W + "footnoteReference", W + "endnoteReference"):
            rid = ref.get(W + "id", "")
            if rid.isdigit():
                note_refs[int(rid)] = len(blocks)
        para = para_of(p)
        loc = Loc(para=para.index)
        raw_texts.append(para.text)
        label, fmt = ("", "")
        if para.num is not None and para.num[0] not in ("0", None):
            label, fmt = numbering.label(*para.num)
        text = normalize_text(para.text)
        pending, pending_text = emit_pending(para, loc)
        if not text:
            if pending_text:
                kind_p = (
                    "insertion"
                    if para.inserted and not para.deleted
                    else ("deletion" if para.deleted and not para.inserted else "mixed")
                )
                b = Block(
                    "paragraph",
                    "",
                    loc,
                    [],
                    pending=kind_p,
                    pending_text=pending_text,
                    style=para.style,
                )
                blocks.append(b)
            elif para.placeholder:
                b = Block("form_field", "", loc, [], style=para.style)
                b.roles.add("placeholder")
                blocks.append(b)
            return
        full = f"{label} {text}".strip() if label else text
        bold = para.chars > 0 and para.bold_chars >= 0.85 * para.chars
        block: Block
        style_name = styles[para.style].name if para.style in styles else para.style or ""
        if _TOC_STYLE_RE.match(style_name) or _TOC_TAB_RE.search(para.text):
            # a table-of-contents entry (« 3.1 Durée⇥5 »), whatever its outline level
            block = Block("paragraph", full, loc, [Span(full, loc)], style=para.style)
            block.roles.add("toc")
        elif para.outline is not None and para.outline < 9:
            cand = parse_heading(full)
            number = cand.number if cand else (label.rstrip(".)") or None)
            title = cand.title if cand else text.rstrip(" :")
            level = para.outline + 1
            block = Block(
                "heading",
                full,
                loc,
                [Span(full, loc)],
                level=level,
                number=number,
                title=title,
                style=para.style,
            )
            if cand is not None and cand.level == level:
                seq.record(cand)
            else:
                seq.reset_below(level)
        else:
            cand = parse_heading(full)
            # a paragraph numbered by a Word list is a list item unless its number is
            # strong (« 2.1 », « Article 3 »)
            if cand is not None and (
                cand.strong if para.num is not None else seq.accept(cand, hint=bold)
            ):
                block = Block(
                    "heading",
                    full,
                    loc,
                    [Span(full, loc)],
                    level=cand.level,
                    number=cand.number,
                    title=cand.title,
                    style=para.style,
                )
            elif para.num is not None and (label or fmt == "bullet"):
                block = Block(
                    "list_item",
                    full,
                    loc,
                    [Span(full, loc)],
                    level=para.num[1] + 1,
                    style=para.style,
                )
            elif para.checkbox or para.placeholder or CHECKBOX_RE.search(para.text):
                block = Block("form_field", full, loc, [Span(full, loc)], style=para.style)
                block.roles.add("form_label")
            else:
                block = Block("paragraph", full, loc, [Span(full, loc)], style=para.style)
        if pending:
            block.pending = pending
            block.pending_text = pending_text
        if para.placeholder:
            block.roles.add("placeholder")
        blocks.append(block)

    def handle_table(tbl) -> None:
        rows: list[list[Cell]] = []
        spans: list[Span] = []
        first: Loc | None = None
        pend: list[str] = []
        kinds: set[str] = set()
        for tr in tbl.iterchildren(W + "tr"):
            row: list[Cell] = []
            for tc in tr.iterchildren(W + "tc", W + "sdt"):
                cell_parts: list[str] = []
                cell_loc: Loc | None = None
                for p in tc.iter(W + "p"):
                    para = para_of(p)
                    raw_texts.append(para.text)
                    loc = Loc(para=para.index)
                    cell_loc = cell_loc or loc
                    first = first or loc
                    label = ""
                    if para.num is not None:
                        label, _fmt = numbering.label(*para.num)
                    t = normalize_text(f"{label} {para.text}".strip())
                    _pending, ptext = emit_pending(para, loc)
                    if ptext:
                        pend.append(ptext)
                        kinds.add("ins" if para.inserted else "del")
                    if t:
                        cell_parts.append(t)
                        spans.append(Span(t, loc))
                row.append(Cell(" ".join(cell_parts), cell_loc or first or Loc()))
            if any(c.text for c in row):
                rows.append(row)
        if not rows and not pend:
            return
        text = " / ".join(" | ".join(c.text for c in r if c.text) for r in rows)
        b = Block("table", text, first or Loc(), spans, rows=rows)
        if pend:
            b.pending = "mixed"
            b.pending_text = " ".join(pend)
        blocks.append(b)

    def walk_body(el) -> None:
        for ch in el:
            tag = ch.tag
            if tag == W + "p":
                handle_para(ch)
                # nested paragraphs (text boxes) after the paragraph holding them
                for nested in ch.iter(W + "p"):
                    if nested is not ch and not _in_fallback(nested, ch):
                        handle_para(nested)
            elif tag == W + "tbl":
                handle_table(ch)
            elif tag in (W + "sdt",):
                pr = ch.find(W + "sdtPr")
                content = ch.find(W + "sdtContent")
                if pr is not None and pr.find(W + "showingPlcHdr") is not None:
                    for p in ch.iter(W + "p"):
                        b = Block("form_field", "", Loc(para=index[p]), [])
                        b.roles.add("placeholder")
                        blocks.append(b)
                    continue
                if content is not None:
                    walk_body(content)
            elif tag in (W + "customXml", W + "smartTag"):
                walk_body(ch)
            elif tag in (W + "ins", W + "moveTo", W + "del", W + "moveFrom"):
                walk_body(ch)

    walk_body(body)
    # footnotes and endnotes: read, after the body, located by their id
    for part, raw in notes_raw:
        if not raw:
            continue
        nroot = parse_xml(raw, f"word/{part}.xml", name, label)
        tag = W + ("footnote" if part == "footnotes" else "endnote")
        for note in nroot.iter(tag):
            if note.get(W + "type") in ("separator", "continuationSeparator", "continuationNotice"):
                continue
            nid = note.get(W + "id")
            parts: list[str] = []
            for p in note.iter(W + "p"):
                np_ = _Para(0)
                _collect(p, np_)
                raw_texts.append(np_.text)
                if np_.text.strip():
                    parts.append(np_.text)
            text = normalize_text(" ".join(parts))
            if text:
                loc = Loc(note=int(nid) if nid and nid.lstrip("-").isdigit() else None)
                b = Block("paragraph", text, loc, [Span(text, loc)])
                b.roles.add("note")
                blocks.append(b)
    assign_roles(blocks)
    for b in blocks:  # a note belongs to the article of the paragraph citing it
        if "note" in b.roles and b.loc.note in note_refs:
            cited = min(note_refs[b.loc.note], len(blocks) - 1)
            b.article = blocks[cited].article
    model.blocks = blocks
    model.quality = [assess("\n".join(raw_texts), None)]
    mark_blocks(model)
    return model


def _in_fallback(el, stop) -> bool:
    for a in el.iterancestors():
        if a is stop:
            return False
        if a.tag == MC + "Fallback":
            return True
    return False
