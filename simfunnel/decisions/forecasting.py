"""Pipeline forecast: weekly opportunities, wins, value and open pipeline, with bands.

The leader's question: "how many opportunities, and how much pipeline, will we create each week
for the next two quarters, and how sure are we?" One run is one draw of luck, so :func:`forecast`
runs replications (:func:`simfunnel.run`), from a snapshot of today's funnel or a warm-up, and
reports per week the mean and a band of what one actual period could bring.

**The band is a prediction interval for the next period**, not a confidence interval of the
mean. With R replications its limits are order statistics of the replications placed at
``q (R + 1)`` (numpy's ``method="weibull"``): a new, independent draw falls below the k-th
smallest of R draws with probability k / (R + 1), so the band [P10, P90] holds a new period
with probability 80% whatever R is (exactly for a continuous quantity when 0.1 (R + 1) is
whole, as with R = 19 or 39; for counts, ties make the band with its ends hold a little more,
and without them a little less). Percentiles of the replications themselves
(``Experiment.summary()``, linear interpolation) would hold only 0.8 (R - 1) / (R + 1) of new
periods: 72% with 20 replications. Below R = 2 / (1 - level) - 1 replications (9 for 80%) the
band cannot reach its level: its ends are the smallest and largest replication.

**Open pipeline** (``open_opportunities``): valid opportunities still open at the end of each
week. No weekly column holds it, so it is derived per replication from its weekly table and
its KPI ``totals.open_opportunities`` (open at the end of the horizon)::

    open[k] = open_at_end - sum over weeks j > k of (valid_opportunities[j] - won[j] - lost[j])

that is, the opportunities open at the start (carried in from a snapshot or a warm-up) plus
those created by the end of week k, minus those closed (won or lost) by then. An opportunity
leaves the open state only by closing, and weekly won and lost count exactly the closes of the
period, carried-in opportunities included, so the identity is exact. It is a level, not a
flow: in ``cumulative`` it is the same figure as in ``bands``.

**Not from an empty funnel.** A forecast starts from today's funnel: from a ``snapshot`` of the
open leads and opportunities, or else after a warm-up (simulated before the start and then
discarded; what is still open carries on). The warm-up is the scenario's own ``warm_up`` if it
sets one; otherwise the sales cycle's P90 plus 4 weeks, in whole weeks, at most 52 (the rule
:mod:`simfunnel.calibration.fitting` uses for the scenarios it fits). Why that length: the open
pipeline at any moment holds the opportunities opened within about one sales cycle, so after
its P90 nine in ten of them are there; the 4 weeks cover the way from inquiry to valid
opportunity (the cadence and the first meeting). ``warm_up=0`` starts from an empty funnel,
which undercounts the first weeks (wins above all), and the verdict says so.

**What the band covers.** Each replication runs the process with the scenario's values; held
fixed, they make bands of process noise only, too narrow whenever a fitted value is off. A
scenario that lists its ``uncertainty`` (``simfunnel fit`` writes one for every rate it fitted)
is forecast with parameter draws by default: each replication first draws those values
(:mod:`simfunnel.scenario.uncertain`), then runs, so the bands hold both. The same replications are
then run again without draws, on the same seeds, and :meth:`Forecast.variance_split` gives per
metric the spread of the horizon total with and without, and the share of its variance that
the uncertain values make (law of total variance: Var = E[Var | values] + Var(E | values), the
first estimated by the run at the stated values). ``parameter_draws=False`` holds the values
fixed; the verdict says which the bands are.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Unpack

import numpy as np
import pandas as pd
from scipy import stats

from ..base.units import WEEK
from ..experiments import (
    Experiment,
    ExperimentError,
    RunOptions,
    SharedKeywords,
    decision_pool,
    off_centre,
    run,
)
from ..experiments.settle import DEFAULT_PRECISION
from ..results import level_text
from ..results.answer import AnswerBase, Report
from ..scenario import Currency, Scenario, with_overrides
from . import charts, reports
from .analytic import spreadsheet_funnel
from .forecast_bands import (
    FIRST_LOOK,
    FLOWS,
    LABELS,
    METRICS,
    VALUES,
    BandRule,
    band_table,
    horizon_totals,
    percentile_name,
    too_few_runs,
    weekly_arrays,
)
from .forecast_start import horizon_overrides, warm_up_weeks

__all__ = ["Forecast", "forecast"]
_SHARE_METRIC = "valid_opportunities"  # whose parameter share the verdict states
CUMULATIVE = "_cumulative"  # plot("pipeline_value_cumulative"): the running total's chart
NA = "n/a"  # an undefined figure (NaN) in a printed table


def _format(metric: str, x: float, currency: Currency, exact: bool = False) -> str:
    """Money in the currency; a count whole, or ``exact`` as given (a target of 2.5 is not 2)."""
    if metric in VALUES:
        return currency.format(x)
    return f"{x:,.6f}".rstrip("0").rstrip(".") if exact else f"{x:,.0f}"


@dataclass(frozen=True, eq=False, repr=False)
class Forecast(AnswerBase):
    """Weekly and cumulative bands of a pipeline forecast, and the replications behind them.

    ``bands``: one row per week and metric (``METRICS``: the weekly columns ``leads``, ``mqls``,
    ``sqls``, ``valid_opportunities``, ``won``, ``lost``, ``pipeline_value``, ``won_value``, and
    the derived ``open_opportunities``): ``week``, ``week_start``, ``metric``, ``mean`` and the
    lower, middle and upper percentiles (``p10``, ``p50``, ``p90`` at ``level=0.8``).
    ``cumulative``: the same for running totals from the start (the open pipeline is a level
    and appears as is). ``experiment``: the replications (``experiment.replay(i)`` reruns one).
    ``parameter_draws``: whether each replication drew the scenario's uncertain values first;
    ``process_only``: then, the same replications without draws (same seeds), behind
    :meth:`variance_split`.
    """

    scenario: Scenario
    experiment: Experiment
    level: float
    bands: pd.DataFrame
    cumulative: pd.DataFrame
    warm_up_basis: str = ""  # why the warm-up has its length ("" when none ran)
    process_only: Experiment | None = None
    targets: Mapping[str, float] = field(default_factory=dict)  # metric -> total to reach
    freq: str | None = None  # "M" or "Q": text() and save() add the roll-up by that period

    @property
    def warm_up_weeks(self) -> int:
        """Weeks simulated before the start to fill the funnel (0: none)."""
        return round(self.scenario.warm_up / WEEK)

    @property
    def weeks(self) -> int:
        return self.scenario.weeks

    @property
    def parameter_draws(self) -> bool:
        """Whether each replication drew the scenario's uncertain values before it ran."""
        return self.experiment.draw_parameters and any(
            s.uncertainty for s in self.experiment.scenarios.values()
        )

    @property
    def reps(self) -> int:
        """Replications the bands were estimated from."""
        return int(self.experiment.long["replication"].nunique())

    @property
    def quantile_columns(self) -> tuple[str, str, str]:
        """Names of the lower, middle and upper percentile columns (``p10, p50, p90``)."""
        low = (1 - self.level) / 2
        return percentile_name(low), "p50", percentile_name(1 - low)

    def totals_table(self) -> pd.DataFrame:
        """Per metric over the whole horizon: mean and percentiles of the total (for the open
        pipeline: of what is open at the end)."""
        last = self.cumulative[self.cumulative["week"] == self.cumulative["week"].max()]
        cols = ["metric", "mean", *self.quantile_columns]
        table = last[cols].reset_index(drop=True)
        table["spreadsheet"] = table["metric"].map(self._spreadsheet())
        return table

    def _targets_sentence(self) -> str:
        """The chance of reaching each target, as a forecast call says it."""
        if not self.targets:
            return ""
        cur = self.scenario.currency
        said = [
            f"P({LABELS[r['metric']][0]} >= {_format(r['metric'], r['target'], cur, exact=True)}) = "
            f"{r['chance']:.0%} (95%: {r['chance_low']:.0%} to {r['chance_high']:.0%}; median "
            f"{r['coverage']:.1f}x the target)"
            for r in self.targets_table(self.targets).to_dict("records")
        ]
        return " Against the targets: " + "; ".join(said) + "."

    @cached_property
    def cube(self) -> np.ndarray:
        """Per metric, replication and week, the weekly values (``weekly_arrays``): built once,
        since the verdict, the tiles and the roll-ups all read it."""
        return weekly_arrays(self.experiment, self.weeks)

    def totals(self, metric: str) -> np.ndarray:
        """Each replication's total of ``metric`` over the horizon (the open pipeline: open at
        the end), one value per replication: what the bands are percentiles of."""
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {', '.join(METRICS)} (got {metric!r})")
        cube = self.cube[METRICS.index(metric)]
        return cube[:, -1] if metric not in FLOWS else np.nansum(cube, axis=1)

    def targets_table(self, targets: Mapping[str, float]) -> pd.DataFrame:
        """Per target (metric -> the total to reach over the horizon): the median total, the
        coverage (median / target, as pipeline coverage is read: 3.0 = three times the target)
        and the chance of reaching it: the share of replications at or above it, with its
        Wilson 95% interval (a share of ``reps`` runs is itself uncertain)."""
        rows = []
        for metric, target in targets.items():
            if not target > 0:
                raise ValueError(f"target of {metric!r} must be above 0 (got {target!r})")
            totals = self.totals(metric)
            k, n = int((totals >= target).sum()), int(np.isfinite(totals).sum())
            ci = stats.binomtest(k, n).proportion_ci(method="wilson")
            median = float(np.nanmedian(totals))
            rows.append((metric, target, median, median / target, k / n, ci.low, ci.high, n))
        columns = ["metric", "target", "p50", "coverage", "chance", "chance_low", "chance_high"]
        return pd.DataFrame(rows, columns=[*columns, "replications"])

    def by_period(self, freq: str = "M") -> pd.DataFrame:
        """The bands rolled up to calendar months (``"M"``) or quarters (``"Q"``), as a forecast
        call is made: per period and metric, the mean and percentiles over the replications of
        the period's total (the open pipeline: open at the period's last week). A week counts
        in the period its first day falls in; ``weeks`` says how many each period holds, so a
        period cut by the horizon shows as such."""
        if freq not in ("M", "Q"):
            raise ValueError(f"freq must be 'M' (months) or 'Q' (quarters) (got {freq!r})")
        cube = self.cube
        starts = pd.to_datetime(
            [self.scenario.start_date + dt.timedelta(weeks=w) for w in range(self.weeks)]
        )
        periods = starts.to_period(freq)
        low, mid, high = self.quantile_columns
        qs = [(1 - self.level) / 2, 0.5, 1 - (1 - self.level) / 2]
        rows = []
        for period in periods.unique():
            weeks = np.flatnonzero(periods == period)
            for i, metric in enumerate(METRICS):
                part = cube[i][:, weeks]
                totals = np.nansum(part, axis=1) if metric in FLOWS else part[:, -1]
                q = np.nanquantile(totals, qs, method="weibull")
                rows.append((str(period), len(weeks), metric, np.nanmean(totals), *q))
        columns = ["period", "weeks", "metric", "mean", low, mid, high]
        return pd.DataFrame(rows, columns=columns)

    def variance_split(self) -> pd.DataFrame:
        """Per metric, how much of the spread of the horizon total (the open pipeline: at the
        end) comes from not knowing the scenario's values rather than from luck.

        ``sd_total``: sd over the replications (with parameter draws if they ran);
        ``sd_process_only``: sd of the same replications without draws (same seeds);
        ``parameter_share`` = 1 - var_process / var_total, clipped to [0, 1]: by the law of
        total variance the share of Var(total) that Var(E[total | values]) makes, with
        E[Var(total | values)] estimated by the run at the stated values. Without draws both
        sds are the same and the share is 0. Each is estimated from ``reps`` replications: with
        20, an sd is good to about +-16%, so a share under 0.2 may be noise.
        """
        total = horizon_totals(self.experiment, self.weeks)
        var_t = np.nanvar(total, axis=1, ddof=1)
        if not self.parameter_draws:
            var_p, share = var_t, np.zeros(len(METRICS))
        elif self.process_only is None:  # interrupted before the run without draws
            var_p = share = np.full(len(METRICS), np.nan)
        else:
            var_p = np.nanvar(horizon_totals(self.process_only, self.weeks), axis=1, ddof=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                share = np.where(var_t > 0, np.clip(1.0 - var_p / var_t, 0.0, 1.0), 0.0)
        return pd.DataFrame(
            {
                "metric": list(METRICS),
                "sd_total": np.sqrt(var_t),
                "sd_process_only": np.sqrt(var_p),
                "parameter_share": share,
            }
        )

    @property
    def _how_many(self) -> str:
        """Why the forecast ran as many runs as it did; for a fixed count, if they are too few."""
        settled, rule = self.experiment.settled, self.experiment.settle
        if settled is None or settled.empty or not isinstance(rule, BandRule):
            return too_few_runs(self.reps, self.level)
        row = settled.iloc[0]
        low, mid, high = (c.upper() for c in self.quantile_columns)
        known = (
            f"the {LABELS['valid_opportunities'][0]}' {low}, {mid} and {high} "
            f"{'were each' if row['status'] == 'settled' else 'each'} known to "
            f"+/-{math.ceil(row['relative_half_width'] * 1000) / 1000:.1%} of the {mid} "
            f"(asked: +/-{rule.relative:.1%}"
        )
        if row["status"] == "settled":
            return f" The runs went on until {known})."
        if row["status"] == "limit":
            return (
                f" The runs stopped at the most allowed ({rule.max_reps}), with {known}; more "
                "replications would narrow it)."
            )
        return f" The runs were cut short, with {known})."

    @property
    def _bands_cover(self) -> str:
        """What the bands hold, in one sentence for the verdict."""
        n = len(self.scenario.uncertainty)
        if self.parameter_draws:
            share = self.variance_split().set_index("metric")["parameter_share"].loc[_SHARE_METRIC]
            measured = (
                f"{share:.0%} of the variance of the valid opportunities"
                if math.isfinite(share)
                else "its share was not measured"
            )
            moved = "; ".join(
                f"{path} centres on {centre:.3g} where the scenario states {stated:.3g}"
                for path, centre, stated in off_centre(self.scenario)
            )
            return (
                f"The bands include parameter uncertainty ({n} uncertain value"
                f"{'' if n == 1 else 's'} drawn per replication): {measured}."
            ) + (
                f" NOTE: {moved}: the draws move the forecast's centre, not only its spread."
                if moved
                else ""
            )
        if n:
            return (
                f"The bands hold process noise only: the scenario's {n} uncertain value"
                f"{' is' if n == 1 else 's are'} held fixed (parameter draws off)."
            )
        return "The bands hold process noise only: the scenario's values are taken as exact."

    def _spreadsheet(self) -> dict[str, float]:
        """What a rate-times-volume sheet expects over the period (new leads only: it knows
        nothing of capacity, decay or a starting funnel), for the flows it can give."""
        funnel = spreadsheet_funnel(self.scenario)
        total = funnel[funnel["source"] == "total"].iloc[0].copy()
        inbound = funnel[funnel["motion"] == "inbound"]
        # The simulation's leads and MQLs are inbound only: outbound accounts are neither.
        total["leads_per_week"] = inbound["leads_per_week"].sum()
        total["mqls_per_week"] = inbound["mqls_per_week"].sum()
        weeks = self.scenario.horizon / WEEK
        columns = {
            "leads": "leads_per_week",
            "mqls": "mqls_per_week",
            "sqls": "sqls_per_week",
            "valid_opportunities": "valid_per_week",
            "won": "won_per_week",
            "won_value": "won_value_per_week",
        }
        return {metric: float(total[col]) * weeks for metric, col in columns.items()}

    @property
    def verdict(self) -> str:
        """One or two plain sentences with the headline figures of ``totals_table()``."""
        t = self.totals_table().set_index("metric")
        low, _, high = self.quantile_columns
        share = level_text(self.level)
        cur = self.scenario.currency

        def figure(metric: str, words: str) -> str:
            mean, lo, hi = (t[col].loc[metric] for col in ("mean", low, high))
            return (
                f"{_format(metric, mean, cur)}{' ' + words if words else ''} ({share} range "
                f"{_format(metric, lo, cur)} to {_format(metric, hi, cur)})"
            )

        first = (
            f"Over the next {self.weeks} weeks from {self.scenario.start_date:%Y-%m-%d} we "
            f"expect {figure('valid_opportunities', 'valid opportunities')} and "
            f"{figure('pipeline_value', 'of pipeline')}, and "
            f"{figure('won', 'wins')} worth {figure('won_value', '')}."
        )
        if self.experiment.snapshot is not None:
            origin = ", starting from today's funnel"
        elif self.warm_up_weeks:
            basis = f": {self.warm_up_basis}" if self.warm_up_basis else ""
            origin = f", each after a {self.warm_up_weeks}-week warm-up{basis}"
        else:
            origin = ", from an empty funnel"
        second = (
            f"At the end, {figure('open_opportunities', 'valid opportunities')} are still "
            f"open ({self.reps} replications{origin})."
        )
        sheet = t["spreadsheet"].loc["valid_opportunities"]
        third = (
            f"A spreadsheet of the same rates would expect {sheet:,.0f} valid opportunities: "
            "it leaves out capacity, speed-to-lead decay and follow-ups (the gap explanation, "
            "`simfunnel explain`, measures what each is worth)."
        )
        text = (
            f"{first} {second}{self._how_many} {self._bands_cover} {third}"
            f"{self._targets_sentence()}"
        )
        if self.experiment.snapshot is None and not self.warm_up_weeks:
            text = (
                "WARNING: this forecast starts from an EMPTY funnel (no snapshot, warm-up 0): "
                "no leads or opportunities are open at the start, so the first weeks, and wins "
                "above all, are undercounted. " + text
            )
        return text

    @property
    def table(self) -> pd.DataFrame:
        """The totals over the horizon the verdict reads (:meth:`totals_table`)."""
        return self.totals_table()

    def plot(self, what: str | None = None, *, ax: Any = None, cumulative: bool = False) -> Any:
        """A fan chart of one metric: the band shaded, the median drawn, the mean dashed.

        ``what``: a metric of ``METRICS`` per week (``None``: ``valid_opportunities``), or
        the metric with ``_cumulative`` appended for its running total since the start (e.g.
        ``pipeline_value_cumulative``; ``cumulative=True`` says the same). Returns the
        matplotlib axes; matplotlib is imported only here, and nothing is shown.
        """
        metric = what or "valid_opportunities"
        if metric.endswith(CUMULATIVE) and metric.removesuffix(CUMULATIVE) in METRICS:
            metric, cumulative = metric.removesuffix(CUMULATIVE), True
        if metric not in METRICS:
            raise ValueError(
                f"unknown metric {metric!r}; use one of {', '.join(METRICS)} (with "
                f"{CUMULATIVE} for a running total)"
            )
        return charts.forecast_fan(self, metric, cumulative, ax=ax)

    def tables(self) -> Mapping[str, pd.DataFrame]:
        """``bands``, ``cumulative``, and ``variance_split`` when the bands drew parameters."""
        out = {"bands": self.bands, "cumulative": self.cumulative}
        if self.freq is not None:
            out["periods"] = self.by_period(self.freq)
        if self.parameter_draws:
            out["variance_split"] = self.variance_split()
        return out

    def charts(self) -> Mapping[str, str | None]:
        """Valid opportunities per week, and the pipeline value created, cumulative."""
        return {
            "valid_opportunities": "valid_opportunities",
            "pipeline_value": "pipeline_value" + CUMULATIVE,
        }

    def __repr__(self) -> str:
        """One line: what was forecast, and what the bands hold."""
        if self.parameter_draws:
            share = self.variance_split().set_index("metric")["parameter_share"].loc[_SHARE_METRIC]
            bands = f"process and parameters, parameter share {float(share):.2f}"
        else:
            bands = "process noise only"
        return (
            f"<Forecast of {self.scenario.name!r}: weeks={self.weeks}, reps={self.reps}, "
            f"level={self.level:g}, bands: {bands}>"
        )

    def text(self) -> str:
        """The verdict, the totals, and with parameter draws the spread they make."""
        parts = [self.verdict, reports.forecast_kpis(self).to_string(index=False)]
        if self.freq is not None:
            parts.append(reports.period_text(self, self.freq))
        if self.parameter_draws:
            split, cur = self.variance_split(), self.scenario.currency
            shown = split.assign(parameter_share=split["parameter_share"].map(_share))
            for col in ("sd_total", "sd_process_only"):  # money in its currency
                shown[col] = [_format(r["metric"], r[col], cur) for _, r in split.iterrows()]
            parts.append(
                "Spread of the totals (sd): with parameter draws, process noise only, parameter "
                "share\n" + shown.to_string(index=False, na_rep=NA)
            )
        return "\n\n".join(parts)

    def report(self) -> Report:
        return reports.forecast_report(self)


def _share(value: float) -> str:
    """A share as the terminal prints it, n/a when undefined."""
    return f"{value:.0%}" if math.isfinite(value) else NA


def _check(weeks: int | None, reps: int | None, level: float) -> None:
    if weeks is not None and (isinstance(weeks, bool) or not isinstance(weeks, int) or weeks < 1):
        raise ValueError(f"weeks must be a whole number of weeks >= 1 (got {weeks!r})")
    if reps is not None and (isinstance(reps, bool) or not isinstance(reps, int) or reps < 2):
        raise ValueError(
            f"reps must be a whole number >= 2: a band needs at least two replications "
            f"(got {reps!r}; 20 or more is usual)"
        )
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, e.g. 0.8 for P10-P90 (got {level!r})")


def _band_plan(
    reps: int | None, precision: float | None, max_reps: int | None, level: float
) -> tuple[int, BandRule | None]:
    """The first look and the stopping rule: ``reps`` alone fixes the count (no rule)."""
    if reps is not None and precision is None and max_reps is None:
        return reps, None
    rule = BandRule(
        relative=DEFAULT_PRECISION if precision is None else precision,
        level=level,
        max_reps=BandRule.max_reps if max_reps is None else max_reps,
    )
    first = FIRST_LOOK if reps is None else reps
    return min(first, rule.max_reps), rule


def _runs(
    scenario: Scenario, reps: int, draws: bool, options: RunOptions
) -> tuple[Experiment, Experiment | None]:
    """The forecast's replications (until its rule settles the band, if it has one) and, with
    parameter draws, as many on the same seeds without them (the process noise alone, for the
    split of the band's variance)."""
    experiment = run(scenario, reps, options=options.updated(draw_parameters=draws))
    finished = experiment.long["replication"].nunique()
    if finished < 2:
        raise ExperimentError(
            f"only {finished} replication(s) finished before the interruption; "
            "a band needs at least two"
        )
    if not draws or experiment.interrupted:
        return experiment, None
    alone = options.updated(seed=experiment.seed, settle=None)
    process = run(scenario, experiment.finished(experiment.baseline), options=alone)
    return experiment, process if process.long["replication"].nunique() >= 2 else None


def forecast(
    scenario: Scenario,
    weeks: int | None = None,
    reps: int | None = None,
    *,
    precision: float | None = None,
    max_reps: int | None = None,
    level: float = 0.8,
    warm_up: int | None = None,
    parameter_draws: bool | None = None,
    targets: Mapping[str, float] | None = None,
    **keywords: Unpack[SharedKeywords],
) -> Forecast:
    """Forecast the pipeline week by week: replications of ``scenario`` over ``weeks`` weeks
    (default: its horizon), from ``snapshot`` (today's open leads and opportunities,
    :func:`simfunnel.read_snapshot`) if given.

    How many: by default, until the P10, P50 and P90 of the valid opportunities over the
    horizon are each known to ``precision`` (default +/-2%) of the P50 (:class:`BandRule`): 20
    first, then 10 more at a time, at most ``max_reps`` (default 100); the verdict says how
    many it took and why it stopped. ``reps`` alone fixes the count; with ``precision`` or
    ``max_reps`` it is the first look.

    ``level`` is the share of periods the band should hold (0.8: P10-P90). ``seed``,
    ``workers``, ``executor``, ``progress`` and ``snapshot`` are those of :func:`simfunnel.run`. A failing
    replication raises (a band from the survivors would be biased); with Ctrl-C the forecast
    uses the replications that finished, if at least two did.

    ``warm_up`` (weeks): without a snapshot, the funnel is first filled by a warm-up of
    :func:`default_warm_up` weeks (the scenario's own ``warm_up`` if set, else the sales-cycle
    P90 plus 4 weeks); give a number to choose it, and 0 to start from an empty funnel (the
    verdict then warns). With a snapshot there is no warm-up.

    ``parameter_draws``: whether each replication first draws the scenario's ``uncertainty``
    entries (see the module docstring); None (default): when it has any. With draws the
    replications are run a second time without them, on the same seeds, for
    :meth:`Forecast.variance_split` (twice the run time).

    ``targets``: totals to reach over the horizon by metric (``{"won_value": 2e6}``); the
    verdict then gives the chance of reaching each (:meth:`Forecast.targets_table`).
    """
    # run's defaults, and fail_fast: a band from the survivors would be biased
    options = RunOptions().shared(**keywords).updated(fail_fast=True)
    _check(weeks, reps, level)
    first, rule = _band_plan(reps, precision, max_reps, level)
    options = options.updated(settle=rule)
    _checked_targets(targets or {})
    if parameter_draws is not None and not isinstance(parameter_draws, bool):
        raise ValueError(f"parameter_draws must be True, False or None (got {parameter_draws!r})")
    draws = bool(scenario.uncertainty) and parameter_draws is not False
    warm, basis = warm_up_weeks(scenario, options.snapshot, warm_up)
    overrides: dict[str, Any] = {} if weeks is None else horizon_overrides(scenario, weeks)
    if warm * WEEK != scenario.warm_up:
        overrides["warm_up"] = f"{warm} weeks"
    if overrides:
        name = f"{scenario.name} (weeks={weeks})" if weeks is not None else scenario.name
        scenario = with_overrides(scenario, overrides, source=name)
    with decision_pool(options) as shared:  # one pool for the forecast and its noise alone
        experiment, process = _runs(scenario, first, draws, shared)
    cube = weekly_arrays(experiment, scenario.weeks)
    flows = cube.copy()
    n_flows = len(FLOWS)
    flows[:n_flows] = np.cumsum(cube[:n_flows], axis=2)  # running totals; the level as is
    return Forecast(
        scenario=scenario,
        experiment=experiment,
        level=float(level),
        bands=band_table(cube, scenario, level),
        cumulative=band_table(flows, scenario, level),
        warm_up_basis=basis if warm else "",
        process_only=process,
        targets=_checked_targets(targets or {}),
    )


def _checked_targets(targets: Mapping[str, float]) -> dict[str, float]:
    """Targets by metric, refused before any run if a metric is unknown or a value not > 0."""
    for metric, value in targets.items():
        if metric not in METRICS:
            raise ValueError(f"target metric must be one of {', '.join(METRICS)} (got {metric!r})")
        if not (isinstance(value, int | float) and value > 0):
            raise ValueError(f"target of {metric!r} must be a number above 0 (got {value!r})")
    return {m: float(v) for m, v in targets.items()}
