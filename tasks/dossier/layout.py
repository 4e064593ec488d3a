"""Blocks from lines: the structure of line-based sources (Markdown, text, PDF).

A reader turns its source into :class:`RawLine` (raw text + location + layout hints);
:func:`blocks_from_lines` normalises them, removes page headers and footers, rejoins
words cut at line ends, and groups the lines into headings, paragraphs, list items and
tables (:class:`~tasks.dossier.blocks.Block`), then marks roles
(:func:`~tasks.dossier.headings.assign_roles`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tasks.memo import BoundedMemo

from .blocks import Block, Cell, Loc, Span
from .headings import HeadingSequencer, assign_roles, parse_heading, toc_end
from .normalize import fold, join_hyphenated, normalize_text

__all__ = ["RawLine", "blocks_from_lines", "md_heading_parts"]


@dataclass(slots=True)
class RawLine:
    """One source line before normalisation.

    md_level: Markdown « # » level (0 when not a Markdown heading); hint: the layout
    marks the line as a heading (bold or larger font in a PDF); styled: the whole line is
    set in bold / a larger size (candidate unnumbered heading); gap_before: a blank line
    or a vertical gap precedes it; size_rank: 1 for the largest heading size of the
    document, 2 for the next… (PDF), 0 unknown; form: a form field (check boxes);
    table: the rows of a table the reader found (a PDF's ruled table), the line then
    stands for the whole table.
    """

    text: str
    loc: Loc
    md_level: int = 0
    hint: bool = False
    styled: bool = False
    gap_before: bool = False
    size_rank: int = 0
    form: bool = False
    table: list[list[Cell]] | None = None


_REPEAT_DIGITS_RE = re.compile(r"\d+")
_HAS_ALNUM_RE = re.compile(r"\w")
_EMPHASIS_RE = re.compile(r"\*\*|(?<!\w)__|__(?!\w)")
_LIST_RE = re.compile(
    r"^(?:[-*+»>o]\s+|\d{1,2}\s?°\s*[-–.)]?\s*|\(?[a-z]\)\s*|[a-z]\.\s+(?=\S)|\(?\d{1,2}\)\s*|"
    r"\(?[ivx]{1,4}\)\s*|\d{1,2}\.\s+(?=\S))"
)
_MD_NUMBER_RE = re.compile(
    r"^(?:(?:article|art\.)\s+)?(\d{1,3}(?:\.\d{1,3}){0,3})\.?(?:\s*[-–—:.]\s*|\s+|$)(.*)$",
    re.I,
)
_SENTENCE_END_RE = re.compile(r"[.!?;:»]\s*$")
_DANGLING_RE = re.compile(r"\b(?:de|des|du|la|le|les|et|à|en|pour|aux|au|d'|l'|sur|par)$", re.I)
_PIPE_SEP_RE = re.compile(r"^\|?\s*:?-{2,}")


def _clean_title(title: str) -> str:
    return title.strip().rstrip(":").strip().strip("-–—").strip()


def md_heading_parts(title: str) -> tuple[str | None, str]:
    """Split a Markdown heading title into (number, title): « 4.5 Insertion » →
    (« 4.5 », « Insertion »), « Article 12 - Prix » → (« 12 », « Prix »), other
    numbering styles through :func:`~tasks.dossier.headings.parse_heading`."""
    m = _MD_NUMBER_RE.match(title)
    if m and (m.group(2) or re.match(r"^(?:article|art\.)", title, re.I) or title.isdigit()):
        rest = m.group(2).strip()
        if not rest or rest[0].isalpha() or rest[0] in "«\"'(":
            return m.group(1), _clean_title(rest)
    c = parse_heading(title)
    if c is not None and c.style in ("chapter", "roman", "letter"):
        return c.number, c.title
    return None, _clean_title(title)


def _repeated_lines(
    texts: list[str], keys: list[str], pages: list[int | None], zone: int = 3
) -> set[int]:
    """Indexes of page headers/footers: lines repeated (digits aside) among the first or
    last ``zone`` lines of more than half of the pages, when there are three pages or more.
    A line that reads as a heading (« Article 12 - Prix ») must repeat digits included.
    """
    by_page: dict[int, list[int]] = {}
    for i, p in enumerate(pages):
        if p is not None:
            by_page.setdefault(p, []).append(i)
    if len(by_page) < 3:
        return set()
    candidates: dict[str, set[int]] = {}
    zones: dict[int, str] = {}
    for page, idx in by_page.items():
        for i in idx[:zone] + idx[-zone:]:
            if i in zones:
                continue
            key = keys[i] if parse_heading(texts[i]) else _REPEAT_DIGITS_RE.sub("#", keys[i])
            if len(key) < 3:
                continue
            zones[i] = key
            candidates.setdefault(key, set()).add(page)
    threshold = max(3, len(by_page) // 2 + 1)
    repeated = {k for k, v in candidates.items() if len(v) >= threshold}
    return {i for i, k in zones.items() if k in repeated}


def _pipe_cells(text: str) -> list[str] | None:
    if "|" not in text:
        return None
    s = text.strip()
    if not (s.startswith("|") and s.endswith("|") and s.count("|") >= 3):
        return None
    return [c.strip() for c in s[1:-1].split("|")]


def blocks_from_lines(
    raws: list[RawLine], *, markdown: bool = False, paged: bool = False
) -> list[Block]:
    """Blocks of a line-based source (see the module docstring).

    Each block keeps one :class:`~tasks.dossier.blocks.Span` per kept source line, so a
    finding can name the exact line. Lines with no letter or digit and repeated page
    headers/footers (``paged``) are dropped; a heading's number and title come from
    :func:`~tasks.dossier.headings.parse_heading`, checked by a
    :class:`~tasks.dossier.headings.HeadingSequencer`. Lines set only in bold or a
    larger size become unnumbered headings when the document has fewer than three
    numbered headings (a CCAP whose articles are only bold).
    """
    texts, kept = _prepare(raws, markdown=markdown, paged=paged)
    # A Markdown file structured with « # » headings writes its lists « 1. » as lists:
    # only strong numbers (« Article 3 », « 2.1 ») make headings outside « # » there.
    md_structured = markdown and sum(1 for r in kept if r.md_level) >= 3
    blocks = _group(
        texts, kept, markdown=markdown, styled_headings=False, weak_headings=not md_structured
    )
    if sum(b.kind == "heading" for b in blocks) < 3 and any(r.styled for r in kept):
        blocks = _group(
            texts, kept, markdown=markdown, styled_headings=True, weak_headings=not md_structured
        )
    for b in blocks:
        if b.kind == "table":
            b.text = " / ".join(" | ".join(c.text for c in row) for row in b.rows)
    assign_roles(blocks)
    return blocks


#: Check boxes (Unicode or Wingdings/Symbol private-use glyphs) next to a choice: the
#: line is a form field (« Marché réservé : ☐ oui ☐ non »).
CHECKBOX_RE = re.compile(
    r"[☐☑☒□■❑❒◻\uf06f\uf0a8\uf0fe\uf071\uf0fd\uf078]\s*\w|\[\s?[xX ]?\s?\]\s*\w"
)

#: A match of :data:`CHECKBOX_RE` holds one of these (a cheap test before the regex).
_CHECKBOX_MARK_RE = re.compile("[\\[☐☑☒□■❑❒◻\uf06f\uf0a8\uf0fe\uf071\uf0fd\uf078]")


#: source line → (its prepared text, it holds a letter or digit, it is a check-box
#: form field), for Markdown and for other sources, for the process: a repository's
#: dossiers repeat most of their lines.
_PREPARED: dict[bool, BoundedMemo[str, tuple[str, bool, bool]]] = {
    True: BoundedMemo(200_000),
    False: BoundedMemo(200_000),
}


def _prepared_line(raw: str, markdown: bool) -> tuple[str, bool, bool]:
    t = raw
    if markdown and ("**" in t or "__" in t):
        t = _EMPHASIS_RE.sub("", t)
    t = normalize_text(t)
    alnum = bool(t) and _HAS_ALNUM_RE.search(t) is not None
    form = alnum and bool(_CHECKBOX_MARK_RE.search(raw)) and bool(CHECKBOX_RE.search(raw))
    return t, alnum, form


def _prepare(
    raws: list[RawLine], *, markdown: bool, paged: bool
) -> tuple[list[str], list[RawLine]]:
    texts: list[str] = []
    kept: list[RawLine] = []
    gap = False
    memo = _PREPARED[markdown]
    for r in raws:
        got = memo.get(r.text)
        if got is None:
            got = memo.put(r.text, _prepared_line(r.text, markdown))
        t, alnum, form = got
        if not alnum:
            gap = gap or not t
            continue
        if gap:
            r.gap_before = True
            gap = False
        if form:
            r.form = True
        texts.append(t)
        kept.append(r)
    if paged:
        drop = _repeated_lines(texts, [fold(t) for t in texts], [r.loc.page for r in kept])
        if drop:
            texts = [t for i, t in enumerate(texts) if i not in drop]
            kept = [r for i, r in enumerate(kept) if i not in drop]
    return join_hyphenated(texts), kept


def _group(
    texts: list[str],
    kept: list[RawLine],
    *,
    markdown: bool,
    styled_headings: bool,
    weak_headings: bool = True,
) -> list[Block]:
    """Group the prepared lines into blocks (see :class:`_Grouper`)."""
    return _Grouper(texts, kept, markdown, styled_headings, weak_headings).run()


class _Grouper:
    """One pass over the prepared lines: each line is, in this order of tests, a table
    (found by the reader, or a Markdown pipe row), a heading (Markdown « # », numbered,
    or styled when ``styled_headings``), a form field or table-of-contents entry, a list
    item, the continuation of the open paragraph or list item, or a new paragraph."""

    def __init__(
        self,
        texts: list[str],
        kept: list[RawLine],
        markdown: bool,
        styled_headings: bool,
        weak_headings: bool,
    ) -> None:
        self.texts = texts
        self.kept = kept
        self.markdown = markdown
        self.styled_headings = styled_headings
        self.weak_headings = weak_headings
        self.blocks: list[Block] = []
        self.seq = HeadingSequencer()
        self.last_numbered_level = 0
        self.open_block: Block | None = None  # paragraph or list item that may continue
        self.table: Block | None = None  # Markdown pipe table being read
        self.skip: set[int] = set()

    def run(self) -> list[Block]:
        for k, (t, r) in enumerate(zip(self.texts, self.kept, strict=True)):
            if k in self.skip or not t or not _HAS_ALNUM_RE.search(t):
                continue
            if self._table(t, r):
                continue
            self.table = None
            heading = self._markdown_heading(t, r) if r.md_level else self._heading(k, t, r)
            if heading is not None:
                self._add_heading(k, t, r, heading)
            elif r.form or toc_end(t):
                # a form field or a table-of-contents entry is a block of its own
                kind = "form_field" if r.form else "paragraph"
                self.blocks.append(Block(kind, t, r.loc, [Span(t, r.loc)]))
                self.open_block = None
            elif not self._list_item(t, r) and not self._continue(t, r):
                self.open_block = Block("paragraph", t, r.loc, [Span(t, r.loc)])
                self.blocks.append(self.open_block)
        return self.blocks

    def _table(self, t: str, r: RawLine) -> bool:
        """A table the reader found (the line stands for it), or a Markdown pipe row
        (added to the table being read; separator rows skipped)."""
        if r.table is not None:
            spans = [Span(c.text, c.loc) for row in r.table for c in row if c.text]
            self.blocks.append(Block("table", t, r.loc, spans, rows=r.table))
            self.open_block = self.table = None
            return True
        cells = _pipe_cells(t) if self.markdown else None
        if cells is None:
            return False
        if _PIPE_SEP_RE.match(t.strip()) and all(
            re.fullmatch(r":?-+:?", c) or not c for c in cells
        ):
            return True
        if self.table is None:
            self.table = Block("table", "", r.loc)
            self.blocks.append(self.table)
        self.table.rows.append([Cell(c, r.loc) for c in cells])
        self.table.spans.append(Span(t, r.loc))
        self.open_block = None
        return True

    def _markdown_heading(self, t: str, r: RawLine) -> tuple:
        """(number, title, level) of a Markdown « # » heading; the sequencer follows."""
        number, title = md_heading_parts(t)
        cand = parse_heading(t)
        if cand is not None:
            self.seq.record(cand)
        else:
            self.seq.reset_below(r.md_level)
        return number, title, r.md_level

    def _heading(self, k: int, t: str, r: RawLine) -> tuple | None:
        """(number, title, level) of a numbered heading the sequencer accepts (not
        followed by a table-of-contents line), else of a styled unnumbered heading."""
        cand = parse_heading(t)
        toc_next = k + 1 < len(self.texts) and toc_end(self.texts[k + 1])
        if (
            cand is not None
            and not toc_next
            and not r.form  # a numbered question with check boxes is a form field
            and (self.weak_headings or cand.strong)
            and self.seq.accept(cand, hint=r.hint)
        ):
            self.last_numbered_level = cand.level
            return cand.number, cand.title, cand.level
        if cand is None and self.styled_headings and _styled_title(t, r):
            level = r.size_rank if r.size_rank else self.last_numbered_level + 1
            return None, t.rstrip(" :"), max(1, level)
        return None

    def _add_heading(self, k: int, t: str, r: RawLine, heading: tuple) -> None:
        """Append the heading block; a title cut after a dangling word (« … de ») takes
        the next short lower-case line (« 6. Jugement des offres et attribution de » +
        « l'accord-cadre »)."""
        nxt = self.texts[k + 1] if k + 1 < len(self.texts) else ""
        if (
            nxt
            and _DANGLING_RE.search(t[-8:])  # the last word and the character before it
            and nxt[:1].islower()
            and len(nxt) <= 60
            and not self.kept[k + 1].gap_before
        ):
            t = f"{t} {nxt}"
            heading = (heading[0], f"{heading[1]} {nxt}".strip(), heading[2])
            self.skip.add(k + 1)
        number, title, level = heading
        self.blocks.append(
            Block("heading", t, r.loc, [Span(t, r.loc)], level=level, number=number, title=title)
        )
        self.open_block = None

    def _list_item(self, t: str, r: RawLine) -> bool:
        """A list item (bullet, « 1. », « a) », « 1° »…) opens a block of its own."""
        lm = _LIST_RE.match(t)
        if not lm or (t.startswith("o") and not t.startswith("o ")):
            return False
        depth = 1 + (len(r.text) - len(r.text.lstrip())) // 4 if self.markdown else 1
        self.open_block = Block("list_item", t, r.loc, [Span(t, r.loc)], level=min(depth, 6))
        self.blocks.append(self.open_block)
        return True

    def _continue(self, t: str, r: RawLine) -> bool:
        """Join the line to the open block on the same page, without a gap before:
        when that block's last line does not end a sentence, or (a paragraph outside
        Markdown) when the line starts in lower case."""
        ob = self.open_block
        if ob is None or r.gap_before or ob.spans[-1].loc.page != r.loc.page:
            return False
        if _SENTENCE_END_RE.search(ob.spans[-1].text) and not (
            ob.kind == "paragraph" and not self.markdown and t[0].islower()
        ):
            return False
        ob.spans.append(Span(t, r.loc))
        ob.text = f"{ob.text} {t}"
        return True


def _styled_title(t: str, r: RawLine) -> bool:
    """A line set wholly in bold or a larger size that reads as a title: short, starting
    in upper case, not ending with a number, an amount or a sentence mark, not a list
    item nor a table-of-contents entry."""
    return (
        r.styled
        and not re.search(r"[\d%€]\s*$", t)
        and len(t) <= 100
        and len(t.split()) <= 14
        and t[0].isupper()
        and not t.rstrip().endswith((".", ";", ","))
        and not _LIST_RE.match(t)
        and not toc_end(t)
    )
