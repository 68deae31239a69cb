"""The replications of an experiment as data: the tidy rows of every finished run, their summary
with confidence intervals, paired comparisons of variants on common random numbers, and the
replay of any one run. :class:`~.experiment.Experiment` extends :class:`Replications` with the
interface of every answer; :func:`~.experiment.run` and its kin make one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import numpy as np
import pandas as pd

from ..model import Snapshot
from ..results import SimulationResult
from ..scenario import Scenario
from .intervals import ratio, t_half_width
from .replicate import replicated_result, replication_seed
from .settle import StoppingRule
from .variants import add_params

__all__ = ["Replications"]


@dataclass(frozen=True, eq=False)
class Replications:
    """Replications of one or more scenario variants: tidy tables, a summary, comparisons.

    ``long``: one row per variant, replication, week and weekly metric (the columns of
    ``SimulationResult.weekly``). ``totals``: one row per variant, replication and KPI of the
    report (``section`` and ``metric`` as in ``SimulationResult.summary()``). Both carry the
    variant's parameters (the overridden paths), the ``replication`` number and the root
    ``seed``: ``replay(replication, variant)`` reruns any row alone.
    """

    scenarios: dict[str, Scenario]
    params: pd.DataFrame
    seed: int
    reps: int
    long: pd.DataFrame
    totals: pd.DataFrame
    failures: pd.DataFrame
    interrupted: bool = False
    precision: pd.DataFrame | None = None
    baseline: str = ""
    snapshot: Snapshot | None = None  # where every replication started from, if not empty
    draw_parameters: bool = False  # each replication drew the scenario's uncertain values first
    settled: pd.DataFrame | None = None  # with a stopping rule: how far each variant ran, and why
    settle: StoppingRule | None = None  # the stopping rule, if any
    _level_cache: dict[float, pd.DataFrame] = field(default_factory=dict, init=False, repr=False)

    @property
    def scenario(self) -> Scenario:
        """The baseline scenario (the only one of :func:`run`)."""
        if self.baseline in self.scenarios:
            return self.scenarios[self.baseline]
        return next(iter(self.scenarios.values()))

    @property
    def variants(self) -> list[str]:
        return list(self.scenarios)

    def finished(self, variant: str) -> int:
        """How many replications of ``variant`` finished (a stopping rule may run variants
        to different counts)."""
        return int(self.totals.loc[self.totals["variant"] == variant, "replication"].nunique())

    @property
    def complete(self) -> bool:
        """Every replication asked for finished, none failed, nothing was interrupted (with a
        stopping rule, each variant ran as far as the rule asked)."""
        finished = self.totals.groupby("variant", sort=False)["replication"].nunique()
        asked = (
            dict(zip(self.settled["variant"], self.settled["replications"], strict=True))
            if self.settled is not None
            else dict.fromkeys(self.scenarios, self.reps)
        )
        return (
            not self.interrupted
            and self.failures.empty
            and all(finished.get(v, 0) == asked.get(v, 0) for v in self.scenarios)
        )

    def runs_text(self) -> str:
        """How many replications each variant ran, as a subtitle says it: "20", or "4 to 12
        (until settled)" under a stopping rule."""
        counts = self.totals.groupby("variant", sort=False)["replication"].nunique()
        if self.settled is None or counts.empty or counts.min() == counts.max():
            return f"{self.reps if counts.empty else int(counts.max())}"
        return f"{int(counts.min())} to {int(counts.max())} (until settled)"

    @property
    def target_reached(self) -> bool | None:
        """With ``precision=``: whether every named KPI reached its target (None otherwise)."""
        return None if self.precision is None else bool(self.precision["reached"].all())

    def seed_of(self, replication: int) -> np.random.SeedSequence:
        """The seed that replays ``replication`` with ``simfunnel.simulate``."""
        return replication_seed(self.seed, replication)

    def replay(self, replication: int, variant: str | None = None) -> SimulationResult:
        """Rerun one replication alone, with every table of a single run (leads, reps...)."""
        scenario = self.scenarios[variant if variant is not None else self.baseline]
        seed = self.seed_of(replication)
        return replicated_result(scenario, seed, self.snapshot, self.draw_parameters)

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Per variant and KPI: n, mean, sd, the t-based confidence interval of the mean
        (``ci_low``, ``ci_high``, ``half_width``), and P10/P50/P90 of the replications (the
        range of outcomes one year could bring). NaN values (an undefined rate) are left out."""
        if level not in self._level_cache:
            g = self.totals.groupby(["variant", "section", "metric"], sort=False)["value"]
            out = pd.DataFrame({"n": g.count(), "mean": g.mean(), "sd": g.std(ddof=1)})
            half = t_half_width(out["sd"], out["n"], level)
            out["ci_low"] = out["mean"] - half
            out["ci_high"] = out["mean"] + half
            out["half_width"] = half
            for q in (10, 50, 90):
                out[f"p{q}"] = g.quantile(q / 100)
            self._level_cache[level] = add_params(out.reset_index(), self.params)
        return self._level_cache[level].copy()

    def compare(self, baseline: str | None = None, level: float = 0.95) -> pd.DataFrame:
        """Paired differences of every variant against ``baseline`` (by default the first).

        Common random numbers pair replication i of a variant with replication i of the
        baseline; ``diff`` is the mean of the paired differences with its t-based interval.
        ``unpaired_half_width`` is the interval the same number of independent runs would give,
        and ``variance_reduction`` = unpaired variance / paired variance of the difference
        estimate: how many times fewer replications the pairing needs for the same precision.
        """
        baseline = self.baseline if baseline is None else baseline
        if baseline not in self.scenarios:
            raise ValueError(f"no variant {baseline!r}; variants: {', '.join(self.scenarios)}")
        keys = ["replication", "section", "metric"]
        t = self.totals[["variant", *keys, "value"]]
        base = t[t["variant"] == baseline].drop(columns="variant")
        rows = []
        for variant in self.scenarios:
            if variant == baseline:
                continue
            pairs = (
                t[t["variant"] == variant]
                .drop(columns="variant")
                .merge(base, on=keys, suffixes=("", "_base"))
                .dropna(subset=["value", "value_base"])
            )
            pairs["diff"] = pairs["value"] - pairs["value_base"]
            g = pairs.groupby(["section", "metric"], sort=False)
            out = pd.DataFrame(
                {
                    "n": g["diff"].count(),
                    "baseline_mean": g["value_base"].mean(),
                    "variant_mean": g["value"].mean(),
                    "diff": g["diff"].mean(),
                    "diff_sd": g["diff"].std(ddof=1),
                }
            )
            var_paired = out["diff_sd"] ** 2
            var_v, var_b = g["value"].var(ddof=1), g["value_base"].var(ddof=1)
            var_unpaired = var_v + var_b
            half = t_half_width(out["diff_sd"], out["n"], level)
            out["ci_low"] = out["diff"] - half
            out["ci_high"] = out["diff"] + half
            out["half_width"] = half
            # Independent runs of both: Welch's interval, with its degrees of freedom.
            welch_df = pd.Series(
                ratio((out["n"] - 1) * var_unpaired**2, var_v**2 + var_b**2), index=out.index
            )
            # numpy's stubs do not know that a ufunc of a Series is a Series.
            sd_unpaired = cast(pd.Series, np.sqrt(var_unpaired))
            out["unpaired_half_width"] = t_half_width(sd_unpaired, out["n"], level, welch_df)
            out["variance_reduction"] = ratio(var_unpaired.to_numpy(), var_paired.to_numpy())
            out.insert(0, "baseline", baseline)
            out.insert(0, "variant", variant)
            rows.append(out.reset_index())
        if not rows:
            raise ValueError("compare() needs at least two variants (see run_variants)")
        frame = pd.concat(rows, ignore_index=True)
        first = ["variant", "baseline", "section", "metric"]
        return add_params(frame[first + [c for c in frame.columns if c not in first]], self.params)
