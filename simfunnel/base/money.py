"""Money as a person reads it: ISO 4217 currency codes, their symbols, and amounts written with
them ("$25.3M", "EUR 1,200" where a currency has no symbol of its own, "-¥950K").

Why Babel: the symbols and compact forms come from the Unicode CLDR data it ships, so that no
table of currencies is kept by hand. Amounts are written in English (``en_US``) forms, as the
rest of the tool's text is.
"""

from __future__ import annotations

import math
from functools import cache

from babel.numbers import format_compact_currency, format_currency, get_currency_symbol
from babel.numbers import list_currencies as _babel_currencies

__all__ = ["DEFAULT_CURRENCY", "currency_symbol", "is_currency", "money"]

DEFAULT_CURRENCY = "USD"  # a scenario that names none; its assumptions say so
LOCALE = "en_US"


@cache
def _codes() -> frozenset[str]:
    return frozenset(_babel_currencies())


def is_currency(code: str) -> bool:
    """Whether ``code`` is an ISO 4217 code that CLDR knows (``USD``, ``EUR``, ``JPY``...)."""
    return code in _codes()


@cache
def currency_symbol(code: str) -> str:
    """The symbol a reader in English sees ("$", "€", "¥"); the code itself where CLDR has none."""
    return str(get_currency_symbol(code, locale=LOCALE))


def money(
    value: float,
    currency: str,
    *,
    compact: bool = True,
    signed: bool = False,
    symbol: str | None = None,
) -> str:
    """An amount with its currency: compact ("$25.3M", "$12.3K", "$850") or whole
    ("$25,298,340"); ``signed`` puts "+" before a gain; ``symbol`` replaces the currency's own
    (a scenario may write "US$"). Blank for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    x = float(value)
    sign = "-" if x < 0 else ("+" if signed and x > 0 else "")
    size = abs(x)
    if math.isinf(size):
        return f"{sign}{currency_symbol(currency)}inf"
    if compact and size >= 1000:
        text = str(format_compact_currency(size, currency, locale=LOCALE, fraction_digits=1))
    else:
        pattern = "¤#,##0" if size >= 1 or size == 0 else "¤#,##0.00"
        text = format_currency(size, currency, format=pattern, locale=LOCALE, currency_digits=False)
    text = str(text).replace("\xa0", " ")
    own = currency_symbol(currency)
    shown = own if symbol is None else symbol
    if text.startswith(own):
        number = text[len(own) :].lstrip()
        # "CHF 1,200", not "CHF1,200": a symbol made of letters stands apart from the number.
        text = f"{shown} {number}" if shown[-1:].isalpha() else f"{shown}{number}"
    return sign + text
