"""Where a forecast starts and how far it runs: the warm-up that fills the pipeline before the
period (the sales cycle's P90 plus the weeks from inquiry to opportunity, unless the scenario or
a snapshot says otherwise) and the overrides that cut a scenario to the forecast's horizon."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np

from ..base.units import WEEK
from ..model import Snapshot
from ..scenario import Scenario, Staffing, scenario_to_dict

__all__ = ["default_warm_up", "horizon_overrides", "warm_up_weeks"]

WARM_UP_EXTRA_WEEKS = 4  # from inquiry to valid opportunity: the cadence and the first meeting
WARM_UP_MAX_WEEKS = 52


def default_warm_up(scenario: Scenario) -> tuple[int, str]:
    """The warm-up a forecast without a snapshot runs, in weeks, and why: the scenario's own
    ``warm_up`` if set; otherwise the sales cycle's P90 plus 4 weeks, rounded up to whole
    weeks, at most 52 (see the module docstring)."""
    if scenario.warm_up:
        return round(scenario.warm_up / WEEK), "the scenario's own warm_up"
    draws = scenario.ae.sales_cycle.sample(np.random.default_rng(0), 20_000)
    p90 = float(np.quantile(draws, 0.9))  # hours
    weeks = min(WARM_UP_MAX_WEEKS, math.ceil(p90 / WEEK - 1e-9) + WARM_UP_EXTRA_WEEKS)
    return weeks, (
        f"the sales cycle's P90 of {p90 / 24:.0f} days plus {WARM_UP_EXTRA_WEEKS} weeks, so "
        "the funnel is full when the period starts"
    )


def horizon_overrides(scenario: Scenario, weeks: int) -> dict[str, Any]:
    """Overrides that set the horizon to ``weeks`` weeks (durations are written with a unit).

    Bursts and planned hires or exits dated on or after the new end cannot touch the forecast
    period, and a scenario must not hold them, so they are left out: a 13-week forecast of a
    half-year plan then runs as is. (Without its later hires a team may have nobody to work the
    leads; that is reported as the usual one-line error.)
    """
    out: dict[str, Any] = {"horizon": f"{weeks} weeks"}
    data = scenario_to_dict(scenario)
    end = scenario.start + dt.timedelta(weeks=weeks)
    for i, source in enumerate(scenario.sources):
        if any(b.start >= end for b in source.bursts):
            kept = [
                b
                for b, m in zip(data["sources"][i]["bursts"], source.bursts, strict=True)
                if m.start < end
            ]
            out[f"sources.{i}.bursts"] = kept
    teams: list[tuple[str, Staffing, Any]] = [("sdr", scenario.sdr, data["sdr"])]
    if scenario.ae.team is not None:
        teams.append(("ae.team", scenario.ae.team, data["ae"]["team"]))
    if scenario.outbound is not None:
        teams.append(("outbound.bdr", scenario.outbound.bdr, data["outbound"]["bdr"]))
    for path, team, raw in teams:
        if any(c.date >= end.date() for c in team.plan):
            kept = [c for c, m in zip(raw["plan"], team.plan, strict=True) if m.date < end.date()]
            out[f"{path}.plan"] = kept
    return out


def warm_up_weeks(
    scenario: Scenario, snapshot: Snapshot | None, warm_up: int | None
) -> tuple[int, str]:
    """The warm-up a forecast runs, in weeks, and why: beside a snapshot none but the
    scenario's own, else the length asked for or :func:`default_warm_up`."""
    if warm_up is not None and (
        isinstance(warm_up, bool) or not isinstance(warm_up, int) or warm_up < 0
    ):
        raise ValueError(f"warm_up must be a whole number of weeks >= 0 (got {warm_up!r})")
    if snapshot is not None:
        if warm_up:
            raise ValueError(
                "start from a snapshot or after a warm-up, not both: the snapshot is the "
                "funnel at the start (give warm_up=0 or None)"
            )
        return round(scenario.warm_up / WEEK), "the scenario's own warm_up"
    if warm_up is None:
        return default_warm_up(scenario)
    return warm_up, "the length asked for"
