"""Experiments: many replications of one scenario or of several variants, in parallel.

One simulated year is one draw of luck. This module runs N replications (one seed each, all
spawned from one ``numpy.random.SeedSequence``), summarises them with confidence intervals,
compares variants on common random numbers (replication i of every variant sees the same
arriving leads), and runs the work on a process pool, any ``concurrent.futures.Executor`` or a
Dask cluster with the same result, bit for bit. What one replication is and sends back is in
:mod:`.replicate`, the ``out=`` directory in :mod:`.store`, where the work runs in
:mod:`.executors`; the experiment's tables and statistics in :mod:`.replications`, what it
tells a reader (verdict, text, chart, report) in :mod:`.readout`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Unpack

import pandas as pd

from ..model import Snapshot
from ..results.answer import AnswerBase, Report
from ..scenario import Scenario, check_size, scenario_to_dict, with_overrides
from .executors import Pool, Runner
from .intervals import precision_report
from .options import RunKeywords, RunOptions
from .readout import experiment_report, experiment_verdict, spread, summary_text
from .replicate import assemble, root_seed
from .replications import Replications
from .settle import LIMIT, RUNNING, StoppingRule
from .store import Store, experiment_manifest
from .variants import add_params, grid_variants, param_table

__all__ = ["Experiment", "RunOptions", "run", "run_variants", "sweep"]


@dataclass(frozen=True, eq=False, repr=False)
class Experiment(Replications, AnswerBase):
    """Replications of one or more scenario variants (:class:`Replications`: tidy tables, a
    summary, comparisons) with the interface of every answer (``verdict``, ``table``, ``plot``,
    ``save``, ``report``, ``text``).
    """

    @property
    def verdict(self) -> str:
        """How many replications of what, whether they all finished, and the precision reached
        when targets were set."""
        return experiment_verdict(self)

    @property
    def table(self) -> pd.DataFrame:
        """The summary at 95%: per variant and KPI, the mean, its interval and P10/P50/P90."""
        return self.summary()

    def plot(self, what: str | None = None, *, ax: Any = None) -> Any:
        """A KPI's spread across replications, per variant: ``what`` is its name (``won``, the
        default, or ``section.metric``)."""
        return spread(self, what, ax=ax)

    def tables(self) -> Mapping[str, pd.DataFrame]:
        """The tidy tables ``save`` writes as CSV: summary, totals, weekly (``long``), variants
        (parameters), comparison (with two or more variants), failures, precision and settled (if
        any: how far a stopping rule ran each variant, and why).
        ``save`` writes each whole or not at all, and text that a spreadsheet would run as a
        formula gets a ``'`` in front (:mod:`simfunnel.base.files`)."""
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
        if self.settled is not None:
            tables["settled"] = self.settled
        return tables

    def report(self) -> Report:
        """The verdict, the headline KPIs with their intervals and the spread of deals won."""
        return experiment_report(self)

    def text(self, level: float = 0.95) -> str:
        """Mean, confidence interval of the mean and P10-P90 of every KPI: what
        ``simfunnel run --reps`` prints."""
        return summary_text(self, level)

    def __repr__(self) -> str:
        done = self.totals.groupby("variant", sort=False)["replication"].nunique()
        state = "complete" if self.complete else "INCOMPLETE"
        return (
            f"<Experiment of {self.scenario.name!r}: {len(self.scenarios)} variant(s) x "
            f"{self.reps} replications, "
            f"seed {self.seed}, {int(done.sum())} finished, {len(self.failures)} failed: {state}>"
        )


def _batch_plan(
    reps: int, precision: Mapping[str, float] | None, max_reps: int | None
) -> tuple[dict[str, float], int]:
    """The precision targets and the most replications per variant (``reps`` alone, or with
    targets ``max_reps``, default 10 x reps), checked before anything runs."""
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
        raise ValueError(f"reps must be a whole number >= 1 (got {reps!r})")
    targets = dict(precision or {})  # each above 0: checked by RunOptions
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
    options: RunOptions,
) -> Experiment:
    """Run the replications of every variant (in batches until the precision targets are met)
    and gather them into an :class:`Experiment`."""
    targets, limit = _batch_plan(reps, options.precision, options.max_reps)
    snapshot, draw_parameters = options.snapshot, bool(options.draw_parameters)
    _check_sizes(scenarios, snapshot)
    root = root_seed(options.seed)
    names = list(scenarios)
    store = None
    if options.out is not None:
        manifest = experiment_manifest(scenarios, overrides, root, snapshot, draw_parameters)
        store = Store(Path(options.out), manifest)
    pool = Pool(options.workers, options.executor)
    runner = Runner(
        list(scenarios.values()), names, root, pool, store, options.fail_fast, options.progress
    )
    runner.snapshot = snapshot
    runner.memo = options.memo
    runner.draw_parameters = draw_parameters
    report, settled = None, None
    n = reps
    try:
        if options.settle is not None:
            n, settled = _settle(runner, names, baseline, reps, options.settle, root)
        else:
            n, report = _batches(runner, names, reps, targets, limit, root)
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
        settled=settled,
        settle=options.settle,
        baseline=baseline,
        snapshot=snapshot,
        draw_parameters=draw_parameters,
    )


