"""A piece prepared for recognition: its blocks (headings, paragraphs, list items, table
rows) and the cues found in each block (see :mod:`tasks.clausier.recognition`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tasks.dossier.document import PieceText

from .cueindex import BlockCues
from .lexicon import _LIST_START_RE

# A line of the dossier's own clause markup (a template's clause call, a clause fence):
# not text to recognise.
_CLAUSE_CALL_RE = re.compile(r"^\{\{-?\s*clause\s*\(")
_FENCE_OPEN_RE = re.compile(r"^:::+\s*\{[^}]*\.clause\b")


@dataclass(slots=True)
class _Block:
    start: int  # first line index
    end: int  # last line index (inclusive)
    section: int
    heading: bool
    text: str  # normalised text of the block (lines joined by spaces)
    roles: frozenset[str] = frozenset()  # the reader's roles (toc, question, form_label…)
    lines: tuple[str, ...] = ()  # the texts of its lines, from ``start`` to ``end``


#: Roles of the reader's blocks (tasks/dossier/blocks.py) that mention without stating.
_MENTION_ROLES = frozenset(
    {"toc", "applicable_texts", "form_label", "question", "placeholder", "empty_heading"}
)


@dataclass(slots=True)
class _Index:
    """One piece prepared for matching: blocks, the cues found in them, and caches."""

    piece: PieceText
    blocks: list[_Block]
    line_block: list[int]
    section_blocks: dict[int, list[int]]
    heading_blocks: dict[int, list[int]]  # section → heading blocks of it and its parents
    records: list[BlockCues]  # per block: its words and the cues starting in it
    cue_at: dict[str, list[int]]  # cue text → lines where it starts
    covered: int  # registered cues ``cue_at`` holds
    cue_lines: dict[str, frozenset[int]] = field(default_factory=dict)
    concepts: dict[tuple[str, ...], dict[int, int]] = field(default_factory=dict)
    mentions: dict[int, bool] = field(default_factory=dict)
    acts: dict[tuple, set[str]] = field(default_factory=dict)
    sets: dict[str, set[int]] = field(default_factory=dict)
    kinds: dict[int, str | None] = field(default_factory=dict)  # heading → kind it names
    questionnaires: dict[int, bool] = field(default_factory=dict)  # section → mostly questions


def _blocks(piece: PieceText) -> tuple[list[_Block], list[int]]:
    """Group lines into blocks: a heading, a list item or a paragraph.

    One pass over the lines (the reader's blocks decide where a block starts, see
    :func:`_starts_block`); a block keeps the texts of its lines (the key of its cues in
    :class:`~tasks.clausier.cueindex.CueIndex`)."""
    heading_lines = {s.line_index for s in piece.sections}
    blocks: list[_Block] = []
    line_block: list[int] = []
    lines = piece.lines
    model = getattr(piece, "model", None)
    model_blocks = model.blocks if model is not None else []
    n_model = len(model_blocks)
    cur: list[int] = []  # indexes of the open block's lines that hold text
    texts: list[str] = []  # their texts
    spanned: list[str] = []  # the texts of every line from its first to its last
    blanks: list[str] = []  # blank lines met since its last line

    def close() -> None:
        first = cur[0]
        mb = getattr(lines[first], "block", -1)
        roles = frozenset(model_blocks[mb].roles) if 0 <= mb < n_model else frozenset()
        blocks.append(
            _Block(
                first,
                cur[-1],
                lines[first].section,
                first in heading_lines,
                " ".join(texts),
                roles,
                tuple(spanned),
            )
        )
        cur.clear()
        texts.clear()
        spanned.clear()
        blanks.clear()

    prev_text = ""
    in_fence = False
    for i, line in enumerate(lines):
        raw = line.text
        text = raw.strip()
        # A library clause (« {{ clause(…) }} » call or « ::: {.clause} » block) is the
        # checker's business, not a hand-written text: its lines form no block.
        if in_fence and (i in heading_lines or text == ":::"):
            in_fence = text == ":::"  # the closing fence is skipped below; a heading ends it
        if in_fence or (
            text[:1] in "{:" and (_CLAUSE_CALL_RE.match(text) or _FENCE_OPEN_RE.match(text))
        ):
            in_fence = (in_fence or bool(_FENCE_OPEN_RE.match(text))) and text != ":::"
            if cur:
                close()
            line_block.append(-1)  # no block: its words are not indexed
            prev_text = ""
            continue
        if cur and (
            i in heading_lines
            or cur[0] in heading_lines
            or _starts_block(piece, model_blocks, cur[-1], i, prev_text)
        ):
            close()
        if text:
            if blanks:
                spanned.extend(blanks)
                blanks.clear()
            cur.append(i)
            texts.append(raw)
            spanned.append(raw)
        elif cur:
            blanks.append(raw)
        line_block.append(len(blocks))  # a blank line is attached to the next block
        prev_text = text
    if cur:
        close()
    # Blank lines at the end point past the last block: clamp.
    last = len(blocks) - 1
    if last >= 0 and line_block and max(line_block) > last:
        line_block = [min(b, last) for b in line_block]
    elif last < 0:
        line_block = [min(b, 0) for b in line_block]
    return blocks, line_block


def _starts_block(piece: PieceText, model_blocks: list, last: int, i: int, prev_text: str) -> bool:
    """Line ``i`` starts a new block after line ``last`` (neither is a heading)."""
    line = piece.lines[i]
    text = line.text.strip()
    if text[:1] in "<|":
        return True  # a row or cell of a table (HTML or Markdown); a blank line
    mb = getattr(line, "block", -1)
    if model_blocks and mb >= 0:
        # the reader's blocks are authoritative (paragraphs, list items, table rows)
        return mb != getattr(piece.lines[last], "block", -1) or model_blocks[mb].kind == "table"
    return (
        not text
        or line.section != piece.lines[last].section
        or bool(_LIST_START_RE.match(text))
        or (prev_text.endswith((".", ";", ":", "!", "?")) and text[:1].isupper())
    )
