"""What the cohort model changes in a fitted scenario: the present, not the average.

:func:`simfunnel.calibration.fitting.fit` measures rates over the whole history. A business that grew,
or whose conversion shifted, is then described by a past that no longer holds, and a recent
cohort that has not had time to convert counts as one that failed. This module fits the
cohort model (:mod:`simfunnel.calibration.cohorts`) on the same leads and, where it finds the present
differs, puts the present in the tables ``fit`` builds the scenario from:

- a source's arrival rate becomes the count model's level at the as-of date when it lies
  outside the whole-period average's 95% interval and further from it than twice the error
  the level has shown at earlier origins (growth or decline, not a season's lull);
- the MQL->SQL and SQL->opportunity rates become the cure-fraction rates (open leads
  censored, not failed) over the stage's window (all cohorts, the cohorts since a detected
  shift, or ``since``/``half_life_weeks``).

Each change is said in a note that the fitted YAML carries.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from .cohorts import CohortModel, fit_cohorts

__all__ = ["present_rates"]

# Stage of the fit's conversion table -> the cohort model's stage with the same parent.
_STAGES = {"mql->sql": "sqls", "sql->opportunity": "valid_opportunities"}


def present_rates(
    leads: pd.DataFrame,
    start: pd.Timestamp,
    as_of: pd.Timestamp,
    arrivals: pd.DataFrame,
    conversion: pd.DataFrame,
    since: Any = None,
    half_life_weeks: float | None = None,
) -> tuple[CohortModel | None, pd.DataFrame, pd.DataFrame, list[str]]:
    """The cohort model and the arrival and conversion tables with the present put in; notes
    say what changed. A model that cannot be fitted leaves the tables as they are, said."""
    try:
        model = fit_cohorts(leads, as_of, start=start, since=since, half_life_weeks=half_life_weeks)
    except (ValueError, RuntimeError, FloatingPointError) as exc:
        return (
            None,
            arrivals,
            conversion,
            [f"cohort model not fitted ({exc}): whole-history rates kept"],
        )
    notes = [f"conversion window: {model.window}"]
    arrivals = arrivals.copy()
    for i, row in arrivals.iterrows():
        a = model.arrivals.get(str(row["source"]))
        if a is None:
            continue
        now = a.rate_now()
        # The level now must differ from the average by more than counting noise and by more
        # than twice the error the count model's level has shown (a season's lull is not a
        # new level).
        sd = math.sqrt(a.cov[0, 0] + a.drift)
        gap = abs(math.log(max(now, 1e-9) / max(row["rate_per_week"], 1e-9)))
        if row["low"] <= now <= row["high"] or gap <= 2 * sd:
            continue
        notes.append(
            f"sources[{row['source']}].rate_per_week: {now:.1f} a week now (count model: "
            f"{'+'.join(a.terms)}), not the {row['rate_per_week']:.1f} averaged over "
            f"{row['weeks']:.0f} weeks: the gap is beyond counting noise and twice the level's "
            f"measured error ({sd:.0%})"
        )
        # Its interval from the level's own uncertainty (the fit's and the measured error), not
        # the average's: a point "95% 230.4 to 230.4" read as certainty.
        arrivals.loc[i, ["rate_per_week", "low", "high"]] = [
            now,
            now * math.exp(-1.96 * sd),
            now * math.exp(1.96 * sd),
        ]
        arrivals.loc[i, "basis"] = (
            f"the count model's level now ({'+'.join(a.terms)}, {a.leads} leads over {a.weeks} "
            f"weeks), not the {row['rate_per_week']:.1f} a week of {row['leads']} leads over "
            f"{row['weeks']:.1f} weeks"
        )
    conversion = conversion.copy()
    report = model.report()
    for stage, name in _STAGES.items():
        rows = report[report["stage"] == name]
        mask = (conversion["stage"] == stage) & (conversion["source"] == "all")
        if rows.empty or not mask.any() or rows["n"].sum() <= 0:
            continue
        n = float(rows["n"].sum())
        rate = float((rows["rate"] * rows["n"]).sum() / n)
        low = float((rows["low"] * rows["n"]).sum() / n)
        high = float((rows["high"] * rows["n"]).sum() / n)
        before = float(conversion.loc[mask, "rate"].iloc[0])
        conversion.loc[mask, ["rate", "low", "high"]] = [rate, low, high]
        notes.append(
            f"{stage}: {rate:.1%} with open leads censored (cure-fraction fit), "
            f"against {before:.1%} counting them as failed"
        )
    return model, arrivals, conversion, notes
