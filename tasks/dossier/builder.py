"""What the DOCX and ODT readers share once a paragraph's text is read: the model being
built, the reports of tracked changes and comments, the blocks of paragraphs, headings
and tables, and the final roles and quality.

The two readers walk their own XML (``word/document.xml``, ``content.xml``) and hand each
paragraph to a :class:`ModelBuilder`; the French messages of the reading issues, the
heading rules (:mod:`tasks.dossier.headings`) and the table layout are written once here.
"""

from __future__ import annotations

from .blocks import Block, Cell, DocumentModel, Loc, ReadingIssue, Span
from .headings import HeadingCandidate, HeadingSequencer, assign_roles, parse_heading
from .quality import assess, mark_blocks

__all__ = ["ModelBuilder", "TableBuilder", "cand_block", "pending_kind", "text_block"]


def text_block(kind: str, text: str, loc: Loc, style: str | None = None, **kw) -> Block:
    """A block of one span (the whole text at ``loc``); ``kw`` are other Block fields."""
    return Block(kind, text, loc, [Span(text, loc)], style=style, **kw)  # type: ignore[arg-type]


def cand_block(text: str, loc: Loc, cand: HeadingCandidate, style: str | None = None) -> Block:
    """The heading block of a numbered heading recognised in the text (``cand``)."""
    return text_block(
        "heading", text, loc, style, level=cand.level, number=cand.number, title=cand.title
    )


def pending_kind(has_insertion: bool, has_deletion: bool) -> str:
    """``insertion``, ``deletion`` or ``mixed``: what a paragraph with no accepted text
    holds in pending tracked changes."""
    if has_insertion and not has_deletion:
        return "insertion"
    if has_deletion and not has_insertion:
        return "deletion"
    return "mixed"


class TableBuilder:
    """Rows × cells of a table, fed paragraph by paragraph.

    Each cell is located at its first paragraph (or, if it has none, at the table's first
    paragraph); a row whose cells are all empty is left out; the block's text joins the
    non-empty cells with `` | `` and the rows with `` / ``.
    """

    def __init__(self) -> None:
        self.rows: list[list[Cell]] = []
        self.spans: list[Span] = []
        self.first: Loc | None = None
        self.pending: list[str] = []
        self._row: list[Cell] = []
        self._parts: list[str] = []
        self._loc: Loc | None = None

    def para(self, loc: Loc, text: str, pending_text: str = "") -> None:
        """One paragraph of the current cell: normalised text and pending changes."""
        self._loc = self._loc or loc
        self.first = self.first or loc
        if pending_text:
            self.pending.append(pending_text)
        if text:
            self._parts.append(text)
            self.spans.append(Span(text, loc))

    def end_cell(self) -> None:
        self._row.append(Cell(" ".join(self._parts), self._loc or self.first or Loc()))
        self._parts, self._loc = [], None

    def end_row(self) -> None:
        if any(c.text for c in self._row):
            self.rows.append(self._row)
        self._row = []

    def block(self) -> Block | None:
        """The table block, or None for a table with neither text nor pending change."""
        if not self.rows and not self.pending:
            return None
        text = " / ".join(" | ".join(c.text for c in r if c.text) for r in self.rows)
        b = Block("table", text, self.first or Loc(), self.spans, rows=self.rows)
        if self.pending:
            b.pending = "mixed"
            b.pending_text = " ".join(self.pending)
        return b


class ModelBuilder:
    """The :class:`DocumentModel` of a DOCX or ODT piece being read.

    Attributes:
        model: the model (``fmt``, ``sha256``, issues reported so far).
        blocks: blocks in document order.
        raw_texts: every paragraph's raw text, for the quality assessment.
        seq: the heading sequencer (numbers seen so far).
    """

    def __init__(self, fmt: str, sha256: str) -> None:
        self.model = DocumentModel(fmt, sha256)
        self.blocks: list[Block] = []
        self.raw_texts: list[str] = []
        self.seq = HeadingSequencer()

    def issue(self, code: str, msg: str, loc: Loc, sev: str = "warning") -> None:
        self.model.issues.append(ReadingIssue(code, msg, loc, sev))  # type: ignore[arg-type]

    def comment(self, loc: Loc, text: str) -> None:
        """Report an unresolved comment anchored in paragraph ``loc``."""
        self.issue(
            "commentaire",
            f"commentaire non résolu, paragraphe {loc.para} : « {text[:120]} »"
            " — traitez puis supprimez les commentaires avant publication.",
            loc,
            "info",
        )

    def hidden(self, loc: Loc, text: str) -> None:
        """Report text that the document hides (neither shown nor printed): not counted."""
        self.issue(
            "texte-masque",
            f"texte masqué, paragraphe {loc.para} : « {text[:120]} » — ce texte n'apparaît "
            "ni à l'écran ni à l'impression ; il n'est pas compté comme texte de la pièce.",
            loc,
        )

    def tracked(self, loc: Loc, inserted: str, deleted: str) -> str:
        """Report the pending insertion and deletion (normalised texts) of a paragraph;
        returns its pending text (both joined, empty when none)."""
        if inserted:
            self.issue(
                "modification-non-acceptee",
                f"modification non acceptée, paragraphe {loc.para} : « {inserted[:120]} » — "
                "acceptez ou refusez les modifications suivies avant le contrôle ; ce texte "
                "n'est pas compté.",
                loc,
            )
        if deleted:
            self.issue(
                "suppression-en-attente",
                f"suppression en attente, paragraphe {loc.para} : « {deleted[:120]} » — "
                "acceptez ou refusez la suppression ; le texte supprimé reste lu comme "
                "supprimé.",
                loc,
            )
        return " ".join(x for x in (inserted, deleted) if x)

    def pending_only(self, loc: Loc, kind: str, pending_text: str, style=None) -> Block:
        """Add the empty block of a paragraph made only of pending changes."""
        b = Block("paragraph", "", loc, [], pending=kind, pending_text=pending_text, style=style)
        self.blocks.append(b)
        return b

    def outline_heading(
        self,
        full: str,
        text: str,
        loc: Loc,
        level: int,
        number: str | None,
        style: str | None,
        *,
        same_level: bool,
    ) -> Block:
        """The heading block of a paragraph the format marks as a heading of ``level``.

        Number and title come from the text when it reads as a numbered heading, else
        ``number`` (the format's own) and ``text``. The sequencer records the number when
        the text reads as one (and, with ``same_level``, at that level), else restarts
        below ``level``.
        """
        cand = parse_heading(full)
        block = text_block(
            "heading",
            full,
            loc,
            style,
            level=level,
            number=cand.number if cand else number,
            title=cand.title if cand else text.rstrip(" :"),
        )
        if cand is not None and (not same_level or cand.level == level):
            self.seq.record(cand)
        else:
            self.seq.reset_below(level)
        return block

    def empty(self) -> DocumentModel:
        """The model of a piece without a body."""
        self.model.quality = [assess("", None)]
        return self.model

    def after_roles(self) -> None:
        """Hook run once roles and articles are assigned (nothing by default)."""

    def finish(self) -> DocumentModel:
        """Assign roles and articles, assess the text read, mark unreliable blocks."""
        assign_roles(self.blocks)
        self.after_roles()
        self.model.blocks = self.blocks
        self.model.quality = [assess("\n".join(self.raw_texts), None)]
        mark_blocks(self.model)
        return self.model
