"""Award criteria as read (:mod:`tasks.check.criteria`): from the lines of a zone to criteria.

Three steps: :func:`_items` reads the weighted items of a zone (names, weights, markers of
sub-criteria, lot markers); :func:`_build` nests them into criteria and sub-criteria;
:func:`_normalise` sets the weights in % of the total, reports sums that do not add up
(R2152-7 CCP: the weighting is stated and sums to the total) and types each criterion
from ``clause_library/criteres.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from tasks import fmt
from tasks.check.criteria_model import CriteriaProblem, CriterionRead, SourceLine
from tasks.check.criteria_text import (
    _DESCRIPTION,
    _EXPECT_SUBS,
    _GLOBAL,
    _LOT_LINE,
    _PROSE,
    _PROSE_CRIT,
    _TOTAL,
    _clean_name,
    _is_head_row,
    _is_header,
    _last_clause,
    _marker,
    _sentence,
    _Weight,
    _weights,
)
from tasks.dossier.normalize import fold

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
    criteria named without weight.

    Line by line: template lines and « Total » rows are skipped; a « Lot N » line marks a
    lot; a table header naming a weight column (by its words, or the head row of a table
    block of the document model naming one: :func:`_is_head_row`) opens a column of bare weights (relative
    to the criterion above when it says « sur 100 »); a table row or a line with a weight
    gives items (:func:`_row_item`, :func:`_line_items`); any other line is kept in the
    block that names or describes the next item."""
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
        if not header and sl.head and sl.cells:
            header, relative = _is_head_row(sl.cells)
        if header:
            column = True
            relative_ctx = relative and bool(items)
            block = []
            continue
        if sl.cells:
            found = _row_item(sl, sl.cells, block, relative_ctx)
            new = [found] if found else None
        else:
            read = _line_items(sl, text, _weights(text, bare_ok=column), block, relative_ctx)
            new, relative_ctx = read if read else (None, relative_ctx)
        if new is None:
            block.append(sl)
            continue
        items.extend(new)
        block = []
    return items, lots, block


def _row_item(
    sl: SourceLine, cells: list[str], block: list[SourceLine], relative_ctx: bool
) -> _Item | None:
    """The item of a table row: the weight of its last weighted cell (not the first
    cell), named by its first cell with words, numbered by its first cell without; None
    when no cell holds a weight."""
    ws: list[_Weight] = []
    ci = 0
    for ci in range(len(cells) - 1, -1, -1):
        cw = _weights(cells[ci], bare_ok=True)
        if cw and ci > 0:
            ws = cw[-1:]
            break
    if not ws:
        return None
    name_cells = [c for c in cells[:ci] if c and re.search(r"[A-Za-zÀ-ÿ]{2}", c)]
    numbering = [c for c in cells[:ci] if c and not re.search(r"[A-Za-zÀ-ÿ]{2}", c)]
    # a row whose first cell describes the criterion (« Définition : Ce critère est noté
    # selon… », PDF ruled tables) has no name of its own: it is named from its block, as
    # the same row read as a line
    described = bool(name_cells) and bool(_DESCRIPTION.match(name_cells[0].strip()))
    first = "" if described or not name_cells else name_cells[0]
    name = _sentence(_clean_name(first), limit=320) if first else ""
    marker = _marker(first) if first else None
    if numbering and marker is None:
        num = numbering[0].strip()
        marker = "sub" if re.fullmatch(r"\d+\.\d+|[a-h]\)?", num) else "top"
    desc = " ".join(name_cells if described else name_cells[1:])
    item = _Item(ws[0], sl, name, marker, block)
    item.block = block + ([SourceLine(desc)] if desc else [])
    item.relative = relative_ctx and marker != "top"
    # « 60 % dont » in the weight cell announces sub-criteria, as on a line
    item.cue_after = bool(_EXPECT_SUBS.search(cells[ci][ws[0].end :]))
    return item


def _name_before(text: str, ws: list[_Weight]) -> str | None:
    """The words that name the first weight of a line: the last clause before it, or the
    name a prose sentence gives (« Le prix représente 40 % »); None when the words
    before the weight are a description, not a name."""
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
            return m_prose.group("name")
        if m_crit:
            return "Critère " + m_crit.group("name")
        return None
    return before


