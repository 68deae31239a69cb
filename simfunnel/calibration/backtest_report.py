"""What a backtest's report says: would the fitted scenario have been right?

The verdict sets the bands' coverage against what they promise, stage by stage and over the
horizon; the key figures are one row per stage; the charts are each stage's band with what
happened drawn over it. Nothing here writes HTML.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..base.formatting import fmt, missing
from ..decisions import LABELS
from ..results.answer import Chart, Report, Tile
from ..results.plots import legend_outside
from .fit_report import assumption_notes

if TYPE_CHECKING:
    from .backtest_result import Backtest

__all__ = ["backtest_report"]

STAGE_NAMES = {  # how a reader calls each stage of a backtest
    "leads": "leads",
    "mqls": "MQLs",
    "sqls": "SQLs",
    "valid_opportunities": "valid opportunities",
    "won": "deals won",
    "lost": "deals lost",
}


def _count(x: float) -> str:
    """A band's end as a count: whole when it is one (quantiles of counts are)."""
    return f"{x:,.0f}" if float(x).is_integer() else fmt(float(x))


def _metrics(bt: Backtest) -> list[str]:
    """The stages scored: the summary has a row for each stage of ``STAGES``, in its order
    (read from the summary, so this module need not import the result's)."""
    return [str(m) for m in bt.table["metric"]]


def _backtest_periods(bt: Backtest) -> tuple[pd.DataFrame, str]:
    """The table the backtest scored and its unit: weekly, or monthly with ``freq="M"``."""
    if bt.freq == "M" and bt.monthly is not None:
        return bt.monthly, "month"
    return bt.weekly, "week"


@dataclass(frozen=True)
class _Scores:
    """What every part of a backtest report reads: the periods scored and their tallies."""

    bt: Backtest
    periods: pd.DataFrame  # one row per period and stage
    unit: str  # "week" or "month"
    stages: list[dict[Hashable, Any]]  # the summary: one record per stage, with its metric
    inside: pd.Series  # periods inside the band, per stage
    scored: pd.Series  # periods scored, per stage
    names: dict[str, str]  # stage: how a reader calls it

    @property
    def low(self) -> str:
        return self.bt.forecast.quantile_columns[0]

    @property
    def high(self) -> str:
        return self.bt.forecast.quantile_columns[2]

    @property
    def level(self) -> float:
        return self.bt.forecast.level


def _scores(bt: Backtest) -> _Scores:
    """Tally the backtest once for the verdict, the key figures and the charts."""
    periods, unit = _backtest_periods(bt)
    return _Scores(
        bt=bt,
        periods=periods,
        unit=unit,
        stages=bt.table.to_dict("records"),
        inside=periods.groupby("metric")["inside"].sum().astype(int),
        scored=periods.groupby("metric").size(),
        names={m: STAGE_NAMES.get(m, LABELS[m][0]) for m in _metrics(bt)},
    )


def _draw_backtest(bt: Backtest, metric: str, ax: Any) -> Any:
    """Backtest.plot, with the y axis stretched to show every actual count: the forecast's
    fan chart fixes the limits from the band before the actual weeks are drawn over it, so a
    week above the band (the ones that matter most) would fall off the chart."""
    bt.plot(metric, ax=ax)
    table, _ = _backtest_periods(bt)
    actual = table.loc[table["metric"] == metric, "actual"]
    bottom, top = ax.get_ylim()
    if len(actual) and float(actual.max()) > top:
        ax.set_ylim(bottom, float(actual.max()) * 1.08)
    # The stage in words where the plot writes its key, and the legend beside the plot, where
    # it covers no week.
    name = STAGE_NAMES.get(metric, LABELS[metric][0])
    ax.set_title(ax.get_title().replace(f": {metric},", f": {name},", 1))
    ax.set_ylabel(ax.get_ylabel().replace(f"{metric} per", f"{name} per", 1))
    legend_outside(ax)
    return ax


# --------------------------------------------------------------------------- the verdict


def _coverage_paragraph(s: _Scores) -> str:
    """Coverage against nominal, and whether the gap is more than chance would give."""
    bt, level, unit = s.bt, s.level, s.unit
    n = len(s.periods)
    spread = 2 * math.sqrt(level * (1 - level) / n) if n else math.nan
    lo, hi = max(level - spread, 0.0), min(level + spread, 1.0)
    coverage = float(s.periods["inside"].mean())
    if coverage < lo:
        judgement = (
            "too few: the bands are too narrow, so the fitted scenario is surer than the data "
            "allow, or something changed after the cutoff"
        )
    elif coverage > hi:
        judgement = "more than promised: the bands are wider than they need to be"
    else:
        judgement = "about as many as promised, so the bands are about as wide as they should be"
    return (
        f"Fitted only on the exports up to {bt.cutoff:%Y-%m-%d} and asked to forecast the "
        f"{bt.horizon_weeks} weeks after it, the scenario's {level:.0%} bands held the actual "
        f"{unit}ly count in {coverage:.0%} of {n} stage-{unit}s (nominal {level:.0%}; by chance "
        f"alone anything from about {lo:.0%} to {hi:.0%}): {judgement}."
    )


