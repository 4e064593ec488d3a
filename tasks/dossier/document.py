"""Text of a piece as the checker sees it, with a map back to the original.

A :class:`PieceText` is a list of :class:`Line`: each line keeps its normalised text
(what a reader sees, typographic noise removed), its *folded* text (lower case, no
accents: what evidence patterns match) and where it came from in the original file
(1-based line for text formats, page for PDF, paragraph index for DOCX/ODT), plus the
heading path of the section it belongs to (e.g. « Article 4.5 Insertion… »).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .blocks import Span
from .normalize import fold

if TYPE_CHECKING:
    from .blocks import DocumentModel

__all__ = ["Line", "PieceText", "Section"]


@dataclass(slots=True)
class Line:
    """One normalised line of a piece.

    Attributes:
        text: normalised text (NBSP → space, curly → straight apostrophes, ligatures
            expanded, zero-width and private-use bullets removed…).
        folded: ``text`` lower-cased with accents removed (matching form).
        src_line: 1-based line in the original file (Markdown/text: physical line;
            DOCX/ODT: index of the paragraph, see :class:`~tasks.dossier.blocks.Loc`;
            PDF: line within the page).
        page: 1-based page number (PDF, or Markdown converted from PDF with
            ``## Page N`` markers), else None.
        section: index into :attr:`PieceText.sections`, or -1 before any heading.
        block: index of the block in :attr:`PieceText.model` this line comes from, or -1.
        reliable: False when the line's page (or block) reads unreliably.
    """

    text: str
    folded: str
    src_line: int | None = None
    page: int | None = None
    section: int = -1
    block: int = -1
    reliable: bool = True


@dataclass(slots=True)
class Section:
    """A heading: its number (« 4.5 », « 13.2 », « 6 ») when it has one, title, level."""

    number: str | None
    title: str
    level: int
    line_index: int  # index of the heading line in PieceText.lines

    def label(self) -> str:
        """« Article 4.5 — Insertion professionnelle » style label."""
        if self.number:
            return f"Article {self.number} — {self.title}".rstrip(" —")
        return self.title


@dataclass(slots=True)
class PieceText:
    """A piece of the dossier, read and normalised.

    Attributes:
        path: path of the file relative to the dossier (as shown in findings).
        kind: rc, ccap, cctp, ae, bpu, dpgf, dqe, annexe… (from tender.yaml ``pieces``
            or the file name).
        format: md, txt, docx, odt, pdf.
        lines: normalised lines.
        sections: headings found, in order.
        raw_source: for Markdown/text pieces, the original text (for ``clause()`` calls
            and fenced divs); None for converted formats.
        has_text_layer: False for a PDF whose pages carry no text (scanned).
        model: the :class:`~tasks.dossier.blocks.DocumentModel` the lines derive from
            (blocks, roles, extraction quality, reading issues), when read from bytes.
    """

    path: str
    kind: str
    format: str
    lines: list[Line] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    raw_source: str | None = None
    has_text_layer: bool = True
    model: DocumentModel | None = None

    @classmethod
    def from_model(cls, path: str, kind: str, model: DocumentModel) -> PieceText:
        """The line view of ``model``: one :class:`Line` per span of each block (one per
        row for a table, written as a Markdown pipe row « | a | b | » so that every
        format's tables read alike; pending insertions and deletions are not lines: they
        are not accepted text), sections from its heading blocks."""
        lines: list[Line] = []
        sections: list[Section] = []
        section_of_block: dict[int, int] = {}
        current = -1
        for bi, b in enumerate(model.blocks):
            if not b.spans:
                continue
            if b.kind == "heading":
                sections.append(Section(b.number, b.title or "", b.level, len(lines)))
                current = len(sections) - 1
                section_of_block[bi] = current
            spans = b.spans
            if b.kind == "table" and b.rows:
                # one line per row, as a Markdown pipe row (« | CPV : | 72510000-3 | »)
                spans = []
                for row in b.rows:
                    cells = [c for c in row if c.text]
                    if cells:
                        row_text = "| " + " | ".join(c.text for c in row) + " |"
                        spans.append(Span(row_text, cells[0].loc))
            for sp in spans:
                lines.append(
                    Line(
                        sp.text,
                        fold(sp.text),
                        sp.loc.line if sp.loc.para is None else sp.loc.para,
                        sp.loc.page,
                        current,
                        bi,
                        b.reliable,
                    )
                )
        return cls(
            path,
            kind,
            model.format,
            lines,
            sections,
            raw_source=model.raw_source,
            has_text_layer=model.has_text_layer,
            model=model,
        )

    def heading_of(self, index: int) -> str | None:
        """Heading path label of line ``index`` (None before the first heading)."""
        sec = self.lines[index].section if 0 <= index < len(self.lines) else -1
        return self.sections[sec].label() if sec >= 0 else None

    def heading_at_src(self, src_line: int) -> str | None:
        """Heading path label of the original line ``src_line`` (1-based): the section of
        the last normalised line at or before it (None before the first heading)."""
        best = None
        for i, line in enumerate(self.lines):
            if line.src_line is not None and line.src_line <= src_line:
                best = i
            else:
                break
        return self.heading_of(best) if best is not None else None

    def section_numbers(self) -> set[str]:
        """All article numbers defined by headings (« 4 », « 4.5 », « 13.2 »…)."""
        return {s.number for s in self.sections if s.number}
