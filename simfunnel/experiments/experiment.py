"""Experiments: many replications of one scenario or of several variants, in parallel.

One simulated year is one draw of luck. This module runs N replications (one seed each, all
spawned from one ``numpy.random.SeedSequence``), summarises them with confidence intervals,
compares variants on common random numbers (replication i of every variant sees the same
arriving leads), and runs the work on a process pool, any ``concurrent.futures.Executor`` or a
Dask cluster with the same result, bit for bit. What one replication is and sends back is in
:mod:`.replicate`, the ``out=`` directory in :mod:`.store`, where the work runs in
:mod:`.executors`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from ..base.files import write_csv
from ..model import Snapshot
from ..results import SimulationResult
from ..scenario import Scenario, check_size, scenario_to_dict, with_overrides
from .executors import Pool, Runner
from .intervals import precision_report, ratio, t_half_width
from .replicate import assemble, replicated_result, replication_seed, root_seed
from .store import Store, experiment_manifest
from .variants import add_params, grid_variants, param_table

__all__ = ["Experiment", "run", "run_variants", "sweep"]


@dataclass(frozen=True, eq=False)
class Experiment:
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
    _level_cache: dict[float, pd.DataFrame] = field(default_factory=dict, init=False, repr=False)

    @property
    def variants(self) -> list[str]:
        return list(self.scenarios)

    @property
    def complete(self) -> bool:
        """Every replication asked for finished, none failed, nothing was interrupted."""
        finished = self.totals.groupby("variant", sort=False)["replication"].nunique()
        return (
            not self.interrupted
            and self.failures.empty
            and all(finished.get(v, 0) == self.reps for v in self.scenarios)
        )

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

    def save(self, directory: str | Path) -> list[Path]:
        """Write the tidy tables as CSV: summary, totals, weekly (``long``), variants
        (parameters), comparison (with two or more variants) and failures (if any).

        Each file is written whole or not at all (a temporary file renamed), and text that a
        spreadsheet would run as a formula gets a ``'`` in front (:mod:`simfunnel.base.files`)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        tables = {
            "summary": self.summary(),
            "totals": self.totals,
            "weekly": self.long,
            "variants": self.params,
        }
        if len(self.scenarios) > 1:
            tables["comparison"] = self.compare()
        if not self.failures.empty:
            tables["failures"] = self.failures
        if self.precision is not None:
            tables["precision"] = self.precision
        paths = []
        for name, table in tables.items():
            paths.append(write_csv(table, directory / f"{name}.csv"))
        return paths

    def __repr__(self) -> str:
        done = self.totals.groupby("variant", sort=False)["replication"].nunique()
        state = "complete" if self.complete else "INCOMPLETE"
        return (
            f"<Experiment {len(self.scenarios)} variant(s) x {self.reps} replications, "
            f"seed {self.seed}, {int(done.sum())} finished, {len(self.failures)} failed: {state}>"
        )


def _batch_plan(
    reps: int, precision: Mapping[str, float] | None, max_reps: int | None
) -> tuple[dict[str, float], int]:
    """The precision targets and the most replications per variant (``reps`` alone, or with
    targets ``max_reps``, default 10 x reps), checked before anything runs."""
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
        raise ValueError(f"reps must be a whole number >= 1 (got {reps!r})")
    targets = dict(precision or {})
    for name, target in targets.items():
        if not (isinstance(target, int | float) and target > 0):
            raise ValueError(f"precision target of {name!r} must be above 0 (got {target!r})")
    limit = max_reps if max_reps is not None else (10 * reps if targets else reps)
    if limit < reps:
        raise ValueError(f"max_reps ({limit}) is below reps ({reps})")
    return targets, limit


def _check_sizes(scenarios: Mapping[str, Scenario], snapshot: Snapshot | None) -> None:
    """Refuse a variant too large to run: one line now, not a failure per replication."""
    rows = len(snapshot) if snapshot is not None else 0
    for name, scenario in scenarios.items():
        source = f"variant {name!r}" if len(scenarios) > 1 else None
        check_size(scenario, snapshot_rows=rows, source=source)


def _experiment(
    scenarios: dict[str, Scenario],
    overrides: Sequence[Mapping[str, Any]],
    params: pd.DataFrame,
    *,
    baseline: str,
    reps: int,
    seed: int | None,
    workers: int | None,
    executor: Any,
    progress: bool,
    out: str | Path | None,
    fail_fast: bool,
    precision: Mapping[str, float] | None,
    max_reps: int | None,
    snapshot: Snapshot | None,
    draw_parameters: bool = False,
) -> Experiment:
    """Run the replications of every variant (in batches until the precision targets are met)
    and gather them into an :class:`Experiment`."""
    targets, limit = _batch_plan(reps, precision, max_reps)
    _check_sizes(scenarios, snapshot)
    root = root_seed(seed)
    names = list(scenarios)
    store = None
    if out is not None:
        manifest = experiment_manifest(scenarios, overrides, root, snapshot, draw_parameters)
        store = Store(Path(out), manifest)
    pool = Pool(workers, executor)
    runner = Runner(list(scenarios.values()), names, root, pool, store, fail_fast, progress)
    runner.snapshot = snapshot
    runner.draw_parameters = draw_parameters
    report = None
    n, done = reps, 0
    try:
        while True:
            runner.run([(v, r) for v in range(len(names)) for r in range(done, n)])
            done = n
            if runner.interrupted or not targets:
                break
            _, totals = assemble(runner.frames, names, root)
            report = precision_report(totals, targets, names)
            if report["reached"].all() or n >= limit:
                break
            n = min(limit, n + reps)  # one more batch of the first batch's size
    finally:
        pool.close()
    long, totals = assemble(runner.frames, names, root)
    return Experiment(
        scenarios=scenarios,
        params=params,
        seed=root,
        reps=n,
        long=add_params(long, params),
        totals=add_params(totals, params),
        failures=runner.failure_table(),
        interrupted=runner.interrupted,
        precision=report,
        baseline=baseline,
        snapshot=snapshot,
        draw_parameters=draw_parameters,
    )


