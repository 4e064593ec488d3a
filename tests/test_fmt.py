"""French formatting (tasks/fmt.py): Babel's fr_FR conventions, month arithmetic."""

from __future__ import annotations

import datetime as dt

from tasks import fmt

NNBSP = "\u202f"
NBSP = "\u00a0"


def test_numbers_amounts_percentages_in_french():
    assert fmt.number(12345.5) == f"12{NNBSP}345,5"
    assert fmt.number(1234567, 0) == f"1{NNBSP}234{NNBSP}567"
    assert fmt.amount(300000) == f"300{NNBSP}000,00{NBSP}€ HT"
    assert fmt.amount(12.6, decimals=0, suffix="€") == f"13{NBSP}€"
    assert fmt.percent(30) == f"30{NBSP}%"
    assert fmt.percent(30.5, 1) == f"30,5{NBSP}%"


def test_dates_written_out_and_in_figures():
    assert fmt.date(dt.date(2026, 8, 22)) == "22 août 2026"
    assert fmt.date_short(dt.date(2026, 8, 2)) == "02/08/2026"


def test_months_are_calendar_months_not_days():
    # « deux mois » after 31 December is the end of February, not 62 days later.
    assert fmt.add_months(dt.date(2026, 12, 31), 2) == dt.date(2027, 2, 28)
    assert fmt.add_months(dt.date(2028, 1, 31), 1) == dt.date(2028, 2, 29)


def test_clause_numbers_keep_every_digit_and_four_digit_numbers_ungrouped():
    assert fmt.number(1234.5678, exact=True) == f"1{NNBSP}234,5678"
    assert fmt.number(5000, grouping=False) == "5000"
    assert fmt.number(10000) == f"10{NNBSP}000"


def test_clause_parameter_values_rendered_in_french():
    from tasks.clausier.render import format_value

    assert format_value(1.5) == "1,5"
    assert format_value(7.0) == "7"
    assert format_value(5000) == "5000"
    assert format_value(100000) == f"100{NNBSP}000"
    assert format_value(True) == "oui"
