"""The arithmetic of forecast bands: the weekly metrics, the replications as a cube, and the
tidy band tables read from it.

Why apart from :mod:`simfunnel.decisions.forecasting`: the forecast, the backtest and the charts
all read the same cube (metrics x replications x weeks) and the same metric names; the rules
(the band as a prediction interval, the open pipeline derived from the weekly flows) are in that
module's docstring.
"""

from __future__ import annotations

import datetime as dt
from typing import cast

import numpy as np
import pandas as pd

from ..experiments import Experiment
from ..scenario import Scenario

__all__ = [
    "FLOWS",
    "LABELS",
    "LEVELS",
    "METRICS",
    "VALUES",
    "band_table",
    "horizon_totals",
    "percentile_name",
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
