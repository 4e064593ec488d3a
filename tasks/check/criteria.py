"""Award criteria read as written in a RC or a notice (R2152-7 to R2152-12 CCP).

What is read, from tables (rows of cells, Markdown pipe tables, PDF table rows as lines),
lists and prose of the zones that speak of award criteria (« Jugement des offres »,
« Critères d'attribution », « II.2.5) », « 5.1.10 »…):

* weights written ``60 %``, ``30,5 %``, ``40/100``, ``20 points``, ``coefficient 3``, a bare
  ``Pondération : 40`` or ``Critère d'attribution — Nombre : 40`` (eForms notices), a
  column of bare numbers under a « Pondération » header, ``(70 % de la note globale)``;
* sub-criteria (« Sous-critère 1 : … », « dont », numbered 1.1, lettered a)) whose weights
  are either absolute (they sum to their parent's weight) or relative to their parent
  (« Pondération sur 100 » inside a criterion of 70 %: 50 → 35 % of the total);
* criteria per lot (« Lot 1 : … » before or inside the zone).

Every criterion keeps its weight as written (``ecrit``, e.g. « 50 », and ``unite``, e.g.
« sur 100 (dans le critère) ») beside the normalised weight in % of the total (``poids``).
A set that does not sum to its total (95 %, 150 %), a criterion without a weight or two
sets that disagree are kept, never dropped, and reported as :class:`CriteriaProblem` (in
French, with the page or line). Types come from ``clause_library/criteres.yaml``
(:mod:`tasks.clausier.criteria_vocab`).

Shapes: :func:`read_criteria` takes the pieces as read by :mod:`tasks.dossier.reader`
and returns a list of :class:`CriteriaSet` (one per zone and lot, in reading order).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tasks import fmt
from tasks.dossier.document import PieceText
from tasks.dossier.normalize import fold

__all__ = [
    "CriteriaProblem",
    "CriteriaSet",
    "CriterionRead",
    "SourceLine",
    "lines_of",
    "read_criteria",
    "read_criteria_lines",
]


@dataclass(slots=True)
class SourceLine:
    """One line (or table row) of a piece, with where it comes from.

    ``cells`` is set for a table row (its cells, in order); ``text`` is then the cells
    joined by spaces. ``page`` (PDF) or ``line`` (1-based line of a text file, paragraph
    index of a DOCX/ODT) locate it; ``heading`` is the label of its section.
    """

    text: str
    file: str = ""
    page: int | None = None
    line: int | None = None
    heading: str | None = None
    section: int = -1
    cells: list[str] | None = None

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


def lines_of(piece: PieceText) -> list[SourceLine]:
    """The lines of a piece as :class:`SourceLine`; Markdown pipe-table rows (and grid
    tables) become rows with ``cells``."""
    out: list[SourceLine] = []
    for ln in piece.lines:
        text = ln.text
        heading = piece.sections[ln.section].label() if ln.section >= 0 else None
        cells = None
        if "<td" in text or "<th" in text:
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
            )
        )
    return out


# --------------------------------------------------------------------------- weights

_NUM = r"(?P<v>\d{1,3}(?:[.,]\d{1,2})?)"
_PCT = re.compile(_NUM + r"\s?(?:%|pour\s?cents?\b|pourcents?\b)")
_OVER = re.compile(_NUM + r"\s?/\s?(?P<of>100|20|10|1000)\b")
_POINTS = re.compile(_NUM + r"\s?(?:points?|pts?)\b\.?")
_POINTS = re.compile(_POINTS.pattern, re.I)
_COEF = re.compile(r"\bcoef(?:ficient|f?\.)?(?:\s+de\s+pond[ée]ration)?\s*[:=]?\s*" + _NUM + r"\b")
_COEF = re.compile(_COEF.pattern, re.I)
_BARE_POND = re.compile(
    r"\b(?:pond[ée]ration|poids|crit[èe]re d.attribution\s*[—–-]\s*nombre|nombre)"
    r"(?:\s*\([^)]{0,60}\))?\s*[:=]\s*" + _NUM + r"(?!\s?(?:%|/|points?|pts?|\d))",
    re.I,
)
_PLACEHOLDER = re.compile(r"(?:…|\.{2,}|\bx{1,3}\b|\[[^\]]{0,20}\]|_{2,})\s?%", re.I)
_TRAILING = re.compile(r"(?:^|\s)" + _NUM + r"\s*$")
_NOT_WEIGHT_CTX = re.compile(
    r"(?:not[ée]e?s?|notation|note|bar[eè]me|echelle|chelle)\s+(?:de\s+0\s+)?(?:sur|a|à)\s+\d+\s*$|"
    r"\bsur\s+$|\bde\s+0\s+a\s+$|\bentre\s+0\s+et\s+$|\bx\s*$|[=×*]\s*$|\bart(?:icle)?s?\.?\s+$|"
    r"\b[lrd]\.?\s?$|\bn[°o]\s*$|\bp\.\s*$|\bpage\s+$|\bannexe\s+$|\blot\s+(?:n[°o]\s*)?$"
)
_GLOBAL = re.compile(r"de la note (?:globale|finale|totale)|du total|de la note$", re.I)


@dataclass(slots=True)
class _Weight:
    value: float
    unit: str  # "%", "sur 100", "points", "coefficient", "ponderation", "nombre"
    written: str
    start: int
    end: int
    of: float | None = None  # « 40/100 » → 100


def _num(s: str) -> float:
    return float(s.replace(",", "."))


def _weights(text: str, *, bare_ok: bool) -> list[_Weight]:
    """Weights written on one line (or row), left to right, non-overlapping."""
    found: list[_Weight] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= x or a >= y for x, y in taken)

    def ok_context(a: int) -> bool:
        before = fold(text[max(0, a - 40) : a])
        return not _NOT_WEIGHT_CTX.search(before)

    for rx, unit in (
        (_PCT, "%"),
        (_OVER, "sur"),
        (_POINTS, "points"),
        (_COEF, "coefficient"),
        (_BARE_POND, "ponderation"),
    ):
        for m in rx.finditer(text):
            a, b = m.span("v") if unit == "coefficient" or unit == "ponderation" else m.span()
            if unit in ("coefficient", "ponderation"):
                a, b = m.span()
            if not free(a, b):
                continue
            if unit not in ("coefficient", "ponderation", "points") and not ok_context(m.start()):
                continue
            v = _num(m.group("v"))
            if unit == "%" and v > 100:
                continue
            w = _Weight(v, unit, m.group(0).strip(), a, b)
            if unit == "sur":
                w.of = float(m.group("of"))
                w.unit = f"sur {m.group('of')}"
                if v > w.of:
                    continue
            found.append(w)
            taken.append((a, b))
    for m in _PLACEHOLDER.finditer(text):
        if free(*m.span()):
            found.append(_Weight(float("nan"), "a completer", m.group(0).strip(), *m.span()))
            taken.append(m.span())
    if bare_ok and not found:
        m = _TRAILING.search(text)
        if m and ok_context(m.start("v")):
            v = _num(m.group("v"))
            if 0 < v <= 100:
                found.append(_Weight(v, "colonne", m.group("v"), m.start("v"), m.end("v")))
    found.sort(key=lambda w: w.start)
    return found


# --------------------------------------------------------------------------- zones

_ZONE_START = re.compile(
    r"crit[eè]res? (?:d.attribution|de (?:jugement|choix|s[eé]lection|notation|classement)"
    r"(?: des offres)?|pond[eé]r|retenus|et (?:leur )?pond)|jugement des offres|"
    r"(?:choix|analyse|classement|examen|[eé]valuation|notation|s[eé]lection) des offres|"
    r"choix de l.offre|offre [ée]conomiquement la plus avantageuse|"
    r"pond[eé]ration des crit[eè]res|crit[eè]res d.[eé]valuation|attribution du march",
    re.I,
)
_CANDIDATURE = re.compile(r"candidatures?\b", re.I)
_LOT_LINE = re.compile(
    r"^\s*(?:[-•*]\s*)?(?:pour le |au titre du |concernant le |#+\s*)?lot\s*(?:n\s?[°o]\s*|no\.?\s*|num[eé]ro\s*)?"
    r"(?:[:]\s*lot[- ]?0*)?(?P<n>\d{1,4})\b(?!\s*(?:%|€|euros?\b))",
    re.I,
)
_CRIT_WORD = re.compile(r"\bcrit[eè]res?\b|\bpond[eé]r|\bnote\b|\bnot[eé]", re.I)


def _zone_start(text: str) -> bool:
    f = fold(text)
    if not _ZONE_START.search(f):
        return False
    # criteria for choosing candidates (capacités…) are not award criteria
    return not (_CANDIDATURE.search(f) and "offre" not in f)


# --------------------------------------------------------------------------- names

_PREFIX = re.compile(
    r"^\s*(?:[-–—•*o▪►]\s+|[-–—•*▪►])?\s*(?:(?:\d{1,2}(?:\.\d{1,2}){0,2}|[a-z]|[ivx]{1,4})[.)°]\s+)?"
    r"(?:(?P<sub>sous[- ]?crit[eè]res?|sc)\s*(?:n\s?[°o]\s*)?(?:\d{1,2}(?:\.\d{1,2})?|[a-z])?"
    r"|(?P<top>crit[eè]re)\s*(?:n\s?[°o]\s*)?(?P<num>\d{1,2}|[a-z])\b)?\s*[:.)–—-]?\s*",
    re.I,
)
_SUB_NUMBER = re.compile(r"^\s*(?:\d{1,2}\.\d{1,2}|[a-h]\)|[a-h]\.\s|[ivx]{1,4}\))\s*", re.I)
_TOP_NUMBER = re.compile(r"^\s*\d{1,2}[.)]\s+(?!\d)")
_DESCRIPTION = re.compile(
    r"^(?:d[ée]finition|ce (?:sous[- ])?crit[eè]re|cette|le (?:candidat|montant|prix|soumissionnaire)|"
    r"la note|note\b|les? (?:offres?|[ée]l[ée]ments?)|il |elle |pour |en |apprecie|appr[ée]ci|"
    r"formule|sur la base|au regard|dont\b|soit\b)",
    re.I,
)
_PROSE = re.compile(
    r"(?:^|[,;:.]\s|\bque\s)(?:le |la |l'|les )?(?:crit[eè]re (?:de (?:la |l')?|du |des |d')?)?"
    r"(?P<name>[^,;:.()]{3,90}?)\s*(?:\([^)]{0,60}\)\s*)?"
    r"(?:repr[ée]sente(?:ra)?|compte(?:ra)? pour|p[eè]se(?:ra)?|(?:est|sera) pond[ée]r[ée]e? (?:a|à)|"
    r"intervien(?:t|dra) (?:pour|à hauteur de)|(?:sera|est) affect[ée]e? d.un (?:coefficient|poids) de)"
    r"\b.{0,80}$",
    re.I,
)
_TOTAL = re.compile(r"^\s*\|?\s*(?:\*\*)?(?:sous[- ])?total\b", re.I)
_PROSE_CRIT = re.compile(
    r"\bcrit[eè]re (?P<name>(?:[\w'’-]+ ){0,3}[\w'’-]+)\s*(?:de|à|:|pond[ée]r[ée] à)?\s*$", re.I
)
_EXPECT_SUBS = re.compile(
    r"\bdont\b|sous[- ]crit[eè]res?|d[ée]compos|r[ée]parti[es]? (?:comme suit|de la mani[eè]re)|"
    r"[ée]l[ée]ments suivants|ainsi r[ée]parti|se d[ée]clin|pond[ée]r[ée]s? comme suit",
    re.I,
)
_HEADER_WORDS = {
    "critere",
    "criteres",
    "ponderation",
    "ponderations",
    "poids",
    "note",
    "notes",
    "points",
    "sur",
    "sous",
    "sous-criteres",
    "coefficient",
    "coefficients",
    "n",
    "no",
    "et",
    "de",
    "la",
    "les",
    "des",
    "du",
    "en",
    "valeur",
    "globale",
    "libelle",
    "intitule",
    "%",
    "100",
    "20",
    "nature",
    "notation",
    "maximale",
    "max",
    "attribution",
    "elements",
    "d",
    "appreciation",
    "jugement",
    "methode",
    "bareme",
    "sous-critere",
    "subcriteria",
    "total",
    "offre",
    "offres",
    "technique",
    "techniques",
}


def _is_header(text: str) -> tuple[bool, bool]:
    """(is a table header naming a weight column, declares a relative « sur 100 »)."""
    f = fold(text)
    words = re.findall(r"[a-z%]+|\d+", f)
    if not words or len(words) > 10 or f.rstrip().endswith("."):
        return False, False
    if not any(w.startswith(("ponder", "poids", "point", "coeff", "note")) for w in words):
        return False, False
    if not all(w in _HEADER_WORDS for w in words):
        return False, False
    return True, bool(re.search(r"sur 100|/ ?100|pourcentage du crit", f))


def _clean_name(text: str, *, before_weight: bool = True) -> str:
    t = text.strip().strip("|").strip()
    t = re.sub(r"\*\*|__", "", t)
    m = _PREFIX.match(t)
    if m:
        t = t[m.end() :]
    m_nom = re.search(r"\b(?:nom|intitul[ée]|libell[ée])\s*:\s*(.+)$", t, re.I)
    if m_nom:
        t = m_nom.group(1)
    t = re.sub(r"^\d{1,2}(?:\.\d{1,2})+\s+", "", t)
    t = re.sub(r"^crit[eè]re\s*(?=[«\"“])", "", t, flags=re.I)
    t = re.sub(r"^[«\"“]\s*([^»\"”]+?)\s*[»\"”]", r"\1", t)
    if before_weight:
        t = re.sub(r"\((?:[^()]*)?$", "", t)  # an open parenthesis left by the weight
    t = re.sub(r"\(\s*\)", "", t)
    t = re.sub(
        r"\s*(?:[:=–—-]|\bsoit\b|\bpond[ée]r[ée]e? (?:a|à)\b|\bpond[ée]ration\b|\bpoids\b|\bnot[ée]e?s? sur\b|\bsur\b|\bdont\b|\bde\b|\bà\b)\s*$",
        "",
        t,
        flags=re.I,
    )
    t = re.sub(r"\s*(?:[:=–—-]|\bsoit\b|\bpond[ée]ration\b)\s*$", "", t, flags=re.I)
    t = t.strip(" .;:,-–—/\t")
    return t


def _sentence(text: str, limit: int = 240) -> str:
    """The first sentence of ``text`` (up to a full stop followed by a capital, or « : »)."""
    m = re.search(r"(?<!\b[A-Z])\.(?=\s+[A-ZÀ-Ý])|\s:\s|:\s+(?=[A-ZÀ-Ý])", text)
    s = text[: m.start()] if m else text
    return s[:limit].strip(" .;:")


def _marker(text: str) -> str | None:
    """« sub », « top » or None from the start of a line."""
    t = text.strip()
    m = _PREFIX.match(t)
    if m and m.group("sub"):
        return "sub"
    if m and m.group("top"):
        return "top"
    if _SUB_NUMBER.match(t):
        return "sub"
    return None


# --------------------------------------------------------------------------- parsing


@dataclass
class _Item:
    weight: _Weight | None
    line: SourceLine
    name: str
    marker: str | None
    block: list[SourceLine]
    global_: bool = False
    relative: bool = False
    cue_after: bool = False


def _name_from_block(block: list[SourceLine]) -> tuple[str, str | None]:
    """(name, marker) from the lines read since the previous weight."""
    texts = [b.text.strip() for b in block if b.text.strip()]
    for t in texts:  # « Nom : Valeur technique » (eForms and TED notices)
        m_nom = re.match(r"^(?:[-•*]\s*)?(?:nom|intitul[ée])\s*:\s*(.{2,200})$", t, re.I)
        if m_nom:
            return _clean_name(m_nom.group(1), before_weight=False), None
    # skip connective lines
    while texts and fold(texts[0]).strip(" :") in ("dont", "soit", "et", "avec"):
        texts.pop(0)
    if not texts:
        return "", None
    first = texts[0]
    marker = _marker(first)
    if marker == "sub" or marker == "top":
        return _sentence(_clean_name(first, before_weight=False)), marker
    if _DESCRIPTION.match(first):
        return "", None
    # a title line (short, no full stop) or a name wrapped over several lines
    joined: list[str] = []
    for t in texts:
        if joined and _DESCRIPTION.match(t):
            break
        joined.append(t)
        if t.endswith((".", ":", ";")) or len(" ".join(joined)) > 300:
            break
    return _sentence(_clean_name(" ".join(joined), before_weight=False), limit=320), marker


_PRICING_DOCS = re.compile(r"\b(DPGF|DQE|BPU|DPF|BP)\b")


def _pricing_name(block_texts: list[str], *, last: bool) -> str | None:
    docs = _PRICING_DOCS.findall(" ".join(block_texts))
    if not docs:
        return None
    doc = docs[-1] if last else docs[0]
    return f"Montant total {'de la' if doc in ('DPGF', 'DPF') else 'du'} {doc}"


def _items(
    lines: Sequence[SourceLine],
) -> tuple[list[_Item], list[tuple[int, SourceLine]], list[SourceLine]]:
    """Weighted items of a zone, lot markers (index of the next item, line), and lines of
    criteria named without weight."""
    items: list[_Item] = []
    lots: list[tuple[int, SourceLine]] = []
    block: list[SourceLine] = []
    column = False
    relative_ctx = False
    for sl in lines:
        text = sl.text.strip()
        if not text or "{{" in text or "{%" in text:
            continue
        if _TOTAL.match(text):
            block = []
            continue
        m_lot = _LOT_LINE.match(text)
        if m_lot and len(text) < 140 and not _weights(text, bare_ok=False):
            lots.append((len(items), sl))
            block = []
            continue
        header, relative = _is_header(text)
        if header:
            column = True
            relative_ctx = relative and bool(items)
            block = []
            continue
        cells = sl.cells
        if cells:
            ws = []
            for ci in range(len(cells) - 1, -1, -1):
                cw = _weights(cells[ci], bare_ok=True)
                if cw and ci > 0:
                    ws = cw[-1:]
                    break
            if not ws:
                block.append(sl)
                continue
            name_cells = [c for c in cells[:ci] if c and re.search(r"[A-Za-zÀ-ÿ]{2}", c)]
            numbering = [c for c in cells[:ci] if c and not re.search(r"[A-Za-zÀ-ÿ]{2}", c)]
            name = _clean_name(name_cells[0]) if name_cells else ""
            marker = _marker(name_cells[0]) if name_cells else None
            if numbering and marker is None:
                num = numbering[0].strip()
                marker = "sub" if re.fullmatch(r"\d+\.\d+|[a-h]\)?", num) else "top"
            desc = " ".join(name_cells[1:])
            item = _Item(ws[0], sl, name, marker, block)
            item.block = block + ([SourceLine(desc)] if desc else [])
            item.relative = relative_ctx and marker != "top"
            items.append(item)
            block = []
            continue
        ws = _weights(text, bare_ok=column)
        if not ws:
            block.append(sl)
            continue
        w = ws[0]
        before = text[: w.start]
        if len(ws) > 1 or len(before) > 110:
            clause = _last_clause(before)
            if clause != before and 2 <= len(clause) <= 110:
                before = clause
        if len(before) > 110 or (len(before) > 50 and re.search(r"[.;]\s+\S", before)):
            m_prose = _PROSE.search(text[: w.end + 1])
            m_crit = _PROSE_CRIT.search(before)
            if m_prose:
                before = m_prose.group("name")
            elif m_crit:
                before = "Critère " + m_crit.group("name")
            else:
                block.append(sl)
                continue
        name = _clean_name(before)
        marker = _marker(before) if before.strip() else None
        if name and name[0].islower() and block:
            # a name wrapped over several lines: its beginning is in the block
            head, _m = _name_from_block(block)
            if head:
                name = f"{head} {name}"
                marker = marker or _m
        item = _Item(w, sl, name, marker, block)
        after = text[w.end :]
        if _EXPECT_SUBS.search(after):
            item.cue_after = True
        if _GLOBAL.search(fold(after[:40])) or re.search(r"\(\s*$", before):
            item.global_ = True
            relative_ctx = False
        item.relative = relative_ctx and not item.global_ and marker != "top"
        items.append(item)
        block = []
        # a second weight on the same line: « Prix 40 % - Valeur technique 60 % »
        for w2 in ws[1:]:
            seg = _last_clause(text[ws[ws.index(w2) - 1].end : w2.start])
            nm = _clean_name(seg)
            if nm:
                items.append(_Item(w2, sl, nm, _marker(seg), []))
    return items, lots, block


def _last_clause(text: str) -> str:
    """The last clause of a segment: after the last « . », « ; », « - », « – », « : »
    that separates list entries written on one line."""
    parts = re.split(r"(?:[.;]\s+|\s[-–—•]\s+|:\s+(?=[-–—•]?\s*[A-ZÀ-Ý]))", text)
    parts = [p for p in parts if re.search(r"[A-Za-zÀ-ÿ]{2}", p)]
    return parts[-1].strip() if parts else text


def _is_relative_unit(unit: str) -> bool:
    return unit.startswith("sur")


def _build(items: list[_Item], vocab) -> tuple[list[CriterionRead], list[CriteriaProblem]]:
    tops: list[CriterionRead] = []
    problems: list[CriteriaProblem] = []
    unnamed: CriterionRead | None = None
    unnamed_first = True
    for it in items:
        w = it.weight
        assert w is not None
        name, bmarker = it.name, None
        block_texts = [b.text for b in it.block]
        if not name or len(name) < 2:
            name, bmarker = _name_from_block(it.block)
        marker = it.marker or bmarker
        if unnamed is not None:
            nm = _pricing_name(block_texts, last=False)
            if nm:
                unnamed.nom = nm
            unnamed = None
        crit = CriterionRead(
            nom=name,
            poids=None,
            ecrit=w.written,
            source=it.line,
            description=" ".join(block_texts)[:600],
        )
        crit._value, crit._unit = w.value, w.unit
        if w.unit == "a completer":
            crit._value, crit.unite = None, "à compléter"
        if w.of:
            crit._value = w.value * 100 / w.of if w.of != 100 else w.value
        cur = tops[-1] if tops else None
        cue = bool(_EXPECT_SUBS.search(" ".join(block_texts)))
        if cue and cur is not None:
            cur._expect_subs = True
        is_sub = False
        if cur is not None and marker != "top" and not it.global_:
            if marker == "sub" or it.relative:
                is_sub = True
                cur._relative = cur._relative or it.relative
            elif cur._expect_subs or cur.sous:
                is_sub = _fits(cur, crit)
        if not is_sub and (cue or it.cue_after):
            crit._expect_subs = True
        if is_sub and re.search(r"de la note (?:technique|du crit)|du crit[eè]re|de ce crit", fold(" ".join([it.line.text]))):
            cur._relative = True
        if is_sub and cur is not None:
            cur.sous.append(crit)
            if not crit.nom:
                nm = _pricing_name(block_texts, last=True) if cur.sous[:-1] else None
                if nm:
                    crit.nom = nm
                else:
                    unnamed = crit
        else:
            if not crit.nom:
                crit.nom = f"Critère {len(tops) + 1}"
            tops.append(crit)
        # « dont » right after the weight (same line or next lines) announces sub-criteria
        unnamed_first = unnamed_first
    return _nest_by_sums(tops), problems


def _nest_by_sums(tops: list[CriterionRead]) -> list[CriterionRead]:
    """Flat criteria whose weights sum to more than 100: runs that follow a criterion
    and sum exactly to its weight (or to 100, relative) become its sub-criteria, when
    the criteria left then sum to 100."""
    vals = [c._value for c in tops]
    if len(tops) < 3 or any(v is None for v in vals) or abs(sum(vals) - 100) <= 0.01:
        return tops
    out: list[CriterionRead] = []
    i = 0
    while i < len(tops):
        c = tops[i]
        out.append(c)
        j, acc = i + 1, 0.0
        nested = False
        if not c.sous and c._value:
            while j < len(tops) and not tops[j].sous:
                acc += tops[j]._value or 0
                if j > i + 1 - 1 and (abs(acc - c._value) <= 0.01 or (abs(acc - 100) <= 0.01 and c._value < 100)) and j > i + 1:
                    rest = sum(x._value for x in out) + sum(x._value for x in tops[j + 1 :])
                    if abs(rest - 100) <= 0.01 or True:
                        c.sous = tops[i + 1 : j + 1]
                        c._relative = abs(acc - c._value) > 0.01
                        i = j + 1
                        nested = True
                        break
                if acc > max(c._value, 100) + 0.01:
                    break
                j += 1
        if not nested:
            i += 1
    total = sum(x._value for x in out)
    return out if abs(total - 100) <= 0.01 else tops


def _fits(parent: CriterionRead, crit: CriterionRead) -> bool:
    """Whether ``crit`` can be a sub-criterion of ``parent`` by its weight."""
    if parent._value is None or crit._value is None:
        return True
    used = sum(s._value or 0 for s in parent.sous)
    if parent._relative or (parent.sous and parent.sous[0]._unit != parent._unit):
        return True
    if crit._unit != parent._unit and not (crit._unit == "colonne"):
        return True
    return used + crit._value <= parent._value + 1e-6


def _normalise(tops: list[CriterionRead], src: SourceLine | None, vocab) -> list[CriteriaProblem]:
    """Set ``poids`` (% of the total) and ``unite`` from the values as written; report sums
    that do not add up. Sub-weights are relative when they sum to 100 (or 10, 20…)
    while their parent weighs less, or when written « sur 100 » inside the criterion."""
    problems: list[CriteriaProblem] = []
    values = [c._value for c in tops if c._value is not None]
    units = {c._unit for c in tops if c._value is not None} or {"%"}
    total = sum(values)
    unit = next(iter(units)) if len(units) == 1 else "%"
    scale = 1.0
    if (
        unit in ("points", "coefficient", "ponderation", "colonne")
        and total
        and abs(total - 100) > 0.01
    ):
        scale = 100.0 / total  # points and coefficients are relative by nature
    for c in tops:
        c.poids = None if c._value is None else c._value * scale
        if c._value is None:
            continue
        c.unite = {"%": "%", "colonne": "pondération", "ponderation": "pondération"}.get(
            c._unit or "", c._unit
        )
    if unit in ("%", "sur 100") or (
        unit in ("ponderation", "colonne") and abs(total - 100) <= 0.01
    ):
        if values and len(values) == len(tops) and abs(total - 100) > 0.01:
            problems.append(
                CriteriaProblem(
                    "ponderation-somme",
                    f"Les pondérations des critères lues dans la pièce totalisent {fmt.percent(total)} "
                    "au lieu de 100 %.",
                    src,
                )
            )
    for c in tops:
        if not c.sous:
            continue
        sub_vals = [s._value for s in c.sous if s._value is not None]
        ssum = sum(sub_vals)
        parent_written = c._value
        relative = False
        if parent_written is not None and abs(ssum - parent_written) <= 0.01:
            relative = False
        elif ssum and (
            abs(ssum - 100) <= 0.01
            or any(_is_relative_unit(s._unit or "") for s in c.sous)
            or abs(ssum - 20) <= 0.01
            or abs(ssum - 10) <= 0.01
            or abs(ssum - 1) <= 0.01
        ):
            relative = True
        for s in c.sous:
            if s._value is None:
                s.poids = None
                continue
            if relative and c.poids is not None and ssum:
                base = (
                    100.0 if abs(ssum - 100) <= 0.01 or _is_relative_unit(s._unit or "") else ssum
                )
                s.poids = c.poids * s._value / base
                s.unite = f"{'sur 100' if base == 100 else f'sur {base:g}'} (dans le critère)"
            else:
                s.poids = s._value * scale
                s.unite = {"colonne": "pondération", "ponderation": "pondération"}.get(
                    s._unit or "", s._unit
                )
        if not relative and parent_written is not None and abs(ssum - parent_written) > 0.01:
            problems.append(
                CriteriaProblem(
                    "ponderation-somme",
                    f"Les sous-critères de « {c.nom} » totalisent {ssum:g} alors que le critère "
                    f"pèse {c.ecrit} : ni la somme du critère, ni une répartition sur 100.",
                    c.source,
                )
            )
        elif relative and base != ssum and abs(ssum - base) > 0.01:
            pass
    for c in tops:
        c.type = vocab.classify(c.nom, [s.nom for s in c.sous], c.description)
        for s in c.sous:
            kind = vocab.classify(s.nom, [], "")
            keep = c.type in ("prix", "cout", "environnement", "social", "accessibilite")
            s.type = c.type if kind == "autre" or keep else kind
    return problems


def read_criteria_lines(
    lines: Sequence[SourceLine], *, file: str = "", vocab=None
) -> list[CriteriaSet]:
    """Criteria sets of a sequence of lines (see the module docstring)."""
    if vocab is None:
        from tasks.clausier.criteria_vocab import load_criteria_vocab

        vocab = load_criteria_vocab()
    zones = _zones(lines)
    sets: list[CriteriaSet] = []
    for zone, lot_before in zones:
        items, lots, _tail = _items(zone)
        if not items:
            continue
        groups: list[tuple[int | None, list[_Item], SourceLine]] = []
        if lots and any(i < len(items) for i, _ in lots):
            bounds = [(i, sl) for i, sl in lots]
            first_idx = bounds[0][0]
            if first_idx > 0:
                groups.append((lot_before, items[:first_idx], items[0].line))
            for k, (i, sl) in enumerate(bounds):
                j = bounds[k + 1][0] if k + 1 < len(bounds) else len(items)
                n = int(_LOT_LINE.match(sl.text.strip()).group("n"))
                if items[i:j]:
                    groups.append((n, items[i:j], sl))
        else:
            groups.append((lot_before, items, items[0].line))
        for lot, its, src in groups:
            tops, problems = _build(its, vocab)
            problems += _normalise(tops, src, vocab)
            for c in [*tops, *(s for t in tops for s in t.sous)]:
                if c._value is None:
                    problems.append(
                        CriteriaProblem(
                            "critere-sans-poids",
                            f"Le critère « {c.nom} » n'a pas de pondération lisible.",
                            c.source,
                        )
                    )
            sets.append(
                CriteriaSet(
                    file=file or src.file, lot=lot, criteres=tops, source=src, problems=problems
                )
            )
    sets = [s for s in sets if _credible(s)]
    # a criterion detailed in its own section (« 6.2 Critère Prix (50 points) ») is not a
    # second statement of the criteria when a full set was read
    if any(len(s.criteres) >= 2 for s in sets):
        sets = [s for s in sets if len(s.criteres) >= 2]
    return sets


def _credible(s: CriteriaSet) -> bool:
    """A zone that reads as criteria: two criteria or more, or one named like a criterion
    with a weight in % or points."""
    if len(s.criteres) >= 2:
        return True
    return len(s.criteres) == 1 and bool(s.criteres[0].sous or s.criteres[0].type != "autre")


def _zones(lines: Sequence[SourceLine]) -> list[tuple[list[SourceLine], int | None]]:
    """Zones that speak of award criteria: from a line (or heading) that names them to the
    next section of the same or a higher level that does not, or after 40 lines without
    weight."""
    zones: list[tuple[list[SourceLine], int | None]] = []
    lot: int | None = None
    i = 0
    n = len(lines)
    while i < n:
        sl = lines[i]
        m = _LOT_LINE.match(sl.text.strip())
        if m and len(sl.text) < 140:
            lot = int(m.group("n"))
        if not (
            _zone_start(sl.text)
            or (sl.heading and _zone_start(sl.heading) and _weights(sl.text, bare_ok=False))
        ):
            i += 1
            continue
        start_section = sl.section
        zone: list[SourceLine] = [sl] if _weights(sl.text, bare_ok=False) else []
        quiet = 0
        j = i + 1
        while j < n:
            nl = lines[j]
            if nl.section != start_section and nl.section >= 0:
                title = nl.heading or ""
                if _complete(zone):
                    break
                if not (
                    _zone_start(title)
                    or _weights(nl.text, bare_ok=True)
                    or _CRIT_WORD.search(title)
                    or _LOT_LINE.match(title.split("—")[-1].strip())
                ):
                    break
                start_section = nl.section
            has_w = bool(_weights(nl.text, bare_ok=False)) or bool(_CRIT_WORD.search(nl.text))
            quiet = 0 if has_w else quiet + 1
            if quiet > 40:
                break
            zone.append(nl)
            j += 1
        zones.append((zone, lot))
        i = j
    return zones


def _complete(zone: list[SourceLine]) -> bool:
    """Whether the lines read so far already state a full set (top level sums to 100 %)."""
    items, _lots, _tail = _items(zone)
    if len(items) < 2:
        return False
    from tasks.clausier.criteria_vocab import load_criteria_vocab

    tops, _ = _build(items, load_criteria_vocab())
    vals = [c._value for c in tops]
    return (
        all(v is not None for v in vals)
        and abs(sum(vals) - 100) <= 0.01
        and all(c._unit in ("%", "colonne", "ponderation") for c in tops)
    )


def read_criteria(pieces: Iterable[PieceText], vocab=None) -> list[CriteriaSet]:
    """Criteria sets of the pieces, RC and notices first (the order of the pieces given
    otherwise)."""
    ordered = sorted(pieces, key=lambda p: p.kind not in ("rc", "avis"))
    out: list[CriteriaSet] = []
    for piece in ordered:
        if piece.kind in ("bpu", "dpgf", "dqe", "dpf", "ae"):
            continue
        out.extend(read_criteria_lines(lines_of(piece), file=piece.path, vocab=vocab))
    return out
