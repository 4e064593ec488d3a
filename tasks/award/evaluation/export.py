"""Export of an evaluation result as CSV for a spreadsheet in a French locale."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from tasks import fmt

from .model import CriterionInfo, EvaluationResult, LotResult, OffreResult, _fmt

CSV_SEPARATOR = ";"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(text: str) -> str:
    """A text cell Excel will not run as a formula (OWASP « CSV injection »): ``'`` prefix."""
    return "'" + text if text.startswith(_FORMULA_START) else text


_Column = tuple[str, Callable[[LotResult, OffreResult], object]]

#: The columns before the criteria' points: header, value of an offer's row.
_BEFORE: tuple[_Column, ...] = (
    ("lot", lambda lot, r: lot.lot),
    ("rang", lambda lot, r: "" if r.rang is None else r.rang),
    ("offre", lambda lot, r: _cell(r.id)),
    ("soumissionnaire", lambda lot, r: _cell(r.soumissionnaire)),
    ("siret", lambda lot, r: r.siret),
    ("variante", lambda lot, r: "oui" if r.variante else "non"),
    ("prix_eur_ht", lambda lot, r: _fmt(r.prix)),
)
#: The columns after them.
_AFTER: tuple[_Column, ...] = (
    ("total", lambda lot, r: "" if r.total is None else _fmt(r.total)),
    ("anormalement_basse", lambda lot, r: "oui" if r.anormalementBasse else "non"),
    (
        "rang_sans_criteres_responsables",
        lambda lot, r: "" if r.rangSansResponsables is None else r.rangSansResponsables,
    ),
    ("ecartee", lambda lot, r: _cell(r.ecartee or "")),
)


def to_csv(result: EvaluationResult, *, bom: bool = True) -> str:
    """One row per offer: lot, rank, bidder, SIRET, price (€ HT), points per criterion.

    For Excel in a French locale: ``;`` separator, decimal comma (``74,56``), no thousands
    separator, header row, and (``bom``) a leading U+FEFF so that the text written in
    UTF-8 is UTF-8 with BOM (``utf-8-sig``), which Excel needs to read accents. Criteria
    columns are named « <code> <nom> (<poids> %) »: one per leaf criterion of the lots
    (a lot judged on its own criteria fills its own columns, the others stay empty). Text cells starting with ``=``,
    ``+``, ``-`` or ``@`` get a leading ``'`` (never run as a formula). The JSON export
    (``EvaluationResult.model_dump_json``) stays canonical, with decimal points.
    """
    buf = io.StringIO()
    columns = _leaf_columns(result)
    writer = csv.writer(buf, delimiter=CSV_SEPARATOR, lineterminator="\r\n")
    writer.writerow(
        [name for name, _ in _BEFORE] + [_cell(c) for c in columns] + [name for name, _ in _AFTER]
    )
    for lot in result.lots:
        codes = {_label(c): c.code for c in result.criteria_of(lot) if c.feuille}
        for r in lot.offres:
            points = [
                _fmt(r.points[codes[label]]) if codes.get(label) in r.points else ""
                for label in columns
            ]
            writer.writerow(
                [value(lot, r) for _, value in _BEFORE]
                + points
                + [value(lot, r) for _, value in _AFTER]
            )
    return ("\ufeff" if bom else "") + buf.getvalue()


def _label(c: CriterionInfo) -> str:
    return f"{c.code} {c.nom} ({_fmt_g(c.poids)} %)"


def _leaf_columns(result: EvaluationResult) -> list[str]:
    """Labels of the leaf criteria of every lot, in order of first appearance."""
    sets = [result.criteria_of(lot) for lot in result.lots] or [result.criteres]
    return list(dict.fromkeys(_label(c) for crit in sets for c in crit if c.feuille))


def _fmt_g(x: float) -> str:
    """« 12,5 » (Babel fr_FR, up to 3 decimals, no thousands separator)."""
    return fmt.number(x, grouping=False)
