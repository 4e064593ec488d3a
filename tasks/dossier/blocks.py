"""The document model: a piece read as typed blocks with their source location.

Every format (Markdown/text, PDF, DOCX, ODT, HTML) is read into a :class:`DocumentModel`:
an ordered list of :class:`Block` — heading, paragraph, list item, table, form field —
each knowing where it came from (:class:`Loc`, in the conventions of the labels of
``../shared/cases/real``), the article heading it belongs to, its role (table of contents,
list of applicable texts, form label, question, empty heading) and whether its text can be
trusted (extraction quality, pending tracked changes).

Location conventions (:class:`Loc`):

* Markdown / text: ``line`` = 1-based physical line of the user's own file;
* PDF: ``page`` = 1-based page (the N-th form-feed page of ``pdftotext -layout``),
  ``line`` = 1-based line within that page of the extracted text;
* DOCX: ``para`` = 1-based index of the ``<w:p>`` element in ``word/document.xml``, in
  document order, nested paragraphs (tables, text boxes, content controls) counted;
  footnotes and endnotes come last, located by ``note`` (their id);
* ODT: ``para`` = 1-based index of the ``text:p``/``text:h`` element in ``content.xml``, in
  document order (a footnote's paragraphs are counted after the paragraph holding it);
* HTML: ``line`` = 1-based line of the element's start tag in the source.

The model is pure data (dataclasses, no I/O) and is what the cache stores (see
:mod:`tasks.dossier.modelcache`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "BLOCK_KINDS",
    "ROLES",
    "Block",
    "Cell",
    "DocumentModel",
    "Loc",
    "PageQuality",
    "ReadingIssue",
    "Span",
]

BlockKind = Literal["heading", "paragraph", "list_item", "table", "form_field"]
BLOCK_KINDS: tuple[str, ...] = ("heading", "paragraph", "list_item", "table", "form_field")

#: Roles a block may carry (several at once): text that mentions without stating.
#: ``toc`` table of contents entry; ``applicable_texts`` item of a list of applicable
#: texts or reference documents; ``form_label`` label of a form field (« Marché réservé :
#: ☐ oui ☐ non », « Nom : ........ »); ``question`` a question (sourcing questionnaire,
#: Q&R); ``empty_heading`` a heading with nothing under it before the next heading of
#: the same or a higher level; ``placeholder`` an empty content control or fill-in;
#: ``note`` the text of a footnote or endnote.
ROLES: tuple[str, ...] = (
    "toc",
    "applicable_texts",
    "form_label",
    "question",
    "empty_heading",
    "placeholder",
    "note",
)


@dataclass(frozen=True, slots=True)
class Loc:
    """Where a block (or a line of it) comes from; see the module docstring."""

    page: int | None = None
    line: int | None = None
    para: int | None = None
    note: int | None = None  # DOCX footnote / endnote id (its text is in notes.xml)

    def label(self) -> str:
        """French label: « page 4, ligne 12 », « paragraphe 431 », « ligne 590 »,
        « note 3 »."""
        parts = []
        if self.note is not None:
            parts.append(f"note {self.note}")
        if self.page is not None:
            parts.append(f"page {self.page}")
        if self.para is not None:
            parts.append(f"paragraphe {self.para}")
        if self.line is not None:
            parts.append(f"ligne {self.line}")
        return ", ".join(parts)


@dataclass(slots=True)
class Span:
    """One source line (or one paragraph for DOCX/ODT) of a block: its normalised text
    and location. Blocks keep their spans so findings can point at the exact line."""

    text: str
    loc: Loc


@dataclass(slots=True)
class Cell(Span):
    """A table cell: its normalised text and the location of its first paragraph."""


@dataclass(slots=True)
class Block:
    """One block of a piece.

    Attributes:
        kind: ``heading``, ``paragraph``, ``list_item``, ``table`` or ``form_field``.
        text: normalised text (for a table, its cells joined row by row with `` | ``).
        loc: location of the block's first line / paragraph.
        spans: the block's source lines (one per physical line for text and PDF, one per
            paragraph for DOCX/ODT), in order; a table has one span per non-empty cell.
        level: heading level (1 = top) or list nesting level (1 = top); 0 otherwise.
        number: heading number as written (« 4.2 », « II.2.5 », « A », « IV »), or None.
        title: heading title without its number, or None.
        rows: table rows × cells (tables only).
        roles: subset of :data:`ROLES`.
        article: index in :attr:`DocumentModel.blocks` of the enclosing article heading
            (the nearest heading above it, the block itself for a heading), -1 before any.
        pending: ``insertion`` when the text exists only as a pending tracked insertion,
            ``deletion`` when it is a pending tracked deletion (kept visible, never
            counted as accepted text), ``mixed`` when the block holds accepted text plus
            pending insertions or deletions, else None.
        pending_text: the text of the pending insertions / deletions of the block.
        reliable: False when extraction quality makes the text untrustworthy (undecoded
            glyphs, NUL characters, words stripped of accents) — see :class:`PageQuality`.
        style: source style name when the format has one (DOCX/ODT paragraph style).
    """

    kind: BlockKind
    text: str
    loc: Loc
    spans: list[Span] = field(default_factory=list)
    level: int = 0
    number: str | None = None
    title: str | None = None
    rows: list[list[Cell]] = field(default_factory=list)
    roles: set[str] = field(default_factory=set)
    article: int = -1
    pending: Literal["insertion", "deletion", "mixed"] | None = None
    pending_text: str = ""
    reliable: bool = True
    style: str | None = None

    def heading_label(self) -> str:
        """« Article 4.5 — Insertion professionnelle » (headings), else the text."""
        if self.kind != "heading":
            return self.text
        if self.number:
            return f"Article {self.number} — {self.title or ''}".rstrip(" —")
        return self.title or self.text


@dataclass(slots=True)
class PageQuality:
    """Extraction quality of one page (PDF) or of the whole piece (other formats).

    Attributes:
        page: 1-based page, or None for a whole piece.
        chars: visible characters extracted.
        undecoded: characters without a Unicode mapping (glyphs the font does not
            decode: missing or broken /ToUnicode), U+FFFD included.
        nul: NUL / control characters found in the text (ligatures decoded as NUL).
        stripped_words: words that look like French words stripped of their accented
            letters (« Critre », « rfrentiel », « gnral »).
        words: words counted on the page.
        reliable: False when any measure passes its threshold (see
            :func:`tasks.dossier.quality.assess`).
        reason: French reason when not reliable (« 12 caractères non décodés »…).
    """

    page: int | None
    chars: int = 0
    undecoded: int = 0
    nul: int = 0
    stripped_words: int = 0
    words: int = 0
    reliable: bool = True
    reason: str = ""
    examples: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ReadingIssue:
    """Something the reader saw that the user must know (never silently dropped).

    Attributes:
        code: ``texte-non-fiable``, ``modification-non-acceptee``,
            ``suppression-en-attente``, ``texte-masque``, ``commentaire``,
            ``sans-couche-texte``, ``pdf-protege``.
        message: French message naming the page or paragraph (« texte non fiable,
            page 3 : 45 caractères non décodés »).
        loc: where it is.
        severity: ``error`` / ``warning`` / ``info`` (as findings).
    """

    code: str
    message: str
    loc: Loc
    severity: Literal["error", "warning", "info"] = "warning"


@dataclass(slots=True)
class DocumentModel:
    """A piece read into blocks.

    Attributes:
        format: md, txt, pdf, docx, odt, html.
        sha256: hex SHA-256 of the piece's bytes (the cache key).
        blocks: blocks in reading order.
        quality: per page for PDF, one entry for other formats.
        issues: reading issues (unreliable text, pending tracked changes, comments…).
        pages: number of pages (PDF), else None.
        has_text_layer: False for a PDF whose pages carry no text (scanned).
        raw_source: the decoded source of Markdown/text pieces (``clause()`` calls and
            fenced divs are read from it), else None.
        version: model version (cache entries of another version are ignored).
    """

    format: str
    sha256: str
    blocks: list[Block] = field(default_factory=list)
    quality: list[PageQuality] = field(default_factory=list)
    issues: list[ReadingIssue] = field(default_factory=list)
    pages: int | None = None
    has_text_layer: bool = True
    raw_source: str | None = None
    version: int = 1

    def headings(self) -> list[Block]:
        """Heading blocks, in order."""
        return [b for b in self.blocks if b.kind == "heading"]

    def article_of(self, index: int) -> Block | None:
        """The article heading enclosing block ``index`` (None before any heading)."""
        a = self.blocks[index].article
        return self.blocks[a] if a >= 0 else None

    def unreliable_pages(self) -> list[int]:
        """Pages (1-based) whose text is not trustworthy."""
        return [q.page for q in self.quality if not q.reliable and q.page is not None]

    def is_reliable(self) -> bool:
        """True when every page (or the piece) reads reliably."""
        return all(q.reliable for q in self.quality)