def _totals_paragraph(s: _Scores) -> str:
    """Whether each stage's total over the horizon fell inside its band, and the ones that did
    not with their actual, forecast and band."""
    weeks = s.bt.horizon_weeks
    outside = [row for row in s.stages if not bool(row["total_inside"])]
    if not outside:
        return f"Over the {weeks} weeks every stage's total fell inside its band."
    return (
        f"Over the {weeks} weeks {len(s.stages) - len(outside)} of {len(s.stages)} "
        f"stage totals fell inside their band; outside: "
        + "; ".join(
            f"{s.names[row['metric']]} ({row['actual_total']:,} actual against "
            f"{fmt(float(row['forecast_total']))} forecast, band "
            f"{_count(row[f'total_{s.low}'])} to {_count(row[f'total_{s.high}'])})"
            for row in outside
        )
        + "."
    )


def _backtest_verdict(s: _Scores) -> list[str]:
    """Coverage first, then per stage, the horizon's totals and a warning on small counts."""
    unit, names, inside, scored = s.unit, s.names, s.inside, s.scored
    per_stage, small = [], []
    for row in s.stages:
        m = row["metric"]
        if not missing(row["mape"]):
            per_stage.append(
                f"{names[m]} {inside.get(m, 0)} of {scored.get(m, 0)} {unit}s inside, mean off "
                f"by {fmt(float(row['mape']), True)} a {unit}"
            )
        if scored.get(m, 0) and row["actual_total"] / scored[m] < 5:
            small.append(f"{names[m]}, {row['actual_total'] / scored[m]:.1f} a {unit}")
    verdict = [_coverage_paragraph(s), f"By stage: {'; '.join(per_stage)}.", _totals_paragraph(s)]
    if small:
        verdict.append(
            f"The percentage error is large where counts are small ({'; '.join(small)}): one "
            "more or one less is a big share of a small count, so judge those stages by their "
            "coverage and totals."
        )
    return verdict


def _backtest_points(s: _Scores) -> list[tuple[str, str]]:
    """Would the fitted scenario have been right, where it missed, and what to do about it."""
    level, n = s.level, len(s.periods)
    if not n:
        return []
    spread = 2 * math.sqrt(level * (1 - level) / n)
    coverage = float(s.periods["inside"].mean())
    said = f"{coverage:.0%} of {n} stage-{s.unit}s fell inside the {level:.0%} bands"
    if coverage < level - spread:
        right = f"no: {said}, fewer than chance allows"
        do = (
            "widen what the fit admits it does not know: fit on the recent regime (--since, "
            "--half-life), keep parameter draws on, and check what changed after the cutoff"
        )
    elif coverage > level + spread:
        right = f"more than promised: {said}"
        do = "the bands are wider than they need be: more history narrows the fitted values"
    else:
        right = f"yes: {said}, as promised"
        do = f"plan on this scenario's bands for {s.bt.horizon_weeks} weeks ahead"
    missed = [s.names[r["metric"]] for r in s.stages if not bool(r["total_inside"])]
    where = (
        "every stage's total fell inside its band"
        if not missed
        else f"the totals of {', '.join(missed)} fell outside their band"
    )
    return [("Would it have been right", right), ("Where it missed", where), ("What to do", do)]


def _backtest_tiles(s: _Scores) -> list[Tile]:
    """Would it have been right: coverage against the promise, the typical miss, the totals."""
    level, unit = s.level, s.unit
    n = len(s.periods)
    coverage = float(s.periods["inside"].mean()) if n else math.nan
    spread = 2 * math.sqrt(level * (1 - level) / n) if n else math.nan
    mapes = [float(r["mape"]) for r in s.stages if not missing(r["mape"])]
    inside = sum(bool(r["total_inside"]) for r in s.stages)
    return [
        Tile(
            f"Stage-{unit}s inside the band",
            fmt(coverage, True),
            f"promised {level:.0%} (chance alone: {max(level - spread, 0):.0%} to "
            f"{min(level + spread, 1):.0%})",
            "good" if abs(coverage - level) <= spread else "bad",
        ),
        Tile(
            f"Typical miss a {unit}",
            fmt(sum(mapes) / len(mapes), True) if mapes else "n/a",
            "mean absolute % error, over the stages",
        ),
        Tile(
            "Stage totals inside their band",
            f"{inside} of {len(s.stages)}",
            f"over the {s.bt.horizon_weeks} weeks",
            "good" if inside == len(s.stages) else "bad",
        ),
    ]


