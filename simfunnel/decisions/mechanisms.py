"""What a sizing answer pays for, measured: each mechanism a role has beside its headcount
(ramp, learning curve, attrition, leave) taken out at the answer and one fewer, on the same
replications, so that the verdict can name those without which one rep fewer would do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..base.units import WEEK
from ..experiments import Experiment, RunOptions, run
from ..scenario import Scenario, with_overrides
from .levers import ROLE_PATHS, headcount_path, staff_of
from .measures import Target, pass_bounds, replication_reports, share_met

__all__ = ["explain_answer", "mechanisms_of"]


def mechanisms_of(scenario: Scenario, role: str) -> dict[str, dict[str, Any]]:
    """What the role has in this scenario beside its headcount, each as the overrides that take
    it out: ramp and learning curve (only when someone new joins: attrition back-fills, planned
    hires, or a starting team given a tenure), attrition, and leave (AEs have none)."""
    staff = staff_of(scenario, role)
    path = ROLE_PATHS[role]
    newcomers = (
        staff.attrition_per_year > 0
        or any(c.hire for c in staff.plan)
        or getattr(staff, "starting_tenure_months", None) is not None
    )
    found: dict[str, dict[str, Any]] = {}
    if staff.ramp and newcomers:
        found["ramp"] = {f"{path}.ramp": []}
    if getattr(staff, "skill_ramp", ()) and newcomers:
        found["learning curve"] = {f"{path}.skill_ramp": []}
    if staff.attrition_per_year > 0:
        found["attrition"] = {f"{path}.attrition_per_year": 0.0}
    if getattr(staff, "pto_days_per_year", 0.0) > 0:
        found["leave"] = {f"{path}.pto_days_per_year": 0.0}
    return found


def _paired(with_: Sequence[float], without: Sequence[float]) -> tuple[float, float, float]:
    """Mean of the paired differences (without - with) and its 95% t interval."""
    if len(with_) != len(without):  # a failed replication: no pairs to trust
        return math.nan, math.nan, math.nan
    d = np.asarray(without, dtype=float) - np.asarray(with_, dtype=float)
    d = d[~np.isnan(d)]
    if d.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(d.mean())
    if d.size < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size))
    return mean, mean - half, mean + half


def explain_answer(
    scenario: Scenario,
    role: str,
    answer: int,
    tried: Mapping[int, Experiment],
    goals: Sequence[Target],
    confidence: float,
    options: RunOptions,
    least: int = 0,
) -> tuple[pd.DataFrame, dict[tuple[str, int], Experiment]]:
    """Each mechanism removed at the answer and one fewer, on the replications of the search
    (same seed): the pass rate and the binding target's metric with and without it.

    ``least``: the fewest replications to compare on (the sizing rule's first pass, 11 for an
    80% rule). One fewer usually failed on 3 runs, too few to say it would pass without a
    mechanism; it is run on to ``least`` first (the runs it has are reused). With ``least``,
    "one fewer would do" needs the pass rate without the mechanism shown above ``confidence``
    (:func:`pass_bounds`), as the search would judge it."""
    weeks = scenario.horizon / WEEK
    path = headcount_path(scenario, role)
    levels = [answer - 1, answer] if answer > 1 else [answer]
    searched = {k: int(tried[k].totals["replication"].nunique()) for k in levels}
    done = {
        k: tried[k]
        if searched[k] >= least
        else run(next(iter(tried[k].scenarios.values())), least, options=options)
        for k in levels
    }
    base = {k: replication_reports(done[k]) for k in levels}
    # The binding target: the one met least often one below the answer (or at it).
    probe = base[levels[0]]
    binding = min(goals, key=lambda g: np.mean([g.met(g.value_in(r, weeks)) for r in probe]))
    rows, runs = [], {}
    for name, overrides in mechanisms_of(scenario, role).items():
        for k in levels:
            variant = with_overrides(
                scenario, {path: k, **overrides}, source=f"{role} headcount {k} without {name}"
            )
            reps = max(searched[k], least)
            runs[(name, k)] = exp = run(variant, reps, options=options)
            reports = replication_reports(exp)
            with_, without = ([binding.value_in(r, weeks) for r in rs] for rs in (base[k], reports))
            diff, low, high = _paired(with_, without)
            p_with, p_without = share_met(base[k], goals, weeks), share_met(reports, goals, weeks)
            shown = pass_bounds(round(p_without * len(reports)), len(reports))[0] >= confidence
            would_do = p_with < confidence <= p_without and (shown or not least)
            rows.append(
                {
                    "mechanism": name,
                    "headcount": k,
                    "p_all_met_with": p_with,
                    "p_all_met": p_without,
                    "metric": binding.metric,
                    "mean_with": float(np.nanmean(with_)),
                    "mean_without": float(np.nanmean(without)),
                    "diff": diff,
                    "diff_low": low,
                    "diff_high": high,
                    "one_fewer_would_do": k == answer - 1 and would_do,
                }
            )
    columns = [
        "mechanism",
        "headcount",
        "p_all_met_with",
        "p_all_met",
        "metric",
        "mean_with",
        "mean_without",
        "diff",
        "diff_low",
        "diff_high",
        "one_fewer_would_do",
    ]
    return pd.DataFrame(rows, columns=columns), runs