def _batches(
    runner: Runner,
    names: list[str],
    reps: int,
    targets: dict[str, float],
    limit: int,
    root: int,
) -> tuple[int, pd.DataFrame | None]:
    """Every variant ``reps`` times, then (with precision targets) a batch of ``reps`` more
    until each target is met or ``limit`` is reached: the replications run, the report."""
    report = None
    n, done = reps, 0
    while True:
        runner.run([(v, r) for v in range(len(names)) for r in range(done, n)])
        done = n
        if runner.interrupted or not targets:
            return n, report
        _, totals = assemble(runner.frames, names, root)
        report = precision_report(totals, targets, names)
        if report["reached"].all() or n >= limit:
            return n, report
        n = min(limit, n + reps)  # one more batch of the first batch's size


def _settle(
    runner: Runner, names: list[str], baseline: str, reps: int, rule: StoppingRule, root: int
) -> tuple[int, pd.DataFrame]:
    """Batches on common random numbers until the ``rule`` stops every variant: the
    first of ``reps``, then up to ``rule.next_count`` for those still running, interleaved so that
    no worker idles while one variant finishes."""
    state, done = None, dict.fromkeys(names, 0)
    n = min(reps, rule.max_reps)
    while True:
        going = [v for v in names if state is None or _running(state, v)]
        jobs = [(names.index(v), r) for r in range(n) for v in going if r >= done[v]]
        runner.run(jobs)
        for v in going:
            done[v] = n
        _, totals = assemble(runner.frames, names, root)
        state = rule.state(totals, names, baseline, state)
        running = state["status"].eq(RUNNING)
        if runner.interrupted or not running.any():
            return max(done.values()), state
        if n >= rule.max_reps:  # every replication allowed was tried; some failed
            why = f"stopped at the most replications allowed ({rule.max_reps}), some failed"
            state.loc[running, ["status", "why"]] = [LIMIT, why]
            return n, state
        n = min(rule.max_reps, rule.next_count(n))


def _running(state: pd.DataFrame, variant: str) -> bool:
    return bool((state.loc[state["variant"] == variant, "status"] == RUNNING).any())


def _options(options: RunOptions | None, run: RunKeywords) -> RunOptions:
    """One :class:`RunOptions`: ``options`` (default: the defaults) with ``run`` on top."""
    if options is not None and not isinstance(options, RunOptions):
        raise TypeError(f"options must be RunOptions (got {type(options).__name__})")
    return (options or RunOptions()).updated(**run)


def run(
    scenario: Scenario,
    reps: int = 10,
    *,
    options: RunOptions | None = None,
    **run: Unpack[RunKeywords],
) -> Experiment:
    """Replicate one scenario ``reps`` times, seeds spawned from ``SeedSequence(seed)``.

    The keywords below are the fields of :class:`RunOptions`: give them one by one, or as
    ``options=`` (keywords given as well override its fields).

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
        options=_options(options, run),
    )


def run_variants(
    base: Scenario,
    variants: Mapping[str, Mapping[str, Any]],
    reps: int = 10,
    *,
    baseline: str | None = None,
    options: RunOptions | None = None,
    **run: Unpack[RunKeywords],
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
        options=_options(options, run),
    )


def sweep(
    base: Scenario,
    grid: Mapping[str, Sequence[Any]],
    reps: int = 10,
    *,
    options: RunOptions | None = None,
    **run: Unpack[RunKeywords],
) -> Experiment:
    """The full grid of ``{path: [values]}``, each point a variant named
    ``path=value, path=value`` (see :func:`run_variants`); the first point is the baseline of
    ``compare()``. Tables get one column per path. Other arguments as in :func:`run`."""
    return run_variants(
        base,
        grid_variants(grid),
        reps,
        options=_options(options, run),
    )


def _check_scenario(scenario: Any) -> None:
    if not isinstance(scenario, Scenario):
        raise TypeError(f"expected a Scenario (from load_scenario); got {type(scenario).__name__}")
