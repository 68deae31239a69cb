"""The arithmetic of forecast bands: the weekly metrics, the replications as a cube, and the
tidy band tables read from it.

Why apart from :mod:`simfunnel.decisions.forecasting`: the forecast, the backtest and the charts
all read the same cube (metrics x replications x weeks) and the same metric names; the rules
(the band as a prediction interval, the open pipeline derived from the weekly flows) are in that
module's docstring.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats import mstats

from ..experiments import Experiment
from ..experiments.intervals import kpi_key
from ..experiments.settle import check_rule
from ..scenario import Scenario

__all__ = [
    "FIRST_LOOK",
    "FLOWS",
    "LABELS",
    "LEVELS",
    "METRICS",
    "VALUES",
    "BandRule",
    "band_precision",
    "band_table",
    "horizon_totals",
    "percentile_name",
    "too_few_runs",
    "weekly_arrays",
]

# Weekly columns of SimulationResult.weekly that are counted per week (flows), and the derived
# level. Labels and units for tables, the chart and the verdict.
FLOWS: tuple[str, ...] = (
    "leads",
    "mqls",
    "sqls",
    "valid_opportunities",
    "won",
    "lost",
    "pipeline_value",
    "won_value",
)
LEVELS: tuple[str, ...] = ("open_opportunities",)
METRICS: tuple[str, ...] = FLOWS + LEVELS
LABELS: dict[str, tuple[str, str]] = {  # metric: (what it is, its unit on an axis)
    "leads": ("inbound leads", "leads"),
    "mqls": ("MQLs", "MQLs"),
    "sqls": ("SQLs (opportunities handed to sales)", "SQLs"),
    "valid_opportunities": ("valid opportunities", "opportunities"),
    "won": ("deals won", "deals"),
    "lost": ("deals lost", "deals"),
    "pipeline_value": ("pipeline value (valid opportunities created)", "value"),
    "won_value": ("won value", "value"),
    "open_opportunities": ("open pipeline", "valid opportunities open"),
}
VALUES = ("pipeline_value", "won_value")  # amounts, written 1.2M


def percentile_name(q: float) -> str:
    """Column name of a quantile: 0.1 -> 'p10', 0.025 -> 'p2.5'."""
    return f"p{round(100 * q, 6):g}"


def weekly_arrays(experiment: Experiment, weeks: int) -> np.ndarray:
    """Per replication and week: every metric's weekly value (flows and the derived open
    pipeline), shape (metrics, replications, weeks)."""
    long = experiment.long
    long = long[long["metric"].isin(FLOWS)]
    wide = long.pivot_table(
        index="replication", columns=["metric", "week"], values="value", aggfunc="first"
    )
    reps = wide.index.to_numpy()
    # A metric, the first level of the columns, selects its weeks as a frame; the stubs type a
    # column key as selecting one column.
    by_metric = {m: cast(pd.DataFrame, wide[m]) for m in FLOWS}
    cube = np.stack(
        [by_metric[m].reindex(columns=range(weeks)).to_numpy(dtype=float) for m in FLOWS]
    )
    totals = experiment.totals
    at_end = (
        totals[(totals["section"] == "totals") & (totals["metric"] == "open_opportunities")]
        .set_index("replication")["value"]
        .reindex(reps)
        .to_numpy(dtype=float)
    )
    net = cube[FLOWS.index("valid_opportunities")] - cube[FLOWS.index("won")]
    net = net - cube[FLOWS.index("lost")]
    # open[k] = open_at_end - (net flow of the weeks after k); see simfunnel.decisions.forecasting.
    after = net[:, ::-1].cumsum(axis=1)[:, ::-1] - net
    open_ = at_end[:, None] - after
    return np.concatenate([cube, open_[None]])


def horizon_totals(experiment: Experiment, weeks: int) -> np.ndarray:
    """Per metric and replication, the total over the last ``weeks`` weeks the experiment ran
    (the open pipeline: at the end), shape (metrics, replications)."""
    ran = int(experiment.long["week"].max()) + 1
    cube = weekly_arrays(experiment, ran)[:, :, ran - weeks :]
    n = len(FLOWS)
    return np.concatenate([np.nansum(cube[:n], axis=2), cube[n:, :, -1]])


def band_table(cube: np.ndarray, scenario: Scenario, level: float) -> pd.DataFrame:
    """Tidy bands from a (metrics, replications, weeks) cube: one row per week and metric."""
    low = (1 - level) / 2
    qs = np.nanquantile(cube, [low, 0.5, 1 - low], axis=1, method="weibull")
    n_metrics, _, weeks = cube.shape
    week = np.tile(np.arange(weeks), n_metrics)
    starts = [scenario.start_date + dt.timedelta(weeks=int(w)) for w in range(weeks)]
    frame = pd.DataFrame(
        {
            "week": week,
            "week_start": np.tile(np.array(starts, dtype=object), n_metrics),
            "metric": np.repeat(np.array(METRICS, dtype=object), weeks),
            "mean": np.nanmean(cube, axis=1).ravel(),
            percentile_name(low): qs[0].ravel(),
            "p50": qs[1].ravel(),
            percentile_name(1 - low): qs[2].ravel(),
        }
    )
    # Week by week, the metrics in the order of METRICS within a week.
    return frame.sort_values("week", kind="stable").reset_index(drop=True)


FIRST_LOOK = 20  # a forecast's first look: the fixed count it ran before it settled
BAND_STEP = 10  # replications added per look after the first


@dataclass(frozen=True)
class BandRule:
    """A forecast's stopping rule (:class:`simfunnel.experiments.StoppingRule`): add
    replications until the band's edges and middle (the P10, P50 and P90 at ``level`` 0.8) of
    ``kpi``'s total over the horizon are each known to ``relative`` of the P50, at 95%, or
    ``max_reps`` is reached.

    Why: a forecast's answer is its band, and a band's edges move with the luck of the runs far
    more than its mean does: from 20 runs a P10 is known to about +/-0.75 sd. A sample
    quantile's standard error is taken as the larger of two: the asymptotic one with the
    density of a normal of the runs' sd, ``sd * sqrt(q (1 - q)) / phi(z_q) / sqrt(n)`` (totals
    over weeks are sums of many weekly counts, close to normal), and the distribution-free
    Maritz-Jarrett one (``scipy.stats.mstats.mjci``), which holds where the totals are skewed
    and a tail is long; times the t quantile with ``n - 1`` degrees of freedom, a 95%
    half-width. The first look is :data:`FIRST_LOOK` runs, then :data:`BAND_STEP` more."""

    kpi: str = "totals.valid_opportunities"
    relative: float = 0.02
    level: float = 0.8
    batch: int = BAND_STEP
    max_reps: int = 100

    def __post_init__(self) -> None:
        check_rule(self.relative, self.max_reps, 2)  # a band needs two replications

    def next_count(self, n: int) -> int:
        return n + self.batch

    def state(
        self,
        totals: pd.DataFrame,
        names: Sequence[str],
        baseline: str,
        previous: pd.DataFrame | None,
    ) -> pd.DataFrame:
        section, metric = kpi_key(self.kpi, totals)
        rows = []
        for name in names:
            mine = totals[
                (totals["variant"] == name)
                & (totals["section"] == section)
                & (totals["metric"] == metric)
            ]
            half, p50 = band_precision(mine["value"].to_numpy(dtype=float), self.level)
            n = len(mine)
            known = half / abs(p50) if p50 else math.inf
            status, why = "running", "more replications needed"
            said = f"P10, P50 and P90 known to +/-{known:.1%} of the P50"
            if self.level != 0.8:
                low = percentile_name((1 - self.level) / 2).upper()
                high = percentile_name((1 + self.level) / 2).upper()
                said = f"{low}, P50 and {high} known to +/-{known:.1%} of the P50"
            if n >= 2 and known <= self.relative:
                status, why = "settled", f"{said} (asked +/-{self.relative:.0%})"
            elif n >= self.max_reps:
                status = "limit"
                why = (
                    f"stopped at the most replications allowed ({self.max_reps}): {said}, "
                    f"asked +/-{self.relative:.0%}"
                )
            rows.append(
                {"variant": name, "replications": n, "p50": p50, "half_width": half}
                | {"relative_half_width": known, "status": status, "why": why}
            )
        return pd.DataFrame(rows)


def band_precision(values: np.ndarray, level: float = 0.8) -> tuple[float, float]:
    """The widest 95% half-width of the band's low edge, middle and high edge (see
    :class:`BandRule`), and the P50 of ``values`` (NaN, NaN below two values)."""
    values = values[np.isfinite(values)]
    n = len(values)
    if n < 2:
        return math.nan, math.nan
    qs = np.array([(1 - level) / 2, 0.5, (1 + level) / 2])
    normal = np.sqrt(qs * (1 - qs)) / stats.norm.pdf(stats.norm.ppf(qs))
    normal *= float(np.std(values, ddof=1)) / math.sqrt(n)
    free = np.asarray(mstats.mjci(values, prob=qs), dtype=float)  # Maritz-Jarrett
    half = stats.t.ppf(0.975, n - 1) * float(np.nanmax(np.fmax(normal, free)))
    return half, float(np.quantile(values, 0.5, method="weibull"))


def too_few_runs(reps: int, level: float) -> str:
    """A sentence when ``reps`` replications are too few for a band at ``level``: below
    2 / (1 - level) - 1 its ends are the smallest and largest run, which hold a new period
    (reps - 1) / (reps + 1) of the time, not ``level`` (empty otherwise)."""
    need = math.ceil(2 / (1 - level) - 1 - 1e-9)
    if reps >= need:
        return ""
    return (
        f" WARNING: {reps} replications are too few for a band at {level:.0%}: its ends are the "
        f"smallest and largest run, which hold a new period about {(reps - 1) / (reps + 1):.0%} "
        f"of the time; run at least {need} for the band to mean {level:.0%}."
    )
