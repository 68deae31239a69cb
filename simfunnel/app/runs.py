"""Short runs of a setting, one replication at a time, and what the page reads from them.

The page runs every setting on the same :class:`Plan`: a short horizon, a few replications,
one root seed. Replication ``i`` of every setting uses the seed ``simfunnel.run`` gives its
replication ``i`` (common random numbers), so a difference between two settings is the
setting's, and the means here equal ``simfunnel.run(..., reps, seed).summary()`` for the same
scenario. Each replication is kept small (:class:`Replication`: the KPI report flattened and a
few weekly columns), so that a cache can hold many; :func:`outcome` stacks them and
:func:`paired` compares two settings replication by replication.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.stats

from ..experiments import replication_seed, simulate
from ..scenario import Scenario, scenario_to_dict
from .settings import Settings, chosen_scenario, short_run

__all__ = [
    "WEEKLY",
    "Change",
    "Outcome",
    "Plan",
    "Replication",
    "outcome",
    "paired",
    "replication",
    "run_scenario",
    "scenario_key",
]

# The weekly columns the page draws: the flows of the forecast band and each team's load.
WEEKLY = (
    "leads",
    "mqls",
    "sqls",
    "valid_opportunities",
    "won",
    "pipeline_value",
    "won_value",
    "utilisation",
    "bdr_utilisation",
    "ae_occupancy",
)


@dataclass(frozen=True)
class Plan:
    """How every setting is run: ``weeks`` of horizon (at most), ``reps`` replications from the
    root ``seed``. Short on purpose: the page answers while a leader moves a control."""

    weeks: int = 13
    reps: int = 6
    seed: int = 0


@dataclass(frozen=True)
class Replication:
    """What one replication sends back: every numeric KPI as ``section.metric`` (the names of
    ``Experiment.totals``) and the weekly columns of :data:`WEEKLY` it has."""

    index: int
    kpis: dict[str, float]
    weekly: pd.DataFrame


@dataclass(frozen=True)
class Outcome:
    """A setting's replications stacked: ``kpis`` one row per replication and one column per
    KPI, ``weekly`` long (replication, week, week_start, metric, value)."""

    kpis: pd.DataFrame
    weekly: pd.DataFrame

    @property
    def reps(self) -> int:
        return len(self.kpis)

    def mean(self, key: str) -> float:
        """The mean of a KPI over the replications that have it (NaN: undefined, left out, as
        ``Experiment.summary`` does); NaN if none has it."""
        if key not in self.kpis:
            return math.nan
        values = self.kpis[key].dropna()
        return float(values.mean()) if len(values) else math.nan


def scenario_key(scenario: Scenario) -> str:
    """A digest of every field of the scenario: two scenarios with the same key run the same,
    so a cache keyed by it (and the settings and plan) reuses what was run."""
    text = json.dumps(scenario_to_dict(scenario), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run_scenario(scenario: Scenario, settings: Settings, plan: Plan) -> Scenario:
    """The scenario a setting runs on the page: the settings applied, cut to the plan's weeks."""
    return short_run(chosen_scenario(scenario, settings), plan.weeks)


def replication(scenario: Scenario, settings: Settings, plan: Plan, index: int) -> Replication:
    """Run replication ``index`` of a setting: ``simfunnel.simulate`` on the seed that
    ``simfunnel.run(..., seed=plan.seed)`` gives replication ``index``."""
    run = run_scenario(scenario, settings, plan)
    result = simulate(run, seed=replication_seed(plan.seed, index))
    kpis = {
        f"{section}.{metric}": value
        for section, content in result.to_dict().items()
        if section != "seed" and isinstance(content, dict)
        for metric, value in _numbers(content)
    }
    weekly = result.weekly
    columns = ["week", "week_start", *[c for c in WEEKLY if c in weekly.columns]]
    return Replication(index, kpis, weekly[columns].reset_index(drop=True))


def _numbers(content: Mapping[str, Any], prefix: str = "") -> list[tuple[str, float]]:
    """The numeric leaves of a report section, nested names joined by dots; None is NaN."""
    out: list[tuple[str, float]] = []
    for key, value in content.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out += _numbers(value, f"{name}.")
        elif value is None:
            out.append((name, math.nan))
        elif isinstance(value, int | float | np.number) and not isinstance(value, bool):
            out.append((name, float(value)))
    return out


def outcome(replications: Sequence[Replication]) -> Outcome:
    """Stack a setting's replications, in replication order."""
    ordered = sorted(replications, key=lambda r: r.index)
    kpis = pd.DataFrame([r.kpis for r in ordered], index=[r.index for r in ordered])
    kpis.index.name = "replication"
    frames = []
    for r in ordered:
        long = r.weekly.melt(id_vars=["week", "week_start"], var_name="metric", value_name="value")
        frames.append(long.assign(replication=r.index))
    weekly = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["week", "week_start", "metric", "value", "replication"])
    )
    return Outcome(kpis, weekly)


@dataclass(frozen=True)
class Change:
    """An option's change against today's on one KPI: the mean of the paired differences and
    its t-based interval (NaN with fewer than two pairs)."""

    diff: float
    low: float
    high: float


def paired(option: Outcome, today: Outcome, key: str, level: float = 0.95) -> Change:
    """The option minus today, replication by replication (they share their seeds), with the
    t-based interval of the mean difference: ``Experiment.compare``'s figures for one KPI."""
    if key not in option.kpis or key not in today.kpis:
        return Change(math.nan, math.nan, math.nan)
    pairs = (option.kpis[key] - today.kpis[key]).dropna()
    n = len(pairs)
    if n == 0:
        return Change(math.nan, math.nan, math.nan)
    diff = float(pairs.mean())
    if n < 2:
        return Change(diff, math.nan, math.nan)
    sd = float(pairs.std(ddof=1))
    half = float(scipy.stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return Change(diff, diff - half, diff + half)
