"""Spreadsheet baselines: the answers a leader would compute in a spreadsheet, without simulating.

Every decision report puts one of these beside the simulation. They are deliberately naive:
nominal rates for a lead of average quality, unlimited rep time, no waiting, no speed-to-lead
decay, Poisson arrivals and exponential handling where queueing enters. The gap between a
baseline and the simulation is the point: it is what finite capacity, queues, cadences, decay,
recycling and ramp do to the funnel.

- :func:`reverse_waterfall` / :func:`reverse_waterfall_for`: revenue target back to leads.
- :func:`spreadsheet_funnel`: leads forward to wins, by source, per week.

The queueing baselines (Erlang staffing, the SDR workload) are in
:mod:`simfunnel.decisions.workload`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..base.formatting import share
from ..base.units import WEEK
from ..scenario import Cadence, Outbound, Scenario, ScoreModel, Source

# --------------------------------------------------------------------------- reverse waterfall


@dataclass(frozen=True)
class WaterfallRates:
    """The conversion rates of a spreadsheet funnel (shares 0-1) and the mean deal value."""

    deal_value: float  # currency per won deal
    win_rate: float  # valid opportunity -> won
    valid_rate: float  # SQL -> valid opportunity (accepted by the AE)
    sql_rate: float  # MQL -> SQL
    mql_rate: float  # lead (inquiry) -> MQL


def _check_share(name: str, value: float) -> None:
    if not 0.0 < value <= 1.0:
        raise ValueError(f"{name} must be a share in (0, 1] (got {value!r})")


def reverse_waterfall(
    revenue_target: float,
    *,
    deal_value: float,
    win_rate: float,
    valid_rate: float,
    sql_rate: float,
    mql_rate: float,
    weeks: float | None = None,
) -> pd.DataFrame:
    """Work a revenue target back up the funnel: wins, valid opportunities, SQLs, MQLs, leads.

    Why: this is the first sum every plan starts from ("how many leads does the target take?").
    Each row is a stage with the count ``needed`` and the ``rate`` at which that stage turns into
    the next one (``next_stage``); the count is the next stage's count divided by the rate. The
    ``won`` row turns into revenue at ``deal_value`` each, so its rate is left empty. Counts are
    not rounded (533.3 SQLs is the arithmetic; round up when you plan). With ``weeks``, a
    ``per_week`` column spreads each count evenly over that many weeks.

    Deterministic by design: no variance, no capacity, no delays. The simulation adds all three.
    """
    if revenue_target < 0:
        raise ValueError(f"revenue_target must be >= 0 (got {revenue_target!r})")
    if not deal_value > 0:
        raise ValueError(f"deal_value must be > 0 (got {deal_value!r})")
    for name, rate in (
        ("win_rate", win_rate),
        ("valid_rate", valid_rate),
        ("sql_rate", sql_rate),
        ("mql_rate", mql_rate),
    ):
        _check_share(name, rate)
    if weeks is not None and not weeks > 0:
        raise ValueError(f"weeks must be > 0 (got {weeks!r})")
    won = revenue_target / deal_value
    valid = won / win_rate
    sqls = valid / valid_rate
    mqls = sqls / sql_rate
    leads = mqls / mql_rate
    frame = pd.DataFrame(
        {
            "stage": ["revenue", "won", "valid_opportunities", "sqls", "mqls", "leads"],
            "next_stage": [None, "revenue", "won", "valid_opportunities", "sqls", "mqls"],
            "rate": [math.nan, math.nan, win_rate, valid_rate, sql_rate, mql_rate],
            "needed": [float(revenue_target), won, valid, sqls, mqls, leads],
        }
    )
    if weeks is not None:
        frame["per_week"] = frame["needed"] / weeks
    return frame


def mql_share(score: ScoreModel, threshold: float) -> float:
    """P(clipped normal score >= threshold): the share of a source's leads that are MQLs.

    The score is N(mean, sd) clipped to [min, max] (reliability only mixes quality into it, the
    marginal stays normal), so the share is the normal upper tail, 1 at or below ``min`` (every
    score is at least min) and 0 above ``max``.
    """
    if threshold <= score.min:
        return 1.0
    if threshold > score.max:
        return 0.0
    if score.sd == 0:
        return 1.0 if score.mean >= threshold else 0.0
    return float(stats.norm.sf(threshold, loc=score.mean, scale=score.sd))


def _call_touches(cadence: Cadence) -> int:
    """Touches of a cadence that are calls: only a call can reach the person."""
    return cadence.max_attempts - len(set(cadence.email_touches))


def contact_share(cadence: Cadence) -> float:
    """P(reaching the person within one cadence) = 1 - (1 - connect x contact)^calls.

    Each call touch independently connects and then reaches the person, with no speed-to-lead
    decay; email touches never reach anyone here (their replies are left out).
    """
    p = cadence.connect_probability * cadence.contact_probability
    return 1.0 - (1.0 - p) ** _call_touches(cadence)


def _source_leads_per_week(source: Source, scenario: Scenario) -> float:
    """Expected leads per week over the horizon: the weekly rate times the mean seasonal
    multiplier (each day weighted by its hours inside the horizon), plus bursts spread evenly."""
    n_days = math.ceil(scenario.horizon / 24.0)
    months = source.seasonality.by_month
    iso_weeks = source.seasonality.by_week
    multipliers = []
    for d in range(n_days):
        day = scenario.start_date + dt.timedelta(days=d)
        multipliers.append(months.get(day.month, 1.0) * iso_weeks.get(day.isocalendar().week, 1.0))
    hours = np.clip(scenario.horizon - 24.0 * np.arange(n_days), 0.0, 24.0)
    season = float(np.average(multipliers, weights=hours))
    bursts = sum(b.leads for b in source.bursts) * WEEK / scenario.horizon
    return source.rate_per_week * season + bursts


def scenario_rates(scenario: Scenario) -> WaterfallRates:
    """The nominal rates a spreadsheet would read off a scenario, for a lead of average quality.

    - deal value: the mean of ``ae.deal_value``; win rate ``ae.win.probability``; valid rate
      ``ae.acceptance.probability``;
    - lead -> MQL: each source's normal score tail above ``scoring.threshold``, weighted by its
      expected leads per week;
    - MQL -> SQL: P(contact within the cadence) (:func:`contact_share`) x the ``qualified``
      outcome probability.

    Left out on purpose (this is what the simulation adds): rep capacity and waiting,
    speed-to-lead decay of contact and qualification, lead quality (better MQLs qualify, are
    accepted and win more often), follow-ups, callbacks and re-MQLs from nurture, AE capacity.
    """
    ae = scenario.ae
    weights = [_source_leads_per_week(s, scenario) for s in scenario.sources]
    shares = [mql_share(s.score, scenario.scoring.threshold) for s in scenario.sources]
    total = sum(weights)
    mql = sum(w * s for w, s in zip(weights, shares, strict=True)) / total if total else math.nan
    qualified = scenario.outcomes.probabilities.qualified
    return WaterfallRates(
        deal_value=ae.deal_value.mean,
        win_rate=ae.win.probability,
        valid_rate=ae.acceptance.probability,
        sql_rate=contact_share(scenario.cadence) * qualified,
        mql_rate=mql,
    )


def outbound_revenue(scenario: Scenario) -> float:
    """Won value the scenario's outbound list brings over its horizon at the spreadsheet's
    nominal odds (:func:`spreadsheet_funnel`'s outbound row; 0 without outbound)."""
    if scenario.outbound is None:
        return 0.0
    funnel = spreadsheet_funnel(scenario)
    per_week = funnel.loc[funnel["motion"] == "outbound", "won_value_per_week"].sum()
    return float(per_week) * scenario.horizon / WEEK


def reverse_waterfall_for(scenario: Scenario, revenue_target: float) -> pd.DataFrame:
    """:func:`reverse_waterfall` with the scenario's nominal rates (:func:`scenario_rates`),
    spread over the scenario's horizon in weeks, for the part of the target inbound must bring:
    what the outbound list brings at its nominal odds (:func:`outbound_revenue`) is taken off
    first (worked back through inbound rates alone, an outbound team's target asked for
    inbound leads it never needs).

    The spreadsheet's blind spots, which the simulation fills in: it ignores speed-to-lead
    decay and rep capacity (every MQL is called at once, as often as the cadence says), so its
    MQL -> SQL rate is what a team with unlimited time would get; and it uses the rates of an
    average lead, although better leads are the ones that qualify and win.
    """
    r = scenario_rates(scenario)
    return reverse_waterfall(
        max(0.0, revenue_target - outbound_revenue(scenario)),
        deal_value=r.deal_value,
        win_rate=r.win_rate,
        valid_rate=r.valid_rate,
        sql_rate=r.sql_rate,
        mql_rate=r.mql_rate,
        weeks=scenario.horizon / WEEK,
    )


# --------------------------------------------------------------------------- forward funnel


def _outbound_row(out: Outbound, scenario: Scenario) -> dict[str, object]:
    """The outbound list as one more source: accounts per week, every one researched and
    worked (no threshold), at the outbound cadence's nominal odds."""
    weeks = scenario.horizon / WEEK
    months = scenario.horizon / WEEK * 7.0 / (365.25 / 12.0)
    accounts = (out.accounts.initial + out.accounts.added_per_month * months) / weeks
    return {
        "source": out.accounts.name,
        "motion": "outbound",
        "leads_per_week": accounts,
        "mql_rate": 1.0,
        "mql_to_sql": contact_share(out.cadence) * out.outcomes.probabilities.qualified,
    }


def spreadsheet_funnel(scenario: Scenario) -> pd.DataFrame:
    """The forward spreadsheet funnel: expected weekly leads, MQLs, SQLs, valid opportunities,
    wins and won value, by source and in total, with unlimited capacity and no decay.

    Why: it is the baseline the simulation is measured against; any gap is the work of what it
    leaves out (see :func:`scenario_rates`: capacity, decay, quality, recycling, ramp). Leads per
    week are the expectation over the horizon (seasonality and bursts included). An outbound
    list, if any, is a row of its own: every account worked (no threshold, no research limit) at
    the outbound cadence's odds, accounts per week spread over the horizon. Rates are the
    nominal ones of an average lead.
    """
    rates = scenario_rates(scenario)
    rows: list[dict[str, object]] = [
        {
            "source": s.name,
            "motion": "inbound",
            "leads_per_week": _source_leads_per_week(s, scenario),
            "mql_rate": mql_share(s.score, scenario.scoring.threshold),
            "mql_to_sql": rates.sql_rate,
        }
        for s in scenario.sources
    ]
    if scenario.outbound is not None:
        rows.append(_outbound_row(scenario.outbound, scenario))
    frame = pd.DataFrame(rows)
    frame["mqls_per_week"] = frame["leads_per_week"] * frame["mql_rate"]
    frame["sqls_per_week"] = frame["mqls_per_week"] * frame["mql_to_sql"]
    frame["sql_to_valid"] = rates.valid_rate
    frame["valid_per_week"] = frame["sqls_per_week"] * rates.valid_rate
    frame["win_rate"] = rates.win_rate
    frame["won_per_week"] = frame["valid_per_week"] * rates.win_rate
    frame["won_value_per_week"] = frame["won_per_week"] * rates.deal_value
    sums: dict[str, float] = {}
    for col in ("leads_per_week", "mqls_per_week", "sqls_per_week", "valid_per_week"):
        sums[col] = frame[col].sum()
    for col in ("won_per_week", "won_value_per_week"):
        sums[col] = frame[col].sum()
    total: dict[str, object] = {"source": "total", "motion": "all", **sums}
    frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
    last = frame.index[-1]
    frame.loc[last, "mql_rate"] = share(sums["mqls_per_week"], sums["leads_per_week"])
    frame.loc[last, "mql_to_sql"] = share(sums["sqls_per_week"], sums["mqls_per_week"])
    frame.loc[last, "sql_to_valid"] = share(sums["valid_per_week"], sums["sqls_per_week"])
    frame.loc[last, "win_rate"] = share(sums["won_per_week"], sums["valid_per_week"])
    return frame[
        [
            "source",
            "motion",
            "leads_per_week",
            "mql_rate",
            "mqls_per_week",
            "mql_to_sql",
            "sqls_per_week",
            "sql_to_valid",
            "valid_per_week",
            "win_rate",
            "won_per_week",
            "won_value_per_week",
        ]
    ]