# --------------------------------------------------------------------------- figures and notes


def _backtest_kpis(s: _Scores) -> pd.DataFrame:
    """One row per stage: periods inside the band, MAPE, and the total against its band."""
    unit = s.unit
    rows = []
    for row in s.stages:
        m = row["metric"]
        rows.append(
            (
                s.names[m],
                f"{s.inside.get(m, 0)} of {s.scored.get(m, 0)} "
                f"({fmt(float(row['coverage']), True)})",
                fmt(float(row["nominal"]), True),
                fmt(float(row["mape"]), True),
                f"{int(row['actual_total']):,}",
                fmt(float(row["forecast_total"])),
                f"{_count(row[f'total_{s.low}'])} to {_count(row[f'total_{s.high}'])}",
                "yes" if bool(row["total_inside"]) else "no",
            )
        )
    return pd.DataFrame(
        rows,
        columns=[
            "stage",
            f"{unit}s inside the band",
            "nominal",
            f"MAPE ({unit}ly mean)",
            "actual total",
            "forecast total (mean)",
            f"{s.level:.0%} band of the total",
            "total inside",
        ],
    )


def _backtest_details(periods: pd.DataFrame) -> pd.DataFrame:
    """Every period scored, with dates and yes/no as a reader writes them."""
    details = periods.copy()
    for col in ("week_start", "month_start"):
        if col in details:
            details[col] = [f"{d:%Y-%m-%d}" for d in details[col]]
    details["inside"] = details["inside"].map({True: "yes", False: "no"})
    return details


def _backtest_notes(s: _Scores) -> list[str]:
    """The cutoff, seeds, where the forecast started, where new leads came from, the scores'
    definitions, the backtest's own notes and the fit's assumptions."""
    bt, fc, unit = s.bt, s.bt.forecast, s.unit
    if bt.start_from == "snapshot" and bt.snapshot is not None:
        start = (
            f"the forecast starts from the funnel as it stood at the cutoff: "
            f"{len(bt.snapshot):,} open leads and opportunities rebuilt from the exports"
        )
    else:
        start = (
            "the forecast starts from a pipeline the fitted model filled itself (the scenario's "
            "warm_up), not from the leads actually open at the cutoff"
        )
    notes = [
        f"cutoff {bt.cutoff:%Y-%m-%d}: the fit saw no lead created, stage reached, call made or "
        "deal closed after it",
        f"root seed: {fc.experiment.seed}; replications: {fc.reps}; band: {s.level:.0%} "
        f"({s.low.upper()} to {s.high.upper()})",
        start,
        (
            "new leads replay the ones that actually arrived after the cutoff, so only what "
            "happens downstream of arrivals is tested"
            if bt.arrivals == "actual"
            else "new leads are drawn from the fitted arrival rates"
        ),
        f"coverage is the share of {unit}s inside the band; MAPE the mean absolute percentage "
        f"error of the forecast mean over the {unit}s with an actual above 0",
        *bt.notes,
    ]
    return notes + assumption_notes(bt.calibration.parameters)


def backtest_report(bt: Backtest) -> Report:
    """A fit up to a cutoff against what happened after it: coverage, errors and totals."""
    s = _scores(bt)
    fc, unit, level = bt.forecast, s.unit, s.level
    charts: list[Chart] = [
        (
            f"{s.names[m].capitalize()} per {unit}: the forecast's {level:.0%} band from "
            f"{bt.cutoff:%Y-%m-%d} with what happened (black).",
            functools.partial(_draw_backtest, bt, m),
            (9, 4.2),
        )
        for m in _metrics(bt)
    ]
    return Report(
        title=f"Backtest from {bt.cutoff:%Y-%m-%d}: would the fitted scenario have been right?",
        subtitle=(
            f"Fitted on {bt.calibration.start:%Y-%m-%d} to {bt.cutoff:%Y-%m-%d}, forecast "
            f"{bt.horizon_weeks} weeks with {fc.reps} replications, scored {unit} by {unit} "
            "against what happened"
        ),
        verdict=_backtest_verdict(s),
        tiles=_backtest_tiles(s),
        points=_backtest_points(s),
        charts=charts,
        kpis=_backtest_kpis(s),
        kpi_note=(
            f"Per stage: the {unit}s whose actual count fell inside the forecast's {level:.0%} "
            f"band, the mean absolute percentage error of the {unit}ly mean, and the horizon's "
            "total against its band."
        ),
        scenario=fc.scenario,
        notes=_backtest_notes(s),
        details=_backtest_details(s.periods),
    )
