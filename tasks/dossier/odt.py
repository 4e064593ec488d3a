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
"""

from __future__ import annotations

from .blocks import Block, Cell, DocumentModel, Loc, ReadingIssue, Span
from .headings import HeadingSequencer, assign_roles, parse_heading
from .normalize import normalize_text
from .ooxml import open_package, parse_xml, read_member
from .quality import assess, mark_blocks

__all__ = ["read_odt"]

TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
DRAW = "{urn:oasis:names:tc:opendocument:xmlns:drawing:1.0}"
_PARA_TAGS = (TEXT + "p", TEXT + "h")


def read_odt(name: str, data: bytes, sha256: str) -> DocumentModel:
    """Read an ODT piece into a :class:`~tasks.dossier.blocks.DocumentModel`.

    Raises:
        InputError: not an OpenDocument archive, encrypted or damaged part, malformed XML.
    """
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
        raw = read_member(zf, "content.xml", name, label, required=True)
    root = parse_xml(raw, "content.xml", name, label)
    index: dict = {}
    for i, p in enumerate(root.iter(*_PARA_TAGS), start=1):
        index[p] = i
    model = DocumentModel("odt", sha256)
    body = root.find(f"{OFFICE}body/{OFFICE}text")
    if body is None:
        model.quality = [assess("", None)]
        return model
    # tracked changes: id -> (kind, deleted paragraphs' text)
    changes: dict[str, tuple[str, list[tuple[str, int]]]] = {}
    tc = body.find(TEXT + "tracked-changes")
    if tc is not None:
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
    blocks: list[Block] = []
    raw_texts: list[str] = []
    seq = HeadingSequencer()

    def issue(code: str, msg: str, loc: Loc, sev: str = "warning") -> None:
        model.issues.append(ReadingIssue(code, msg, loc, sev))  # type: ignore[arg-type]

    def para_text(p, loc: Loc) -> tuple[str, list[str], list[str]]:
        accepted: list[str] = []
        inserted: list[str] = []
        deleted: list[str] = []
        state = {"ins": set()}

        def add(t: str) -> None:
            (inserted if state["ins"] else accepted).append(t)

        def walk(el) -> None:
            if el.text:
                add(el.text)
            for ch in el:
                tag = ch.tag
                if not isinstance(tag, str):
                    pass
                elif tag in _PARA_TAGS:
                    pass  # nested paragraph (note body, frame): its own block
                elif tag in (TEXT + "note",):
                    cit = ch.find(TEXT + "note-citation")
                    if cit is not None and cit.text:
                        add(cit.text)
                elif tag == OFFICE + "annotation":
                    body_text = normalize_text(
                        " ".join("".join(x.itertext()) for x in ch.iter(TEXT + "p"))
                    )
                    issue(
                        "commentaire",
                        f"commentaire non résolu, paragraphe {loc.para} : « {body_text[:120]} »"
                        " — traitez puis supprimez les commentaires avant publication.",
                        loc,
                        "info",
                    )
                elif tag == OFFICE + "annotation-end":
                    pass
                elif tag in (TEXT + "s",):
                    add(" " * int(ch.get(TEXT + "c", "1") or 1))
                elif tag in (TEXT + "tab", TEXT + "line-break"):
                    add(" ")
                elif tag == TEXT + "change-start":
                    cid = ch.get(TEXT + "change-id", "")
                    if changes.get(cid, ("",))[0] == "insertion":
                        state["ins"].add(cid)
                elif tag == TEXT + "change-end":
                    state["ins"].discard(ch.get(TEXT + "change-id", ""))
                elif tag == TEXT + "change":
                    kind, dels = changes.get(ch.get(TEXT + "change-id", ""), ("", []))
                    if kind == "deletion":
                        deleted.extend(t for t, _i in dels)
                elif tag == DRAW + "frame":
                    pass  # text boxes: their paragraphs are blocks of their own
                else:
                    walk(ch)
                if isinstance(tag, str) and ch.tail:
                    add(ch.tail)

        walk(p)
        return "".join(accepted), inserted, deleted

    def handle_p(p, in_list: int = 0) -> Block | None:
        loc = Loc(para=index[p])
        text_raw, ins, dels = para_text(p, loc)
        raw_texts.append(text_raw)
        text = normalize_text(text_raw)
        ins_t = normalize_text("".join(ins))
        del_t = normalize_text(" ".join(dels))
        if ins_t:
            issue(
                "modification-non-acceptee",
                f"modification non acceptée, paragraphe {loc.para} : « {ins_t[:120]} » — "
                "acceptez ou refusez les modifications suivies avant le contrôle ; ce texte "
                "n'est pas compté.",
                loc,
            )
        if del_t:
            issue(
                "suppression-en-attente",
                f"suppression en attente, paragraphe {loc.para} : « {del_t[:120]} » — "
                "acceptez ou refusez la suppression ; le texte supprimé reste lu comme "
                "supprimé.",
                loc,
            )
        pending_text = " ".join(x for x in (ins_t, del_t) if x)
        if not text:
            if pending_text:
                kind = (
                    "insertion"
                    if ins_t and not del_t
                    else "deletion"
                    if del_t and not ins_t
                    else "mixed"
                )
                b = Block("paragraph", "", loc, [], pending=kind, pending_text=pending_text)
                blocks.append(b)
                return b
            return None
        style = p.get(TEXT + "style-name")
        if p.tag == TEXT + "h":
            level = int(p.get(TEXT + "outline-level", "1") or 1)
            num_el = p.find(TEXT + "number")
            full = text
            cand = parse_heading(full)
            number = (
                cand.number
                if cand
                else (
                    normalize_text(num_el.text).rstrip(".)")
                    if num_el is not None and num_el.text
                    else None
                )
            )
            title = cand.title if cand else text.rstrip(" :")
            b = Block(
                "heading",
                full,
                loc,
                [Span(full, loc)],
                level=level,
                number=number,
                title=title,
                style=style,
            )
            if cand is not None:
                seq.record(cand)
            else:
                seq.reset_below(level)
        else:
            cand = parse_heading(text)
            if cand is not None and seq.accept(cand):
                b = Block(
                    "heading",
                    text,
                    loc,
                    [Span(text, loc)],
                    level=cand.level,
                    number=cand.number,
                    title=cand.title,
                    style=style,
                )
            elif in_list:
                b = Block("list_item", text, loc, [Span(text, loc)], level=in_list, style=style)
            else:
                b = Block("paragraph", text, loc, [Span(text, loc)], style=style)
        if pending_text:
            b.pending = "mixed"
            b.pending_text = pending_text
        blocks.append(b)
        return b

    def handle_table(tbl) -> None:
        rows: list[list[Cell]] = []
        spans: list[Span] = []
        first: Loc | None = None
        for tr in tbl.iter(TABLE + "table-row"):
            row: list[Cell] = []
            for td in tr:
                if td.tag not in (TABLE + "table-cell", TABLE + "covered-table-cell"):
                    continue
                parts: list[str] = []
                cloc: Loc | None = None
                for p in td.iter(*_PARA_TAGS):
                    loc = Loc(para=index[p])
                    cloc = cloc or loc
                    first = first or loc
                    t_raw, _ins, _dels = para_text(p, loc)
                    raw_texts.append(t_raw)
                    t = normalize_text(t_raw)
                    if t:
                        parts.append(t)
                        spans.append(Span(t, loc))
                row.append(Cell(" ".join(parts), cloc or first or Loc()))
            if any(c.text for c in row):
                rows.append(row)
        if rows:
            text = " / ".join(" | ".join(c.text for c in r if c.text) for r in rows)
            blocks.append(Block("table", text, first or Loc(), spans, rows=rows))

    def walk(el, in_list: int = 0) -> None:
        for ch in el:
            tag = ch.tag
            if not isinstance(tag, str) or tag == TEXT + "tracked-changes":
                continue
            if tag in _PARA_TAGS:
                handle_p(ch, in_list)
                for nested in ch.iter(*_PARA_TAGS):
                    if nested is not ch and not any(
                        a.tag == OFFICE + "annotation" for a in nested.iterancestors()
                    ):
                        handle_p(nested)
            elif tag == TABLE + "table":
                handle_table(ch)
            elif tag == TEXT + "list":
                walk(ch, in_list + 1)
            else:
                walk(ch, in_list)

    walk(body)
    assign_roles(blocks)
    model.blocks = blocks
    model.quality = [assess("\n".join(raw_texts), None)]
    mark_blocks(model)
    return model
