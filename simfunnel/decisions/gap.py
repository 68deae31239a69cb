"""Why the simulation departs from the spreadsheet, measured rather than asserted.

A spreadsheet funnel (:func:`simfunnel.decisions.analytic.spreadsheet_funnel`) multiplies leads by nominal
rates. The simulation differs because of mechanisms the spreadsheet leaves out. This module
puts them back one at a time, on common random numbers, so each step's change is that
mechanism's share of the gap:

1. ``paths and quality``: the simulation with unlimited reps and AEs, no speed-to-lead decay and
   no nurture: what is left is what a rate-times-volume sheet averages away: follow-ups and
   callbacks that give a lead more chances, better leads qualifying and closing more often, and
   timing (leads still in a cadence or a sales cycle when the period ends). For wins, the deals
   still open at the end are a step of their own, ``still open at the end``: the first step
   counts them at their expected wins, the next takes them out;
2. ``speed-to-lead decay``: decay switched on (leads that arrive at night or wait qualify less);
3. ``nurture and re-MQLs``: as in the scenario (not the call-out recycling of a run's KPIs);
4. ``capacity``: the teams as planned: headcount, ramp, attrition, leave, AE room.

The last step is the scenario itself.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Unpack

import pandas as pd

from ..base.units import WEEK
from ..experiments import (
    Experiment,
    RunOptions,
    Settle,
    SharedKeywords,
    run_variants,
    settle_plan,
)
from ..experiments.intervals import t_half_width
from ..results.answer import AnswerBase, Report
from ..scenario import Scenario
from . import charts, reports
from .analytic import spreadsheet_funnel
from .workload import sdr_workload

STEPS = ("paths and quality", "speed-to-lead decay", "nurture and re-MQLs", "capacity")
CUT_OFF = "still open at the end"  # wins only: the deals the horizon cuts off (a step of its own)
_METRICS = {"valid_opportunities": "valid_per_week", "won": "won_per_week"}


def _unlimited(scenario: Scenario) -> dict[str, Any]:
    """Overrides that take capacity out: many reps who never ramp, leave or go, unlimited AEs."""
    w = sdr_workload(scenario)
    estimate = max(w.headcount_by_occupancy, w.headcount_by_erlang_c, scenario.sdr.headcount)
    reps = int(10 * math.ceil(estimate if math.isfinite(estimate) else 10) + 10)
    team = {"ramp": [], "attrition_per_year": 0.0, "plan": [], "pto_days_per_year": 0.0}
    out: dict[str, Any] = {"sdr.headcount": reps, "ae.team": None}
    out |= {f"sdr.{k}": v for k, v in team.items()}
    if scenario.outbound is not None:
        out["outbound.bdr.headcount"] = 10 * scenario.outbound.bdr.headcount + 10
        out |= {f"outbound.bdr.{k}": v for k, v in team.items()}
    return out


@dataclass(frozen=True, repr=False)
class Gap(AnswerBase):
    """The spreadsheet, each step towards the full simulation, and what each step changed."""

    metric: str
    spreadsheet: float
    table: pd.DataFrame  # step, mean, ci_low, ci_high, change, change_low, change_high
    experiment: Experiment

    @property
    def scenario(self) -> Scenario:
        """The scenario as it is: the last step, every mechanism put back."""
        return self.experiment.scenarios[STEPS[-1]]

    def plot(self, what: str | None = None, *, ax: Any = None) -> Any:
        """The one chart, ``what`` ``None`` or ``"bridge"``: the bridge from the spreadsheet
        to the simulation, one floating bar per mechanism with its 95% interval."""
        if what not in (None, "bridge"):
            raise ValueError(f"a gap has one chart, 'bridge' (got {what!r})")
        return charts.gap_bridge(self, ax=ax)

    def tables(self) -> Mapping[str, pd.DataFrame]:
        return {"gap": self.table}

    def charts(self) -> Mapping[str, str | None]:
        return {"bridge": None}

    def text(self) -> str:
        """The verdict, then each step's figure and change with their intervals, as the report
        writes them."""
        return f"{self.verdict}\n\n{reports.gap_kpis(self).to_string(index=False)}"

    def report(self) -> Report:
        return reports.gap_report(self)

    @property
    def main_cause(self) -> str:
        """The step that moved the figure most (by the size of its mean change)."""
        steps = self.table[self.table["step"] != "spreadsheet"]
        return str(steps.set_index("step")["change"].abs().idxmax())

    @property
    def verdict(self) -> str:
        t = self.table.set_index("step")
        sim = float(t["mean"].loc["capacity"])
        change, low, high = t["change"], t["change_low"], t["change_high"]
        name = self.metric.replace("_", " ")
        parts = [
            f"{s} {change.loc[s]:+,.0f} (95% CI {low.loc[s]:+,.0f} to {high.loc[s]:+,.0f})"
            if change.loc[s] != 0 or s in (STEPS[0], CUT_OFF)
            else f"{s} none (not in this scenario)"
            for s in t.index
            if s != "spreadsheet"
        ]
        return (
            f"A spreadsheet expects {self.spreadsheet:,.0f} {name}; the simulation gives "
            f"{sim:,.0f}. Step by step: {'; '.join(parts)}. The largest cause: {self.main_cause}."
            + self._runs()
        )

    def _runs(self) -> str:
        """How many replications each step took and why it stopped (when settled)."""
        state, rule = self.experiment.settled, self.experiment.settle
        if state is None or not isinstance(rule, Settle):
            return ""
        low, high = int(state["replications"].min()), int(state["replications"].max())
        short = state.loc[state["status"] == "limit", "variant"].tolist()
        return (
            f" Each step ran until its difference from the first was known to "
            f"+/-{rule.relative:.0%} of the first step's level (95% interval): "
            + (f"{low} replications each" if low == high else f"{low} to {high} replications")
            + (f"; not reached within {rule.max_reps} by {', '.join(short)}" if short else "")
            + "."
        )


def explain_gap(
    scenario: Scenario,
    metric: str = "valid_opportunities",
    reps: int | None = None,
    *,
    precision: float | None = None,
    max_reps: int | None = None,
    options: RunOptions | None = None,
    **keywords: Unpack[SharedKeywords],
) -> Gap:
    """Measure how much of the spreadsheet-to-simulation gap in ``metric`` (valid
    opportunities or wins over the horizon) each left-out mechanism explains.

    Replications: by default, batches until each step's paired difference from the first step
    is known to ``precision`` (default +/-2%) of the first step's level, at most ``max_reps``
    (default 40) (:class:`simfunnel.experiments.Settle`); ``reps`` alone runs that fixed
    count. ``seed``,
    ``workers``, ``executor``, ``progress`` and ``snapshot`` are those of :func:`simfunnel.run`
    (here without a progress bar by default); ``options``: a decision's own (its pool, and
    the runs it has made: the full model is today's scenario, often run already)."""
    base = options if options is not None else RunOptions(progress=False)  # quiet unless asked
    options = base.shared(**keywords)
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {', '.join(_METRICS)} (got {metric!r})")
    weeks = scenario.horizon / WEEK
    funnel = spreadsheet_funnel(scenario)
    sheet = float(funnel.loc[funnel["source"] == "total", _METRICS[metric]].iloc[0]) * weeks
    free = _unlimited(scenario)
    decay = {"speed_to_lead.enabled": scenario.speed_to_lead.enabled}
    variants = {
        "paths and quality": free | {"speed_to_lead.enabled": False, "nurture": None},
        "speed-to-lead decay": free | decay | {"nurture": None},
        "nurture and re-MQLs": free | decay,
        "capacity": {},
    }
    first, rule = settle_plan(
        reps, precision, max_reps, f"totals.{metric}", ranked=False, baseline="the first step"
    )
    if rule is not None:
        options = dataclasses.replace(options, settle=rule)
    exp = run_variants(scenario, variants, first, baseline=STEPS[0], options=options)
    summary = exp.summary()
    summary = summary[(summary["section"] == "totals") & (summary["metric"] == metric)]
    means = summary.set_index("variant")
    rows: list[dict[str, object]] = [
        {
            "step": "spreadsheet",
            "mean": sheet,
            "ci_low": sheet,
            "ci_high": sheet,
            "change": math.nan,
            "change_low": math.nan,
            "change_high": math.nan,
        }
    ]
    previous: str | None = None
    for step in STEPS:
        mean, low, high = (float(means[k].loc[step]) for k in ("mean", "ci_low", "ci_high"))
        row: dict[str, object] = {"step": step, "mean": mean, "ci_low": low, "ci_high": high}
        if previous is None:  # against a fixed number: the interval of the mean, shifted
            row |= {"change": mean - sheet, "change_low": low - sheet, "change_high": high - sheet}
        else:
            d = exp.compare(baseline=previous)
            d = d[(d["variant"] == step) & (d["section"] == "totals") & (d["metric"] == metric)]
            row |= {
                "change": float(d["diff"].iloc[0]),
                "change_low": float(d["ci_low"].iloc[0]),
                "change_high": float(d["ci_high"].iloc[0]),
            }
        rows.append(row)
        previous = step
    if metric == "won":
        rows[1:2] = _cut_off(rows[1], exp)
    return Gap(metric, sheet, pd.DataFrame(rows), exp)


