"""Numbers as CRM exports write them: a decimal point or a decimal comma, thousands
separators, currency symbols and codes on amounts.

A European export (``;``-separated, ``55,3`` and ``10.921,37``) read as if its commas were
thousands separators gives scores ten times too large and deal values a hundred times: so
the decimal mark is stated (``decimal=``, ``--decimal``) or detected per number column from
its values (a column that cannot tell takes the others' mark), and the read stops when none
can (:func:`decimal_mark`). Every value is then read with its column's mark
(:func:`parse_numbers`, :func:`read_number`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .limits import MAX_CALL_SECONDS, CalibrationError
from .tables import SCHEMAS, add_problem

__all__ = ["DECIMAL_MARKS", "decimal_mark", "number_mark", "parse_numbers", "read_number"]

DECIMAL_MARKS = (".", ",")
# Spaces a number may hold as a thousands separator (no-break, narrow no-break, thin) and
# apostrophes (Swiss 10'921.37).
_SPACES = re.compile("[\\s\u00a0\u202f\u2009'\u2019]")
# A currency sign or an ISO code before or after an amount ($10,921.37, 10.921,37 €, USD 50).
_CURRENCY = re.compile(
    "^(?P<sign1>[-+]?)(?:[$\u20ac\u00a3\u00a5\u20b9\u20a9\u20bd\u20ba\u20aa\u20ab\u0e3f\u00a2]"
    "|[A-Z]{3}|[A-Z]{1,2}\\$)?(?P<sign2>[-+]?)(?P<body>[\\d.,]+)"
    "(?:[$\u20ac\u00a3\u00a5\u20b9\u20a9\u20bd\u20ba\u20aa\u20ab\u0e3f\u00a2]|[A-Z]{3})?$"
)
# Per decimal mark: a number with optional thousands groups (the other mark), and a plain one;
# with a decimal point, the Indian grouping of lakhs and crores too (1,03,680.60; 12,34,567).
_GROUPED = {
    ".": re.compile(r"^[-+]?(?:[1-9]\d{0,2}(?:,\d{3})+|[1-9]\d?(?:,\d\d)+,\d{3}|\d+)(?:\.\d+)?$"),
    ",": re.compile(r"^[-+]?(?:[1-9]\d{0,2}(?:\.\d{3})+|\d+)(?:,\d+)?$"),
}
# Evidence for a mark: both marks (the last is the decimal), one mark that cannot be a
# thousands separator (not followed by exactly three digits, or after a leading 0), or the
# other mark repeated in groups of three (1,234,567).
_ONE = {mark: re.compile(rf"^[-+]?\d+{re.escape(mark)}\d+$") for mark in DECIMAL_MARKS}
_GROUP = {
    mark: re.compile(rf"^[-+]?[1-9]\d{{0,2}}{re.escape(mark)}\d{{3}}$") for mark in DECIMAL_MARKS
}
_REPEATED = {
    mark: re.compile(rf"^[-+]?[1-9]\d{{0,2}}(?:{re.escape(mark)}\d{{3}}){{2,}}$")
    for mark in DECIMAL_MARKS
}
# Numbers that cannot be negative: field -> what it is, for the report.
_NON_NEGATIVE = {"amount": "amount", "duration_s": "duration"}
_TOLERATED = 2  # values showing the other mark ignored (then blanked as not numbers) ...
_TOLERATED_SHARE = 0.01  # ... or this share of those showing a mark


def _bare(values: pd.Series, currency: bool) -> pd.Series:
    """Values without spaces and, for amounts, without a currency sign or code."""
    out = values.str.replace(_SPACES, "", regex=True)
    if currency:
        found = out.str.extract(_CURRENCY)
        sign = found["sign1"].fillna("") + found["sign2"].fillna("")
        out = out.where(found["body"].isna(), sign + found["body"].fillna(""))
    return out


def _evidence(values: pd.Series) -> dict[str, pd.Series]:
    """Per value, whether it shows a decimal point, a decimal comma, or only a mark that may
    be either (``10,921``: ten thousand, or ten with three decimals)."""
    both = values.str.contains(".", regex=False) & values.str.contains(",", regex=False)
    last = values.str.extract(r"([.,])\d+$")[0]
    out = {}
    for mark, other in ((".", ","), (",", ".")):
        grouped = both & (last == mark) & values.str.match(_GROUPED[mark])
        own = values.str.match(_ONE[mark]) & ~values.str.match(_GROUP[mark])
        out[mark] = grouped | own | values.str.match(_REPEATED[other])
        out[f"maybe{mark}"] = values.str.match(_GROUP[mark])
    return out


@dataclass
class _Marks:
    """What a column's values show: counts of values with a decimal point, a decimal comma,
    or a mark that may be either (``.``, ``,``, ``maybe.``, ``maybe,``), and an example each."""

    counts: dict[str, int]
    examples: dict[str, str]

    @classmethod
    def of(cls, column: str, values: pd.Series, currency: bool) -> _Marks:
        """The marks a column's non-blank values show."""
        bare = _bare(values[values != ""], currency)
        counts, examples = {}, {}
        for key, hits in _evidence(bare).items():
            counts[key] = int(hits.sum())
            if hits.any():
                examples[key] = f"{bare[hits].iloc[0]!r} in column '{column}'"
        return cls(counts, examples)

    def shown(self, path: str) -> str | None:
        """The mark the values show (None: no value tells), refused when they show both
        beyond a stray value or two (which are then blanked as not numbers)."""
        point, comma = self.counts["."], self.counts[","]
        if min(point, comma) > max(_TOLERATED, _TOLERATED_SHARE * (point + comma)):
            raise CalibrationError(
                f"{path}: numbers written with both a decimal point ({self.examples['.']}) "
                f"and a decimal comma ({self.examples[',']}): {_ASK}"
            )
        if point or comma:
            return "," if comma > point else "."
        return None


