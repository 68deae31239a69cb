"""A rolling-origin backtest's result, :class:`RollingBacktest`: every (cutoff, month, metric)
scored for the model and the baselines, the summary, the verdict per metric and the misses,
with the answer interface (charts, files, terminal text, report).

The driver that picks the cutoffs and forecasts at each is
:func:`simfunnel.calibration.rolling.rolling_backtest`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import pandas as pd
from scipy import stats

from ..results import plots
from ..results.answer import Report
from .model_answer import ModelAnswer, model_report
from .rolling_headline import rolling_points, rolling_tiles
from .stage_fit import METRIC_NAMES
from .terminal import rolling_text

__all__ = ["MODEL", "RollingBacktest"]

MODEL = "cohort model"


@dataclass(frozen=True, repr=False)
class RollingBacktest(ModelAnswer):
    """``cells``: one row per cutoff, month, metric and method (the model and each
    baseline): ``actual``, the forecast (``p50``; the model also ``p10, p90``, ``inside``
    the band and ``central``, :func:`~simfunnel.calibration.scores.central_share`, whose mean
    is the coverage), ``ape`` and ``crps``. ``totals``: per cutoff, metric and method, the
    horizon's actual and forecast totals and the relative error. ``variance``: per cutoff and
    metric, the share of the band's variance the parameter draws make. ``cutoffs``: those
    scored; ``skipped``: the others asked for, each with why. ``notes``: what was assumed or
    left out. ``horizon_weeks``: the horizon when given in weeks (None: in months).
    ``problems``: the rows the reads excluded or changed (file, line, column, problem,
    action), as a fit reports them.
    No scenario: the cohort model has none, and the simulation fits one per cutoff."""

    cells: pd.DataFrame
    totals: pd.DataFrame
    variance: pd.DataFrame
    cutoffs: tuple[pd.Timestamp, ...]
    horizon_months: int
    level: float
    notes: tuple[str, ...] = ()
    windows: tuple[str, ...] = ()
    method: str = MODEL  # the forecaster judged: "cohort model" or "simulation"
    horizon_weeks: int | None = None
    skipped: tuple[tuple[pd.Timestamp, str], ...] = ()  # (cutoff, why), why shared by kind
    problems: pd.DataFrame = field(default_factory=pd.DataFrame)

    def summary(self) -> pd.DataFrame:
        """Per metric and method: months scored, coverage of the band (the model) with the
        binomial 99% range a calibrated band would show, MAPE, mean CRPS, the mean error of
        the horizon total, and the model's own mean error over the same cutoffs
        (``model_total_error``: a baseline that needs a year of history is scored on later
        cutoffs only, and is compared with the model there)."""
        rows = []
        tot = self.totals
        for (metric, method), g in self.cells.groupby(["metric", "method"], sort=False):
            t = tot[(tot["metric"] == metric) & (tot["method"] == method)]
            mine = tot[
                (tot["metric"] == metric)
                & (tot["method"] == self.method)
                & tot["cutoff"].isin(t["cutoff"])
            ]
            row = {
                "metric": metric,
                "method": method,
                "months": len(g),
                "cutoffs": int(t["cutoff"].nunique()),
                "coverage": float(g["central"].mean()) if method == self.method else math.nan,
                "mape": float(g["ape"].mean()),
                "crps": float(g["crps"].mean()),
                "total_error": float(t["error"].mean()),
                "model_total_error": float(mine["error"].mean()),
                "difference_se": self._paired_se(t, mine),
            }
            lo, hi = stats.binom.interval(0.99, len(g), self.level)
            row["coverage_low"] = lo / len(g) if method == self.method else math.nan
            row["coverage_high"] = hi / len(g) if method == self.method else math.nan
            rows.append(row)
        return pd.DataFrame(rows)

    def _paired_se(self, base: pd.DataFrame, mine: pd.DataFrame) -> float:
        """Standard error of the mean difference in horizon-total error, model minus
        baseline, over the cutoffs both have. Horizons of consecutive cutoffs overlap, so
        the cutoffs count as one per horizon's length (a conservative effective count)."""
        d = (mine.set_index("cutoff")["error"] - base.set_index("cutoff")["error"]).dropna()
        n_eff = len(d) / max(1, self.horizon_months)
        if len(d) < 2 or n_eff < 1:
            return math.nan
        return float(d.std(ddof=1) / math.sqrt(n_eff))

    @property
    def table(self) -> pd.DataFrame:
        """The scores per metric and method: :meth:`summary`."""
        return self.summary()

    @property
    def verdict(self) -> str:
        """Per metric, a line: does the model beat the baselines, and is its band calibrated."""
        lines = self.verdict_lines()
        if lines:
            return "\n".join(lines)
        return (
            f"The {self.method} was scored at {len(self.cutoffs)} cutoffs, but no baseline "
            "covered them: there is nothing to compare it with."
        )

    @property
    def subject(self) -> str:
        return f"of the {self.method} at {len(self.cutoffs)} cutoffs, {self.horizon_months} months ahead"

    def judgements(self) -> list[dict[str, Any]]:
        """Per metric with a baseline: the model's scores, the baseline it beats by the least
        (or loses to by the most), whether it beats every one, the gap and its standard error,
        and whether the band held as often as a calibrated band would."""
        s = self.summary()
        found = []
        for metric, g in s.groupby("metric", sort=False):
            model = g[g["method"] == self.method].iloc[0]
            base = g[(g["method"] != self.method) & g["total_error"].notna()]
            if base.empty:
                continue
            margin = base["total_error"] - base["model_total_error"]
            label = cast(int, margin.idxmin())  # the stubs type an index label as Hashable
            worst = base.loc[label]
            assert isinstance(worst, pd.Series)  # the summary's labels are unique: one row
            found.append(
                {
                    "metric": str(metric),
                    "model": model,
                    "worst": worst,
                    "beats": bool(margin.min() >= 0),
                    "gap": -float(margin.min()),
                    "se": float(worst["difference_se"]),
                    "calibrated": bool(
                        model["coverage_low"] <= model["coverage"] <= model["coverage_high"]
                    ),
                }
            )
        return found

    def verdict_lines(self) -> list[str]:
        """One line per metric: does the model's horizon total beat every baseline on the
        cutoffs each baseline covers (named: the one it beats by the least, or loses to by the
        most), and is its band calibrated."""
        lines = []
        for j in self.judgements():
            model, worst, gap, se = j["model"], j["worst"], j["gap"], j["se"]
            where = (
                ""
                if worst["cutoffs"] == model["cutoffs"]
                else f" on the {int(worst['cutoffs'])} cutoffs it covers"
            )
            judged = (
                "does NOT beat every baseline"
                if not j["beats"]
                else "ties with the best baseline"
                if gap > -0.0005  # equal as printed
                else "beats every baseline"
            )
            chance = (
                ""
                if j["beats"] or not math.isfinite(se)
                else f", {'within' if gap <= 2 * se else 'beyond'} chance: two standard errors "
                f"of the paired difference are {2 * se:.1%}"
            )
            lines.append(
                f"{j['metric']}: horizon total off by {model['total_error']:.0%} on average; "
                f"{judged}: "
                f"{worst['model_total_error']:.1%} against {worst['total_error']:.1%} for "
                f"{worst['method']}{where}{chance}; the P10-P90 band held "
                f"{model['coverage']:.0%} of "
                f"{int(model['months'])} months ({'within' if j['calibrated'] else 'OUTSIDE'} "
                f"the {model['coverage_low']:.0%}-{model['coverage_high']:.0%} a calibrated "
                "band shows)"
            )
        return lines

    def plot(self, what: str | None = None, *, ax: Any = None, ahead: int = 1) -> Any:
        """Each month's actual count of a metric (``what``, default ``won``, else the last
        one scored) against what was forecast ``ahead`` months before it: the model's band and
        median, and each baseline's figure. Where the dots leave the band is where the model
        missed. Returns the axes."""
        metrics = list(self.charts())
        metric = what if what is not None else ("won" if "won" in metrics else metrics[-1])
        c = self.cells[(self.cells["metric"] == metric) & (self.cells["ahead"] == ahead)]
        if c.empty:
            raise ValueError(f"no scored month for {metric!r} {ahead} month(s) ahead")
        ax = plots.axes(ax, (10, 4.5))
        model = c[c["method"] == self.method].sort_values("month")
        x = pd.PeriodIndex(model["month"], freq="M").to_timestamp()
        band = plots.COLORS["band"]
        ax.fill_between(
            x, model["p10"], model["p90"], color=band, alpha=0.4, label=f"{self.method}, P10-P90"
        )
        ax.plot(x, model["p50"], color=plots.SERIES[0], label=f"{self.method}, median")
        others = [(":", "#555555"), ("--", plots.PALETTE["orange"]), ("-.", plots.PALETTE["green"])]
        styles = iter([*others, ("--", plots.PALETTE["purple"])])
        for method, g in c[c["method"] != self.method].groupby("method", sort=False):
            g = g.sort_values("month")
            gx = pd.PeriodIndex(g["month"], freq="M").to_timestamp()
            line, colour = next(styles, ("--", "0.5"))
            ax.plot(gx, g["p50"], linestyle=line, color=colour, label=method)
        ax.plot(x, model["actual"], "o", color="black", label="actual")
        from matplotlib import dates  # heavy: loaded only to draw

        ax.xaxis.set_major_locator(dates.MonthLocator(interval=max(1, math.ceil(len(x) / 8))))
        ax.xaxis.set_major_formatter(dates.DateFormatter("%b %Y"))
        ax.set_ylim(bottom=0)
        name = METRIC_NAMES.get(metric, metric.replace("_", " "))
        ax.set_ylabel(f"{name} per month")
        ax.set_title(
            f"{name[0].upper() + name[1:]}: each month against the forecast made "
            f"{ahead} month{'s' if ahead > 1 else ''} before"
        )
        plots.legend_outside(ax)
        ax.grid(alpha=0.3)
        return ax

    def misses(self, n: int = 5) -> pd.DataFrame:
        """Where the model missed most: the months whose actual count fell outside the band,
        worst first by CRPS relative to the actual (a miss of 20 on 40 is worse than 20 on
        400), ``n`` per metric."""
        c = self.cells[self.cells["method"] == self.method]
        c = c[~c["inside"].astype(bool)].copy()
        c["relative_crps"] = c["crps"] / c["actual"].clip(lower=1)
        c = c.sort_values("relative_crps", ascending=False)
        cols = ["metric", "cutoff", "month", "ahead", "actual", "p10", "p50", "p90"]
        return c.groupby("metric", sort=False).head(n)[cols].reset_index(drop=True)

    def tables(self) -> Mapping[str, pd.DataFrame]:
        """``cells``, ``totals``, ``summary``, ``variance`` and ``misses`` (ten per metric)."""
        return {
            "cells": self.cells,
            "totals": self.totals,
            "summary": self.summary(),
            "variance": self.variance,
            "misses": self.misses(10),
        }

    def charts(self) -> Mapping[str, str | None]:
        """One chart per metric scored, named after it."""
        return {str(m): str(m) for m in self.cells["metric"].unique()}

    def text(self) -> str:
        """What ``simfunnel backtest --every``/``--cutoffs`` prints."""
        return rolling_text(self)

    def report(self) -> Report:
        """A simple report: the verdict per metric, the scores, and the main metric's chart."""
        first, last = self.cutoffs[0], self.cutoffs[-1]
        return model_report(
            self,
            title=f"Rolling-origin backtest of the {self.method}: does it beat the baselines?",
            subtitle=(
                f"{len(self.cutoffs)} cutoffs from {first:%Y-%m-%d} to {last:%Y-%m-%d}, "
                f"{self.horizon_months} months ahead, each month scored against the export"
            ),
            caption=(
                "Each month's actual count (black) against the forecast made a month before: "
                "the model's P10-P90 band and median, and each baseline."
            ),
            kpi_note=(
                "Per metric and method: months scored, coverage of the band, MAPE, mean CRPS "
                "and the mean error of the horizon total."
            ),
            notes=[*self.windows, *self.notes],
            tiles=rolling_tiles(self),
            points=rolling_points(self),
        )
