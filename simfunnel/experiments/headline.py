"""What an experiment's report says first: tiles and three points (what to plan on or do,
why, what could go wrong), read from its summary and paired comparison.

Why here and not in the decisions: ``simfunnel run --reps`` and ``sweep`` replicate a scenario
without a question behind them, so the points can only say what the replications show and how
well they show it; the decisions say what to do about it.
"""

from __future__ import annotations

import math

import pandas as pd

from ..results.answer import Tile
from ..results.text import kpi_text
from .replications import Replications

__all__ = ["experiment_points", "experiment_tiles"]

_KEY = ("totals", "won")  # deals won: what every question about the funnel comes to
_TILES = (("totals", "valid_opportunities"), _KEY, ("totals", "won_value"))


def _row(summary: pd.DataFrame, variant: str, key: tuple[str, str]) -> pd.Series | None:
    found = summary[
        (summary["variant"] == variant)
        & (summary["section"] == key[0])
        & (summary["metric"] == key[1])
    ]
    return None if found.empty else found.iloc[0]


def _said(experiment: Replications, value: float, key: tuple[str, str]) -> str:
    if key[1].endswith("_value"):  # money at a glance: "$3.3M"
        return experiment.scenario.currency.format(value)
    return kpi_text(value, key[1], key[0], currency=experiment.scenario.currency).strip()


def experiment_tiles(experiment: Replications) -> list[Tile]:
    """One variant: the mean of each key figure with its P10-P90. Several: each variant's
    deals won against the baseline, marked only where the paired interval leaves out zero."""
    summary = experiment.summary()
    names = list(experiment.scenarios)
    if len(names) == 1:
        tiles = []
        for key in _TILES:
            r = _row(summary, names[0], key)
            if r is None or math.isnan(float(r["mean"])):
                continue
            label = {"valid_opportunities": "Valid opportunities", "won": "Deals won"}.get(
                key[1], "Won value"
            )
            tiles.append(
                Tile(
                    label,
                    _said(experiment, float(r["mean"]), key),
                    f"P10 {_said(experiment, float(r['p10']), key)} to "
                    f"P90 {_said(experiment, float(r['p90']), key)}",
                )
            )
        return tiles
    diffs = _won_differences(experiment)
    tiles = []
    base = _row(summary, experiment.baseline, _KEY)
    if base is not None:
        tiles.append(
            Tile(f"Deals won: {experiment.baseline}", _said(experiment, base["mean"], _KEY))
        )
    for d in diffs.head(4 - len(tiles)).to_dict("records"):
        tone = "good" if d["ci_low"] > 0 else "bad" if d["ci_high"] < 0 else ""
        change = f"{d['diff']:+,.0f} vs {experiment.baseline}"
        tiles.append(
            Tile(
                f"Deals won: {d['variant']}",
                _said(experiment, float(d["variant_mean"]), _KEY),
                change if tone else f"{change} (noise)",
                tone,
            )
        )
    return tiles


def _won_differences(experiment: Replications) -> pd.DataFrame:
    """Each variant's paired difference in deals won against the baseline, best first."""
    c = experiment.compare()
    c = c[(c["section"] == _KEY[0]) & (c["metric"] == _KEY[1])]
    return c.sort_values("diff", ascending=False)


def experiment_points(experiment: Replications) -> list[tuple[str, str]]:
    """Three points. One variant: what to plan on, how well the replications know it, and
    what they cannot know. Several: which variant wins more deals, on what evidence, and the
    same caution."""
    n = int(experiment.totals["replication"].nunique())
    caution = (
        "the scenario's rates, volumes and team are taken as exact: if one is off, every "
        "figure moves beyond these ranges; check them against the CRM (simfunnel fit and "
        "backtest) before planning on them"
    )
    if not experiment.failures.empty:
        caution = (
            f"{len(experiment.failures)} replication(s) failed and are left out (see the "
            f"failures table); and {caution}"
        )
    names = list(experiment.scenarios)
    if len(names) == 1:
        return _single_points(experiment, n, caution)
    diffs = _won_differences(experiment)
    if diffs.empty:
        return [("What could go wrong", caution)]
    best = diffs.iloc[0]
    base = experiment.baseline
    interval = f"95% interval {best['ci_low']:+,.0f} to {best['ci_high']:+,.0f}"
    if best["ci_low"] > 0:
        do = f"{best['variant']} wins the most deals: {best['diff']:+,.0f} against {base}"
        why = (
            f"the paired difference over {n} replications on the same leads is "
            f"{best['diff']:+,.0f} deals ({interval}), clear of zero"
        )
    else:
        do = f"no variant wins clearly more deals than {base}: keep it, or run more replications"
        which = "the best" if best["diff"] > 0 else f"none did better than {base}; the closest"
        why = (
            f"{which}, {best['variant']}, is {best['diff']:+,.0f} deals ({interval}) over "
            f"{n} paired replications: within noise"
        )
        if best["ci_high"] < 0:
            do = f"keep {base}: every variant wins fewer deals"
            why = f"{why.removesuffix(': within noise')}: clearly fewer"
    return [("What to do", do), ("Why", why), ("What could go wrong", caution)]


def _single_points(experiment: Replications, n: int, caution: str) -> list[tuple[str, str]]:
    summary = experiment.summary()
    r = _row(summary, next(iter(experiment.scenarios)), _KEY)
    if r is None or math.isnan(float(r["mean"])):
        return [("What could go wrong", caution)]
    won = float(r["mean"])
    value = _row(summary, next(iter(experiment.scenarios)), ("totals", "won_value"))
    worth = (
        f" worth {_said(experiment, float(value['mean']), ('totals', 'won_value'))}"
        if value is not None and not math.isnan(float(value["mean"]))
        else ""
    )
    half = float(r["half_width"])
    known = f"to {half / won:.1%}" if won > 0 and math.isfinite(half) else "only roughly"
    plan = (
        f"about {_said(experiment, won, _KEY)} deals won{worth} over "
        f"{experiment.scenario.weeks:g} weeks; the luck of one such period ranges from "
        f"{_said(experiment, float(r['p10']), _KEY)} (P10) to "
        f"{_said(experiment, float(r['p90']), _KEY)} (P90)"
    )
    why = f"the mean of {n} replications, known {known} (the 95% interval of the mean)"
    return [("What to plan on", plan), ("Why", why), ("What could go wrong", caution)]
