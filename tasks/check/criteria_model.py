"""Award criteria as read (:mod:`tasks.check.criteria`): the model and the lines of a piece.

:class:`SourceLine` (a line or table row with its page or line), :class:`CriterionRead`,
:class:`CriteriaProblem`, :class:`CriteriaSet`, and :func:`lines_of`, which turns a piece of
:mod:`tasks.dossier.document` into source lines (Markdown pipe, grid and HTML table rows
become rows with ``cells``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tasks.dossier.document import PieceText
from tasks.dossier.normalize import fold


@dataclass(slots=True)
class SourceLine:
    """One line (or table row) of a piece, with where it comes from.

    ``cells`` is set for a table row (its cells, in order); ``text`` is then the cells
    joined by spaces; ``head`` marks the first row of a table block of the document
    model (PDF, DOCX, ODT, HTML: the model knows the table's head). ``page`` (PDF) or ``line`` (1-based line of a text file, paragraph
    index of a DOCX/ODT) locate it; ``heading`` is the label of its section.
    """

    text: str
    file: str = ""
    page: int | None = None
    line: int | None = None
    heading: str | None = None
    section: int = -1
    cells: list[str] | None = None
    head: bool = False

    def where(self) -> str:
        """« RC.pdf p. 8 », « rc.md:42 » (for messages)."""
        if self.page:
            return f"{self.file} p. {self.page}"
        if self.line:
            return f"{self.file}:{self.line}"
        return self.file


@dataclass
class CriterionRead:
    """A criterion as read: name, weight as written and normalised, type, sub-criteria.

    ``poids``: % of the total score (None when the piece gives no weight);
    ``ecrit``: the weight as written (« 60 % », « 50 », « 3 »); ``unite``: « % »,
    « sur 100 », « points », « coefficient », « pondération », with « (dans le critère) »
    for a sub-weight relative to its parent.
    """

    nom: str
    poids: float | None
    ecrit: str | None = None
    unite: str | None = None
    type: str = "autre"
    sous: list[CriterionRead] = field(default_factory=list)
    source: SourceLine | None = None
    description: str = ""
    # parsing state
    _value: float | None = None
    _unit: str | None = None
    _expect_subs: bool = False
    _relative: bool = False

    def to_yaml_dict(self) -> dict:
        """The tender.yaml form (``nom``, ``poids``, ``poidsEcrit``, ``unite``, ``type``,
        ``sousCriteres``)."""
        d: dict = {"nom": self.nom, "poids": _round(self.poids), "type": self.type}
        if self.ecrit is not None:
            d["poidsEcrit"] = self.ecrit
        if self.unite:
            d["unite"] = self.unite
        if self.sous:
            d["sousCriteres"] = [s.to_yaml_dict() for s in self.sous]
        return d


@dataclass(slots=True)
class CriteriaProblem:
    """A problem of a criteria set, in French, with where it was read."""

    rule: str
    message: str
    source: SourceLine | None = None


@dataclass
class CriteriaSet:
    """The criteria of one zone of a piece (and one lot, when the zone is per lot)."""

    file: str
    lot: int | None
    criteres: list[CriterionRead]
    source: SourceLine | None = None
    problems: list[CriteriaProblem] = field(default_factory=list)

    def flat(self) -> list[CriterionRead]:
        out: list[CriterionRead] = []
        for c in self.criteres:
            out.append(c)
            out.extend(c.sous)
        return out

    def signature(self) -> tuple:
        """Names folded and weights, to compare two sets."""
        return tuple(
            (_key(c.nom), _round(c.poids), tuple(_round(s.poids) for s in c.sous))
            for c in self.criteres
        )


def _round(v: float | None) -> float | None:
    if v is None:
        return None
    r = round(v, 2)
    return int(r) if r == int(r) else r


def _key(name: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", fold(name)))


# --------------------------------------------------------------------------- lines


_PIPE_ROW = re.compile(r"^\s*\|(.*)\|\s*$")
_PIPE_SEP = re.compile(r"^\s*\|?[\s:|-]+\|?\s*$")
_GRID_SEP = re.compile(r"^\s*\+[-=+:]+\+\s*$")


def _model_rows(piece: PieceText) -> dict[int, list[list[str]]]:
    """Rows (cell texts) of each table block of the piece's document model, by block
    index, in the order :meth:`PieceText.from_model` writes them as lines (rows without
    text skipped); empty for Markdown and text pieces, whose pipe rows are read as text."""
    model = piece.model
    if model is None or piece.format in ("md", "txt", "markdown"):
        return {}
    return {
        bi: [[c.text for c in row] for row in b.rows if any(c.text for c in row)]
        for bi, b in enumerate(model.blocks)
        if b.kind == "table" and b.rows
    }


def lines_of(piece: PieceText) -> list[SourceLine]:
    """The lines of a piece as :class:`SourceLine`; table rows become rows with ``cells``:
    from the document model's table blocks (their rows and cells, as read from the PDF,
    DOCX, ODT or HTML) where the piece has one, from the text of Markdown pipe rows (and
    grid tables) otherwise."""
    out: list[SourceLine] = []
    model_rows = _model_rows(piece)
    row_at: dict[int, int] = {}  # table block → rows already given
    for ln in piece.lines:
        text = ln.text
        heading = piece.sections[ln.section].label() if ln.section >= 0 else None
        cells = None
        rows = model_rows.get(ln.block)
        at = row_at.get(ln.block, 0)
        if rows is not None and at < len(rows):
            cells = rows[at]
            row_at[ln.block] = at + 1
            text = " ".join(c for c in cells if c)
        elif "<td" in text or "<th" in text:
            found = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", text, flags=re.S)
            if found:
                cells = [re.sub(r"<[^>]+>", "", c).strip() for c in found]
                text = " ".join(c for c in cells if c)
        elif re.search(r"</?(?:tr|tbody|thead|table|div|caption)\b", text):
            text = re.sub(r"<[^>]+>", " ", text).strip()
            if not text:
                continue
        if cells is None and "|" in text:
            if _GRID_SEP.match(text) or (_PIPE_SEP.match(text) and "-" in text):
                continue
            m = _PIPE_ROW.match(text)
            if not m and " | " in text:
                m = re.match(r"(.*)", text)  # a table row of the document model: « a | b »
            if m:
                cells = [c.strip() for c in m.group(1).split("|")]
                cells = [c.replace("**", "").strip() for c in cells]
                if not any(cells):
                    continue
                text = " ".join(c for c in cells if c)
        out.append(
            SourceLine(
                text=text,
                file=piece.path,
                page=ln.page,
                line=ln.src_line,
                heading=heading,
                section=ln.section,
                cells=cells,
                head=rows is not None and at == 0 and cells is not None,
            )
        )
    return out
