"""The scenario's main assumptions as a short table a sales leader reads in a minute: volumes,
the MQL threshold, the teams, the cadence and its odds, the AE stage, money. The full scenario
stays below it as YAML, folded away.

Why a table of its own: the YAML holds every field in hours and probabilities as the schema
stores them; a leader checks the dozen figures that drive the answer, in the units they use.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..base.units import WEEK, format_duration
from ..scenario import Scenario

__all__ = ["assumptions_table"]


def _typical(dist: Any, show: Any) -> str:
    """A distribution's typical value as people say it: its median (and P90) where it has one,
    else its mean."""
    median = getattr(dist, "median", None)
    p90 = getattr(dist, "p90", None)
    if median is not None and p90 is not None:
        return f"median {show(median)}, 1 in 10 over {show(p90)}"
    if median is not None:
        return f"median {show(median)}"
    if getattr(dist, "dist", "") == "fixed":
        return f"always {show(dist.value)}"
    mean = dist.mean  # a field of some distributions, a method of the others
    return f"mean {show(mean() if callable(mean) else mean)}"


def _percent(p: float) -> str:
    return f"{100 * p:.0f}%" if 100 * p >= 10 or p == 0 else f"{100 * p:.1f}%"


def _teams(s: Scenario) -> list[tuple[str, str]]:
    """Headcount of each team today, and its plan in a word."""
    rows = [("SDRs (inbound)", _staff(s.sdr))]
    if s.outbound is not None:
        rows.append(("BDRs (outbound)", _staff(s.outbound.bdr)))
    team = s.ae.team
    rows.append(
        (
            "AEs",
            "not limited (every tossed-up lead is met)"
            if team is None
            else f"{_staff(team)}, at most {team.max_open_per_ae} open opportunities each",
        )
    )
    return rows


def _staff(team: Any) -> str:
    """'8', or '8 today, 4 hires and 1 leaver planned', from the team's dated plan."""
    hires = sum(step.hire for step in team.plan)
    leavers = sum(step.leave for step in team.plan)
    planned = [f"{hires} hire(s)"] * bool(hires) + [f"{leavers} leaver(s)"] * bool(leavers)
    return f"{team.headcount}" + (f" today, {' and '.join(planned)} planned" if planned else "")


def assumptions_table(scenario: Scenario) -> pd.DataFrame:
    """The main assumptions of ``scenario``, one row each: what, and its value in words."""
    s = scenario
    money = s.currency
    rate = sum(src.rate_per_week for src in s.sources)
    rows: list[tuple[str, str]] = [
        ("Period", f"{s.weeks:g} weeks from {s.start_date:%Y-%m-%d}"),
        ("Inbound leads", f"{rate:,.0f} per week from {len(s.sources)} source(s)"),
        ("MQL threshold", f"score {s.scoring.threshold:g}"),
    ]
    if s.outbound is not None:
        acc = s.outbound.accounts
        rows.append(
            ("Outbound accounts", f"{acc.initial:,} at the start, {acc.added_per_month:,} a month")
        )
    rows += _teams(s)
    c = s.cadence
    rows += [
        ("Call attempts per lead", f"{c.max_attempts}"),
        ("Connect rate", f"{_percent(c.connect_probability)} of dials"),
        ("Contact rate", f"{_percent(c.contact_probability)} of connects"),
        ("AE acceptance", f"{_percent(s.ae.acceptance.probability)} of tossed-up leads (typical)"),
        ("Win rate", f"{_percent(s.ae.win.probability)} of valid opportunities (typical)"),
        ("Sales cycle", _typical(s.ae.sales_cycle, format_duration)),
        ("Deal value", _typical(s.ae.deal_value, lambda v: money.format(v))),
        (
            "Currency",
            f"{money.code} ({money.shown})"
            + (": assumed, the scenario names none" if s.currency_assumed else ""),
        ),
    ]
    if s.warm_up:
        rows.append(("Warm-up", f"{s.warm_up / WEEK:g} weeks simulated first, then discarded"))
    return pd.DataFrame(rows, columns=["assumption", "value"])