_ASK = "state decimal='.' or decimal=',' (--decimal . or --decimal ,)"


def decimal_mark(
    columns: dict[str, pd.Series],
    decimal: str | None,
    sep: str,
    path: str,
    currency: set[str] | None = None,
) -> tuple[dict[str, str], str | None]:
    """The decimal mark of each number column (``columns``: column name -> text values), and
    a note naming the columns read with a decimal comma (None when there are none).

    Stated (``decimal``), or detected per column: values with a decimal comma (``55,3``,
    ``10.921,37``) and none with a decimal point make it ``,``, and the other way round ``.``.
    A column whose values could be either (``10,921``, ``1.500``) takes the mark the other
    columns show; with none, ``.`` in a comma-separated file (a comma there is a thousands
    separator), while in a file separated otherwise the read stops and asks for
    ``decimal=``. So does a column showing both marks, beyond a stray value or two."""
    if decimal is not None:
        if decimal not in DECIMAL_MARKS:
            raise CalibrationError(f"decimal must be '.' or ',' (got {decimal!r})")
        return dict.fromkeys(columns, decimal), None
    marks = {c: _Marks.of(c, v, c in (currency or set())) for c, v in columns.items()}
    shown = {c: m.shown(path) for c, m in marks.items()}
    told = {mark for mark in shown.values() if mark is not None}
    default = told.pop() if len(told) == 1 else "." if sep == "," else None
    out: dict[str, str] = {}
    for column, mark in shown.items():
        if mark is None and default is None:
            maybe = [
                marks[column].examples[k]
                for k in ("maybe,", "maybe.")
                if k in marks[column].examples
            ]
            if maybe:
                raise CalibrationError(
                    f"{path}: the decimal mark cannot be told in a {sep!r}-separated file: "
                    f"{' and '.join(maybe)} could be a whole number with a thousands separator "
                    f"or a number with three decimals; {_ASK}"
                )
        out[column] = mark or default or "."
    comma = [c for c, mark in out.items() if mark == ","]
    if not comma:
        return out, None
    example = next((marks[c].examples[","] for c in comma if "," in marks[c].examples), None)
    return out, (
        "read with a decimal comma and '.' between thousands (detected"
        + (f", e.g. {example}" if example else "")
        + "); state decimal='.' if that is wrong"
    )


