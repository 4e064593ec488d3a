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