def _line_items(
    sl: SourceLine, text: str, ws: list[_Weight], block: list[SourceLine], relative_ctx: bool
) -> tuple[list[_Item], bool] | None:
    """The items of a line with weights ``ws`` and the relative context after it (a
    weight « de la note globale » ends a « sur 100 » column); None when the line holds no
    weight or is a description."""
    if not ws:
        return None
    before = _name_before(text, ws)
    if before is None:
        return None
    w = ws[0]
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
    items = [item]
    # a second weight on the same line: « Prix 40 % - Valeur technique 60 % »
    for prev, w2 in pairwise(ws):
        seg = _last_clause(text[prev.end : w2.start])
        nm = _clean_name(seg)
        if nm:
            items.append(_Item(w2, sl, nm, _marker(seg), []))
    return items, relative_ctx


def _is_relative_unit(unit: str) -> bool:
    return unit.startswith("sur")


def _build(items: list[_Item], vocab) -> tuple[list[CriterionRead], list[CriteriaProblem]]:
    tops: list[CriterionRead] = []
    problems: list[CriteriaProblem] = []
    unnamed: CriterionRead | None = None
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
        if is_sub and re.search(
            r"de la note (?:technique|du crit)|du crit[eè]re|de ce crit",
            fold(" ".join([it.line.text])),
        ):
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
                if (
                    j > i + 1 - 1
                    and (abs(acc - c._value) <= 0.01 or (abs(acc - 100) <= 0.01 and c._value < 100))
                    and j > i + 1
                ):
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
    scale, problems = _normalise_tops(tops, src)
    for c in tops:
        if c.sous:
            problems += _normalise_subs(c, scale)
    _classify(tops, vocab)
    return problems


_UNITS = {"colonne": "pondération", "ponderation": "pondération"}


def _normalise_tops(
    tops: list[CriterionRead], src: SourceLine | None
) -> tuple[float, list[CriteriaProblem]]:
    """Top-level weights in % of the total: points and coefficients (any unit but % and
    « sur 100 ») are scaled to sum to 100; a set in % that does not sum to 100 is reported.
    Returns the scale applied and the problems."""
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
        c.unite = {"%": "%", **_UNITS}.get(c._unit or "", c._unit)
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
    return scale, problems


def _subs_relative(c: CriterionRead, ssum: float) -> bool:
    """Whether the sub-weights of ``c`` are relative to it: they do not sum to its weight
    but to 100 (or 20, 10, 1), or one is written « sur N »."""
    if c._value is not None and abs(ssum - c._value) <= 0.01:
        return False
    return bool(ssum) and (
        abs(ssum - 100) <= 0.01
        or any(_is_relative_unit(s._unit or "") for s in c.sous)
        or abs(ssum - 20) <= 0.01
        or abs(ssum - 10) <= 0.01
        or abs(ssum - 1) <= 0.01
    )


def _normalise_subs(c: CriterionRead, scale: float) -> list[CriteriaProblem]:
    """Sub-weights of ``c`` in % of the total (relative ones times the parent's share);
    sub-weights that are neither the parent's weight nor a split of 100 are reported."""
    ssum = sum(s._value for s in c.sous if s._value is not None)
    relative = _subs_relative(c, ssum)
    for s in c.sous:
        if s._value is None:
            s.poids = None
            continue
        if relative and c.poids is not None and ssum:
            base = 100.0 if abs(ssum - 100) <= 0.01 or _is_relative_unit(s._unit or "") else ssum
            s.poids = c.poids * s._value / base
            s.unite = f"{'sur 100' if base == 100 else f'sur {base:g}'} (dans le critère)"
        else:
            s.poids = s._value * scale
            s.unite = _UNITS.get(s._unit or "", s._unit)
    if not relative and c._value is not None and abs(ssum - c._value) > 0.01:
        return [
            CriteriaProblem(
                "ponderation-somme",
                f"Les sous-critères de « {c.nom} » totalisent {ssum:g} alors que le critère "
                f"pèse {c.ecrit} : ni la somme du critère, ni une répartition sur 100.",
                c.source,
            )
        ]
    return []


def _classify(tops: list[CriterionRead], vocab) -> None:
    """Type each criterion from its name, sub-criteria and description
    (``clause_library/criteres.yaml``); a sub-criterion takes its parent's type when the
    vocabulary says so (``subs_inherit``) or its name says nothing."""
    for c in tops:
        c.type = vocab.classify(c.nom, [s.nom for s in c.sous], c.description)
        for s in c.sous:
            s.type = vocab.sub_type(c.type, s.nom)