def parse_numbers(values: pd.Series, decimal: str, currency: bool = False) -> pd.Series:
    """Values read as numbers with the decimal mark ``decimal`` and the other as thousands
    separator (in groups of three), spaces dropped, and for ``currency`` a sign or code
    (``$``, ``€``, ``EUR``) dropped too; anything else (``1,2,3``, text) is NaN."""
    bare = _bare(values, currency)
    other = "," if decimal == "." else "."
    grouped = bare.str.match(_GROUPED[decimal])
    plain = bare.where(~grouped, bare.str.replace(other, "", regex=False))
    if decimal == ",":
        plain = plain.where(~grouped, plain.str.replace(",", ".", regex=False))
        # 1,5e3 and the like: a comma before an exponent.
        exponent = r"^([-+]?\d*),(\d+[eE])"
        plain = plain.where(grouped, plain.str.replace(exponent, r"\1.\2", regex=True))
    # Left over: scientific notation, inf, nan (reported as not finite), a leading dot.
    unparsed = ~grouped & plain.str.contains(other, regex=False)
    number = pd.to_numeric(plain.where(~unparsed, ""), errors="coerce")
    return number.where(values != "")


def number_mark(
    raw: pd.DataFrame,
    cols: dict[str, str],
    kind: str,
    sep: str,
    path: str,
    problems: list[dict[str, Any]],
    decimal: str | None,
) -> dict[str, str]:
    """The decimal mark of each of the table's number columns, by column, stated or detected
    (:func:`decimal_mark`); a detected decimal comma is noted."""
    numbers = {
        cols[name]: raw[cols[name]].astype(str).str.strip()
        for name, kind_, _ in SCHEMAS[kind]
        if kind_ == "number" and cols.get(name) in raw.columns
    }
    amounts = {cols[name] for name in ("amount",) if cols.get(name) in raw.columns}
    marks, note = decimal_mark(numbers, decimal, sep, path, amounts)
    if note:
        comma = ", ".join(c for c, mark in marks.items() if mark == ",")
        add_problem(problems, path, None, comma, note, None, "note")
    return marks


def read_number(
    values: pd.Series,
    name: str,
    column: str,
    line: pd.Series,
    path: str,
    problems: list[dict[str, Any]],
    mark: str = ".",
) -> pd.Series:
    """A number column read with the table's decimal mark (thousands separators, and on an
    amount a currency sign, dropped): what is not a finite number, negative where it cannot
    be, or a call longer than a day, is blanked and reported."""
    number = parse_numbers(values, mark, currency=name == "amount")
    wrong = (values != "") & number.isna()
    for i in values.index[wrong]:
        add_problem(problems, path, line[i], column, "not a number", values[i], "blanked")
    infinite = np.isinf(number)
    for i in values.index[infinite]:
        add_problem(problems, path, line[i], column, "not a finite number", values[i], "blanked")
    number = number.where(~infinite)
    if name in _NON_NEGATIVE:
        negative = number < 0
        for i in values.index[negative]:
            what = f"negative {_NON_NEGATIVE[name]}"
            add_problem(problems, path, line[i], column, what, values[i], "blanked")
        number = number.where(~negative)
    if name == "duration_s":
        long = number > MAX_CALL_SECONDS
        for i in values.index[long]:
            what = "a call longer than a day"
            add_problem(problems, path, line[i], column, what, values[i], "blanked")
        number = number.where(~long)
    return number
