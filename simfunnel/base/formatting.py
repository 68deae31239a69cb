"""Figures as a person reads them: 1,234 / 12.5 / 0.42 / 42%, and intervals as ``mean (low to high)``;
shares that are undefined (NaN) rather than 0 when there is nothing to share; messages on one line.

Why one module: the report, the terminal and the verdicts write numbers the same way.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

__all__ = ["fmt", "interval", "missing", "one_line", "share", "value_text"]


def fmt(value: Any, percent: bool = False) -> str:
    """A figure as a reader wants it: 1,234 / 12.5 / 0.42 / 0.0045 / 42%; blank for a missing
    one; never in scientific notation (also ``pandas``' ``display.float_format`` in notebooks)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if percent:
            return f"{value:.0%}"
        if math.isinf(value):
            return "inf"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        if abs(value) >= 1 or value == 0:
            return f"{value:.2f}"
        # Two significant digits, never in scientific notation: 0.0045, not 4.5e-03.
        digits = min(12, 1 - math.floor(math.log10(abs(value))))
        return f"{value:.{digits}f}"
    return str(value)


def interval(
    mean: float, low: float, high: float, percent: bool = False, sign: bool = False
) -> str:
    """``mean (low to high)``, signed for differences."""

    def f(x: float) -> str:
        if isinstance(x, float) and math.isnan(x):
            return ""
        if percent:  # a change of a share is in percentage points
            return f"{100 * x:+.1f} pp" if sign else f"{x:.0%}"
        text = fmt(float(x))
        return ("+" + text) if sign and x > 0 else text

    if any(isinstance(v, float) and math.isnan(v) for v in (mean, low, high)):
        return f(mean)
    return f"{f(mean)} ({f(low)} to {f(high)})"


def value_text(value: Any) -> str:
    """A parameter's value as the scenario would hold it: whole numbers without decimals."""
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e6:
        return f"{value:g}"
    return fmt(value)


def missing(x: Any) -> bool:
    """True for None, NaN and pandas' missing values alike."""
    return x is None or (isinstance(x, float) and math.isnan(x)) or bool(pd.isna(x))


def share(numerator: float, denominator: float | None) -> float:
    """numerator / denominator, NaN when the denominator is missing, NaN or 0 (a share of
    nothing is undefined, not 0)."""
    if denominator is None or not denominator or math.isnan(float(denominator)):
        return math.nan
    return float(numerator) / float(denominator)


def one_line(text: Any) -> str:
    """A message on one line, so that a refusal quoting a library or a value stays one line."""
    return " ".join(str(text).split())
