"""Parameter draws: one value per ``uncertainty`` entry of a scenario, per run.

Why here and not in ``scenario``: a draw belongs to a run. It is made on the run's own named
random stream (``PARAMETER_STREAM`` of ``model.arrivals.Streams``), so the same seed draws the
same values in any worker, and the process streams are left as they were. What the entries mean
and how a path resolves to a field is in :mod:`simfunnel.scenario.uncertain`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from ..model import Streams
from ..scenario import Scenario, ScenarioError, Target, UncertainValue, resolve, with_overrides

__all__ = ["PARAMETER_STREAM", "draw_for_seed", "draw_parameters", "draw_value", "off_centre"]

PARAMETER_STREAM = "parameters"  # the named stream of model.arrivals.Streams the draws use


def draw_value(entry: UncertainValue, rng: np.random.Generator) -> float:
    """One draw of an entry's distribution (before any clipping)."""
    if entry.dist == "beta":
        return float(rng.beta(entry.a, entry.b))
    if entry.dist == "gamma":
        return float(rng.gamma(entry.a, 1.0 / entry.b))
    return math.exp(float(rng.normal(entry.a, entry.b)))


def off_centre(scenario: Scenario) -> list[tuple[str, float, float]]:
    """The uncertainty entries whose distribution does not centre on the value the scenario
    states: (path, the distribution's median, the stated value), where the two differ by more
    than half the distribution's sd and 2% of the value. Why: draws then move the forecast's
    centre, not only its spread, and a hand-written entry can do that without anyone noticing
    (``fit`` writes entries centred on what it fitted)."""
    out = []
    for entry in scenario.uncertainty:
        if entry.dist == "beta":
            dist = stats.beta(entry.a, entry.b)
        elif entry.dist == "gamma":
            dist = stats.gamma(entry.a, scale=1.0 / entry.b)
        else:
            dist = stats.lognorm(entry.b, scale=math.exp(entry.a))
        stated = resolve(scenario, entry.path).value
        centre, sd = float(dist.median()), float(dist.std())
        if stated != 0 and abs(centre - stated) > max(0.5 * sd, 0.02 * abs(stated)):
            out.append((entry.path, centre, stated))
    return out


def draw_parameters(scenario: Scenario, rng: np.random.Generator) -> Scenario:
    """The scenario with one draw of every uncertainty entry set (via ``with_overrides``).

    Each draw is clipped into its field's bounds: a lognormal qualification rate above 1 is 1,
    a rate below 0 is 0, a strict bound is approached from inside. A drawn outcome probability
    scales the other outcomes so that the five still sum to 1 (a lost-reason share, the other
    reasons); entries are drawn in order, one value each from ``rng`` whatever happens to it, so
    the stream stays aligned. A gamma or lognormal entry of a field that is 0 leaves it at 0:
    neither puts any weight on 0, so the scenario has switched the value off since the entry
    was written (a backtest replays a source's actual leads with its rate at 0). The returned
    scenario no longer lists the drawn entries (their values are now set). ``rng``: in a run,
    ``Streams(seed).rng(PARAMETER_STREAM)`` (:func:`draw_for_seed`).
    """
    if not scenario.uncertainty:
        return scenario
    values: dict[str, float] = {}
    targets: dict[str, Target] = {}
    for entry in scenario.uncertainty:
        target = resolve(scenario, entry.path)
        x = target.clip(draw_value(entry, rng))
        if target.value == 0 and entry.dist != "beta":
            continue  # switched off (a source replayed from actual leads): it stays off
        if target.group:
            current = {p: values.get(p, resolve(scenario, p).value) for p in target.group}
            rest = sum(current.values())
            if rest > 0:
                values.update({p: v * (1.0 - x) / rest for p, v in current.items()})
            else:  # the others are all 0: only the value it has keeps the sum at 1
                x = values.get(target.path, target.value)
        values[target.path] = x
        targets[target.path] = target
    overrides: dict[str, Any] = {}
    for path, x in values.items():
        duration = targets[path].duration if path in targets else False
        overrides[path] = f"{x!r} h" if duration else x
    try:
        return with_overrides(scenario, overrides, source=f"{scenario.name}: parameter draw")
    except ScenarioError as exc:
        drawn = ", ".join(f"{p}={v:.4g}" for p, v in values.items())
        raise ScenarioError(
            [
                f"{scenario.name}: uncertainty: the drawn values ({drawn}) make an invalid "
                f"scenario: {exc.problems[0]}"
            ]
        ) from None


def draw_for_seed(scenario: Scenario, seed: int | np.random.SeedSequence) -> Scenario:
    """The draw a run with ``seed`` makes: :func:`draw_parameters` on the named stream
    ``PARAMETER_STREAM`` of ``Streams(seed)``, apart from every stream the engine uses, so a
    replication draws the same values in any worker and its process luck is left as it was."""
    return draw_parameters(scenario, Streams(seed).rng(PARAMETER_STREAM))
