"""What a rolling-origin backtest's report says first: a tile per metric (how far off the
model's totals were, against the best baseline) and three points: which forecast to plan with,
why, and what could go wrong.

Why a backtest needs a "what to do": a leader reads it to decide whether to trust the model's
band in the forecast call, or a simpler figure where the model does no better.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..base.formatting import fmt
from ..results.answer import Tile
from .stage_fit import METRIC_NAMES

if TYPE_CHECKING:
    from .rolling_result import RollingBacktest

__all__ = ["rolling_points", "rolling_tiles"]


def _name(metric: str) -> str:
    return METRIC_NAMES.get(metric, metric.replace("_", " "))


def _title(metric: str) -> str:
    name = _name(metric)
    return name[:1].upper() + name[1:]


def _within(j: dict[str, Any]) -> bool:
    """A loss to a baseline within two standard errors of the paired difference: noise."""
    return math.isfinite(j["se"]) and j["gap"] <= 2 * j["se"]


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _main(judged: list[dict[str, Any]]) -> dict[str, Any]:
    """Deals won if scored, else the last metric (the one nearest revenue)."""
    return next((j for j in judged if j["metric"] == "won"), judged[-1])


def rolling_tiles(bt: RollingBacktest) -> list[Tile]:
    """How far off the horizon totals were per metric, against the baseline the model beats
    by the least (or loses to by the most); and whether the main metric's band held."""
    judged = bt.judgements()
    tiles = []
    for j in judged[:3]:
        worst = j["worst"]
        against = f"{worst['total_error']:.0%} for {worst['method']}"
        noise = not j["beats"] and _within(j)
        tiles.append(
            Tile(
                f"{_title(j['metric'])}: total off by",
                f"{j['model']['total_error']:.0%}",
                f"{against} (noise)" if noise else against,
                "" if noise else "good" if j["beats"] else "bad",
            )
        )
    if judged:
        m = _main(judged)["model"]
        tiles.append(
            Tile(
                f"{_title(_main(judged)['metric'])}: months inside the band",
                fmt(float(m["coverage"]), True),
                f"calibrated: {m['coverage_low']:.0%} to {m['coverage_high']:.0%}",
                "good" if _main(judged)["calibrated"] else "bad",
            )
        )
    return tiles


def rolling_points(bt: RollingBacktest) -> list[tuple[str, str]]:
    """Which forecast to plan with (the model where it beats every baseline with a calibrated
    band, else the baseline that did better), why, and what the cutoffs cannot show."""
    judged = bt.judgements()
    if not judged:
        return []
    groups: dict[str, list[str]] = {}
    for j in judged:
        method = j["worst"]["method"]
        if j["beats"]:
            said = (
                f"plan with the {bt.method}'s band"
                if j["calibrated"]
                else f"plan with the {bt.method}'s median, not its band, which did not hold "
                "as often as it promised"
            )
        elif _within(j):
            said = (
                f"the {bt.method} and {method} are within chance of each other: use either, "
                "and check again as months come in"
            )
        else:
            said = f"use {method}, which did better than the {bt.method}"
        groups.setdefault(said, []).append(_name(j["metric"]))
    do = "; ".join(f"for {_listed(names)}, {said}" for said, names in groups.items())
    main = _main(judged)
    worst, model = main["worst"], main["model"]
    why = (
        f"over {len(bt.cutoffs)} cutoffs, the {bt.method}'s {_name(main['metric'])} total was "
        f"off by {worst['model_total_error']:.0%} on average against "
        f"{worst['total_error']:.0%} for {worst['method']}; its band held "
        f"{model['coverage']:.0%} of {int(model['months'])} months"
    )
    horizons = len(bt.cutoffs) / max(1, bt.horizon_months)
    risk = (
        f"the cutoffs' horizons overlap, so they count as about {horizons:.0f} independent "
        f"{bt.horizon_months}-month tests"
        + (
            f"; a lead under {2 * main['se']:.0%} is within chance"
            if math.isfinite(main["se"])
            else ""
        )
        + "; and a business that changes after the last cutoff is not in them"
    )
    return [("What to do", do), ("Why", why), ("What could go wrong", risk)]