def run(
    scenario: Scenario,
    reps: int = 10,
    *,
    seed: int | None = 0,
    workers: int | None = None,
    executor: Any = None,
    progress: bool = True,
    out: str | Path | None = None,
    fail_fast: bool = False,
    precision: Mapping[str, float] | None = None,
    max_reps: int | None = None,
    snapshot: Snapshot | None = None,
    draw_parameters: bool = False,
) -> Experiment:
    """Replicate one scenario ``reps`` times, seeds spawned from ``SeedSequence(seed)``.

    ``workers``: processes of a local pool (default: every core; 1 runs inline), or
    ``executor``: any ``concurrent.futures.Executor`` or a ``dask.distributed.Client``.
    ``out``: a directory to stream every finished replication to, and to resume from.
    ``precision``: relative half-width targets by KPI (``{"won": 0.05}``); batches of ``reps``
    are added until every target is met or ``max_reps`` (default 10 x reps) is reached.
    A failing replication is recorded in ``failures`` and the others go on, unless
    ``fail_fast``; Ctrl-C cancels what is left and returns what finished, marked incomplete.
    ``snapshot`` (from :func:`simfunnel.read_snapshot`): every replication starts from it.
    ``draw_parameters``: each replication first draws the scenario's ``uncertainty`` entries
    (see :func:`simfunnel.simulate`), so the spread covers what is not known as well as luck.
    """
    _check_scenario(scenario)
    name = scenario.name
    return _experiment(
        {name: scenario},
        [{}],
        pd.DataFrame({"variant": pd.Series([name], dtype=str)}),
        baseline=name,
        reps=reps,
        seed=seed,
        workers=workers,
        executor=executor,
        progress=progress,
        out=out,
        fail_fast=fail_fast,
        precision=precision,
        max_reps=max_reps,
        snapshot=snapshot,
        draw_parameters=bool(draw_parameters),
    )


def run_variants(
    base: Scenario,
    variants: Mapping[str, Mapping[str, Any]],
    reps: int = 10,
    *,
    baseline: str | None = None,
    seed: int | None = 0,
    workers: int | None = None,
    executor: Any = None,
    progress: bool = True,
    out: str | Path | None = None,
    fail_fast: bool = False,
    precision: Mapping[str, float] | None = None,
    max_reps: int | None = None,
    snapshot: Snapshot | None = None,
) -> Experiment:
    """Replicate each variant of ``base`` on common random numbers, for paired comparisons.

    ``variants`` maps a name to dotted-path overrides, e.g.
    ``{"now": {}, "hire": {"sdr.headcount": 10}, "strict": {"scoring.threshold": 55}}``.
    Every override is validated before anything runs. Replication i of every variant uses the
    same seed, so the same leads arrive; ``compare()`` then gives paired differences against
    ``baseline`` (default: the first variant). Other arguments as in :func:`run`.
    """
    _check_scenario(base)
    if not variants:
        raise ValueError("give at least one variant, e.g. {'now': {}}")
    scenarios = {
        str(name): with_overrides(base, overrides, source=f"variant {name!r}")
        for name, overrides in variants.items()
    }
    names = list(scenarios)
    baseline = names[0] if baseline is None else baseline
    if baseline not in scenarios:
        raise ValueError(f"baseline {baseline!r} is not a variant; variants: {', '.join(names)}")
    overrides = [dict(o) for o in variants.values()]
    params = param_table(names, overrides, scenario_to_dict(base))
    return _experiment(
        scenarios,
        overrides,
        params,
        baseline=baseline,
        reps=reps,
        seed=seed,
        workers=workers,
        executor=executor,
        progress=progress,
        out=out,
        fail_fast=fail_fast,
        precision=precision,
        max_reps=max_reps,
        snapshot=snapshot,
    )


def sweep(
    base: Scenario,
    grid: Mapping[str, Sequence[Any]],
    reps: int = 10,
    *,
    seed: int | None = 0,
    workers: int | None = None,
    executor: Any = None,
    progress: bool = True,
    out: str | Path | None = None,
    fail_fast: bool = False,
    precision: Mapping[str, float] | None = None,
    max_reps: int | None = None,
    snapshot: Snapshot | None = None,
) -> Experiment:
    """The full grid of ``{path: [values]}``, each point a variant named
    ``path=value, path=value`` (see :func:`run_variants`); the first point is the baseline of
    ``compare()``. Tables get one column per path. Other arguments as in :func:`run`."""
    return run_variants(
        base,
        grid_variants(grid),
        reps,
        seed=seed,
        workers=workers,
        executor=executor,
        progress=progress,
        out=out,
        fail_fast=fail_fast,
        precision=precision,
        max_reps=max_reps,
        snapshot=snapshot,
    )


def _check_scenario(scenario: Any) -> None:
    if not isinstance(scenario, Scenario):
        raise TypeError(f"expected a Scenario (from load_scenario); got {type(scenario).__name__}")
