"""The options a threshold comparison runs: every threshold (and toss-up requirement of a
grid) with today's own added, each by the label a leader reads ("MQL 40", "MQL 40 / SQL 2 of
4"), checked before anything runs."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from ..scenario import Scenario
from .objective import FALLBACKS

__all__ = ["check_inputs", "option_grid", "option_label"]


def option_label(threshold: float, require: int, criteria: int, grid: bool) -> str:
    """``MQL 40``, or in a grid of toss-up requirements ``MQL 40 / SQL 2 of 4``."""
    return f"MQL {threshold:g}" + (f" / SQL {require} of {criteria}" if grid else "")


def check_inputs(
    scenario: Scenario,
    thresholds: Sequence[float],
    sql_require: Sequence[int] | None,
    fallback: str,
) -> None:
    """Refuse an empty comparison, an unknown fallback and toss-up requirements out of range,
    before anything runs."""
    if not thresholds and not sql_require:
        raise ValueError("give at least one threshold to compare with the current one")
    if fallback not in FALLBACKS:
        raise ValueError(f"fallback must be one of {', '.join(FALLBACKS)} (got {fallback!r})")
    criteria = len(scenario.toss_up.criteria)
    for r in sql_require or ():
        if not (isinstance(r, (int, np.integer)) and 0 <= r <= criteria):
            raise ValueError(f"sql_require {r!r}: a whole number from 0 to {criteria} (criteria)")


def option_grid(
    scenario: Scenario, thresholds: Sequence[float], sql_require: Sequence[int] | None
) -> tuple[list[float], list[int], dict[str, tuple[float, int]], str]:
    """The options to run: thresholds, toss-up requirements (the scenario's own added to each),
    every pair by its label, and the current option's label."""
    criteria = len(scenario.toss_up.criteria)
    current_t, current_r = float(scenario.scoring.threshold), int(scenario.toss_up.require)
    values = sorted({float(t) for t in thresholds} | {current_t})
    requires = sorted({int(r) for r in sql_require or ()} | {current_r})
    grid = len(requires) > 1
    options = {
        option_label(t, r, criteria, grid): (t, r) for t, r in itertools.product(values, requires)
    }
    return values, requires, options, option_label(current_t, current_r, criteria, grid)
