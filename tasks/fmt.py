"""French formatting of what a person reads: numbers, amounts, percentages and dates.

One place, built on Babel (CLDR data for ``fr_FR``: narrow no-break space U+202F as
the thousands separator, decimal comma, « € » after the amount) and dateutil for month
arithmetic. Machine formats (JSON, DECP, CSV for programs) never go through here.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

__all__ = ["add_months", "amount", "date", "date_short", "number", "percent"]

LOCALE = "fr_FR"


def number(
    value: float | int | Decimal,
    decimals: int | None = None,
    *,
    exact: bool = False,
    grouping: bool = True,
) -> str:
    """``12 345,5`` — a number in French; ``decimals`` fixes the digits after the
    comma (None: as many as needed, up to 3; with ``exact``, every digit of the value).
    ``grouping=False`` leaves out the thousands separator (« 5000 »)."""
    from babel.numbers import format_decimal  # imported on first use: ~25 ms at start

    try:
        if decimals is None:
            return format_decimal(
                value, locale=LOCALE, decimal_quantization=not exact, group_separator=grouping
            )
        pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
        return format_decimal(value, format=pattern, locale=LOCALE, group_separator=grouping)
    except InvalidOperation:  # past Babel's 28 digits: a value no bound stopped upstream
        return _plain(value, 3 if decimals is None else decimals, grouping)


def _plain(value: float | int | Decimal, decimals: int, grouping: bool) -> str:
    """French form of a number too large for Babel: narrow no-break space between
    thousands, decimal comma."""
    text = f"{Decimal(value):{',' if grouping else ''}.{decimals}f}"
    return text.replace(",", "\u202f").replace(".", ",")


def amount(value: float | int | Decimal, *, decimals: int = 2, suffix: str = "€ HT") -> str:
    """``12 345,50 € HT`` — an amount in euros (``suffix``: « € HT », « € TTC » or « € »).
    Whole amounts may be shown without cents with ``decimals=0``."""
    return f"{number(value, decimals)}\u00a0{suffix}"


def percent(value: float | int | Decimal, decimals: int | None = None) -> str:
    """``30 %`` — ``value`` is already a percentage (30 for 30 %), not a fraction; a
    no-break space stands before « % » as French typography requires."""
    return f"{number(value, decimals)}\u00a0%"


def date(value: dt.date) -> str:
    """``3 décembre 2026`` — a date written out."""
    from babel.dates import format_date

    return format_date(value, format="long", locale=LOCALE)


def date_short(value: dt.date) -> str:
    """``03/12/2026`` — a date in figures."""
    from babel.dates import format_date

    return format_date(value, format="dd/MM/yyyy", locale=LOCALE)


def add_months(value: dt.date, months: int) -> dt.date:
    """``value`` plus ``months`` calendar months (31 January + 1 month = 28 or 29
    February), as a law's « deux mois » is counted (dateutil ``relativedelta``)."""
    from dateutil.relativedelta import relativedelta

    return value + relativedelta(months=months)
