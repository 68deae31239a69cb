"""How the cohort model's answers print in a terminal: tables a person reads (shares as
percentages, counts as whole numbers), and the outlook and the rolling backtest as ``simfunnel
outlook`` and ``simfunnel backtest --every`` show them (their ``text()``).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from .cohort_forecast import CohortForecast
    from .rolling_result import RollingBacktest

__all__ = ["days_text", "outlook_text", "readable", "rolling_text"]

# The stage fits the outlook lists (the others were not fitted: no dates, too few events).
_FITTED = ("lognormal", "immediate", "assumed_shape")


def readable(frame: pd.DataFrame, pct: tuple[str, ...] = (), ints: tuple[str, ...] = ()) -> str:
    """A table a person reads: shares as percentages, counts as whole numbers."""
    out = frame.copy()
    for c in pct:
        if c in out:
            out[c] = out[c].map(lambda x: "n/a" if pd.isna(x) else f"{x:.1%}")
    for c in ints:
        if c in out:
            out[c] = out[c].map(lambda x: "n/a" if pd.isna(x) else f"{x:,.0f}")
    return out.to_string(index=False)


def days_text(x: float) -> str:
    """A delay in days as a person says it: hours under a day."""
    return f"{x * 24:.0f} h" if x < 1 else f"{x:.0f} days"


def outlook_text(fc: CohortForecast) -> str:
    """The outlook: the window, each stage's conversion and delay, the arrivals per source,
    each month's median and band, and where the band's width comes from."""
    model, as_of = fc.model, fc.start
    origin = f"from {fc.source} " if fc.source else ""
    arrivals = model.arrivals_table().round({"per_week_now": 1, "overdispersion": 3})
    table = fc.table
    part = "" if as_of.day == 1 else f"; {fc.months[0]} from {as_of:%Y-%m-%d} on"
    band = table.assign(
        text=table.apply(lambda r: f"{r.p50:,.0f} ({r.p10:,.0f}-{r.p90:,.0f})", axis=1)
    )
    wide = band.pivot(index="month", columns="metric", values="text")[list(fc.metrics)]
    split = fc.variance_split()
    return "\n".join(
        [
            f"Outlook {origin}as of {as_of:%Y-%m-%d}: {model.window}.",
            *fc.warnings,
            "",
            *_conversion_lines(fc),
            "",
            "Arrivals per source:",
            readable(arrivals, pct=("trend_per_year", "level_error_sd"), ints=("leads",)),
            "",
            f"Monthly forecast, median (P10-P90){part}:",
            wide.to_string(),
            "",
            "Where the band's width comes from (horizon total):",
            readable(split, pct=("parameter_share",), ints=("sd_total", "sd_process_only")),
        ]
    )


def _conversion_lines(fc: CohortForecast) -> list[str]:
    """Each fitted stage's conversion and delay; without one (an export of lead dates only),
    what the forecast holds instead (the stages not forecast are named with it)."""
    stages = fc.model.report()
    fitted = stages[stages["fit"].isin(list(_FITTED))] if "fit" in stages else stages
    if fitted.empty:
        missing = ", ".join(fc.model.missing) or "none"
        return [f"No stage could be fitted (not forecast: {missing}): leads only."]
    fitted = fitted.assign(
        median_days=fitted["median_days"].map(days_text),
        p90_days=fitted["p90_days"].map(days_text),
    )
    columns = ["stage", "source", "n", "events", "rate", "low", "high", "median_days", "p90_days"]
    return [
        "Conversion from the previous stage the export dates (cure-fraction fit, open leads "
        "censored):",
        readable(fitted[columns], pct=("rate", "low", "high"), ints=("n", "events")),
    ]


def rolling_text(rb: RollingBacktest) -> str:
    """The rolling backtest: what was judged, the scores of the model and the baselines, the
    verdict per metric and where the model missed most."""
    s = rb.summary()
    ahead = (
        f"{rb.horizon_months} calendar months"
        if rb.horizon_weeks is None
        else f"{rb.horizon_weeks} weeks (scored by month)"
    )
    whys = Counter(why for _, why in rb.skipped)
    skipped = (
        f" ({len(rb.skipped)} more skipped: " + "; ".join(f"{n} {w}" for w, n in whys.items()) + ")"
        if rb.skipped
        else ""
    )
    parts = [
        f"Rolling-origin backtest: {len(rb.cutoffs)} cutoff{'s' if len(rb.cutoffs) != 1 else ''}"
        f"{skipped}, {ahead} ahead, {rb.method} against baselines",
        "",
        readable(
            s[["metric", "method", "months", "coverage", "mape", "crps", "total_error"]],
            pct=("coverage", "mape", "total_error"),
            ints=("crps",),
        ),
        "",
        *rb.verdict_lines(),
    ]
    misses = rb.misses(3)
    if len(misses):
        shown = misses.assign(cutoff=misses["cutoff"].dt.strftime("%Y-%m-%d"))
        parts += [
            "",
            "Where it missed most (actual outside the band), per metric:",
            readable(shown, ints=("actual", "p10", "p50", "p90")),
        ]
    return "\n".join(parts)