def _cut_off(first: dict[str, object], exp: Experiment) -> list[dict[str, object]]:
    """The first step split in two: its wins with the deals still open at the end counted at
    their expected wins (what paths and quality give), then those open deals taken out (what
    the horizon cuts off). Why: over a horizon not much longer than the sales cycle most of the
    gap in wins is deals not yet closed, not lead quality; the verdict must say so."""
    t = exp.totals
    t = t[(t["variant"] == STEPS[0]) & (t["section"] == "totals")]
    per_rep = t.pivot_table(index="replication", columns="metric", values="value")
    open_ = per_rep["open_wins_expected"]
    mean, half = _mean_and_half(open_)
    total, total_half = _mean_and_half(per_rep["won"] + open_)
    sheet = float(first["mean"]) - float(first["change"])  # type: ignore[arg-type]
    quality = first | {
        "mean": total,
        "ci_low": total - total_half,
        "ci_high": total + total_half,
        "change": total - sheet,
        "change_low": total - total_half - sheet,
        "change_high": total + total_half - sheet,
    }
    cut = {
        "step": CUT_OFF,
        "mean": first["mean"],
        "ci_low": first["ci_low"],
        "ci_high": first["ci_high"],
        "change": -mean,
        "change_low": -mean - half,
        "change_high": -mean + half,
    }
    return [quality, cut]


def _mean_and_half(values: pd.Series) -> tuple[float, float]:
    """A mean over replications and the half-width of its 95% t interval."""
    n = int(values.notna().sum())
    sd = pd.Series([values.std(ddof=1) if n > 1 else math.nan])
    return float(values.mean()), float(t_half_width(sd, pd.Series([n]), 0.95).iloc[0])
