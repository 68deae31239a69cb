"""What a report says before it is HTML, and how its figures are written.

:class:`Report` is the record every per-type builder fills (``decision_content``,
``calibration_content``, ``backtest_content``) and the page renders (``page``); the formatting
helpers here write every figure the same way in all of them: 1,234 / 12.5 / 0.42 / 42%, and
intervals as ``mean (low to high)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..scenario import Scenario

__all__ = ["Chart", "Draw", "Report", "fmt", "interval", "missing", "value_text"]

Draw = Callable[[Any], Any]  # draws on the axes it is given
Chart = tuple[str, Draw, tuple[float, float]]  # caption, draw(ax), figure size in inches


@dataclass
class Report:
    """What a report says, before it is HTML: built per object type by ``build_report``."""

    title: str
    subtitle: str
    verdict: list[str]
    charts: list[Chart]
    kpis: pd.DataFrame
    kpi_note: str
    scenario: Scenario
    notes: list[str] = field(default_factory=list)  # assumptions besides the scenario
    details: pd.DataFrame | None = None  # every figure, folded away
    tables: list[tuple[str, str, pd.DataFrame]] = field(default_factory=list)  # heading, note


def fmt(value: Any, percent: bool = False) -> str:
    """A figure as a reader wants it: 1,234 / 12.5 / 0.42 / 42%; blank for a missing one."""
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
        return f"{value:.2g}"
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
