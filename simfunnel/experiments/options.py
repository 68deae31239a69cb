"""The run options of an experiment, in one place: :class:`RunOptions` holds every keyword of
:func:`simfunnel.run` beyond the scenario and ``reps`` (with their one set of defaults), and
:class:`RunKeywords` types the same names as ``**run`` keywords of the functions that take them.
:class:`SharedKeywords` are the few that the decisions (``size_team``, ``compare_thresholds``,
``explain_gap``, ``forecast``) pass on to their runs; :class:`RunnerKeywords` the same without
``snapshot``, for the tools that build their own runs from a result or an export (``diagnose``,
``hiring_plan``, ``backtest``, ``rolling_backtest``).
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypedDict, Unpack

import numpy as np

from ..model import Snapshot
from .executors import Memo, cores, ignore_sigint
from .settle import StoppingRule

__all__ = [
    "RunKeywords",
    "RunOptions",
    "RunnerKeywords",
    "SharedKeywords",
    "decision_pool",
    "runner_keywords",
]


@dataclass(frozen=True)
class RunOptions:
    """How an experiment runs (see :func:`simfunnel.run` for each): ``seed`` (root of the
    ``SeedSequence``), ``workers`` or ``executor``, ``progress``, ``out`` (directory to stream
    to and resume from), ``fail_fast``, ``precision`` targets with ``max_reps``, ``snapshot``
    to start from, ``draw_parameters``, and ``settle``: the rule that runs a comparison until
    its paired differences are known to a precision (:class:`~.settle.Settle`)."""

    seed: int | None = 0
    workers: int | None = None
    executor: Any = None
    progress: bool = True
    out: str | Path | None = None
    fail_fast: bool = False
    precision: Mapping[str, float] | None = None
    max_reps: int | None = None
    snapshot: Snapshot | None = None
    draw_parameters: bool = False
    settle: StoppingRule | None = None
    memo: Memo | None = None  # a decision's runs, shared by its experiments (decision_pool)

    def __post_init__(self) -> None:
        if self.settle is not None and self.precision:
            raise ValueError("give precision= targets or a settle= rule, not both")
        for name, target in (self.precision or {}).items():
            if not (isinstance(target, int | float) and target > 0):
                raise ValueError(f"precision target of {name!r} must be above 0 (got {target!r})")

    def updated(self, **run: Unpack[RunKeywords]) -> RunOptions:
        """These options with the given keywords changed (an unknown one raises TypeError)."""
        return replace(self, **run) if run else self

    def shared(self, **keywords: Unpack[SharedKeywords]) -> RunOptions:
        """These options with the keywords a decision passes on changed; any other one (an
        experiment's own, like ``out``, or a misspelt one) raises TypeError."""
        _refuse_unknown(keywords, SharedKeywords.__optional_keys__)
        return self.updated(**keywords)


class RunnerKeywords(TypedDict, total=False):
    """How the replications run: root ``seed``, ``workers`` or ``executor``, ``progress``."""

    seed: int | None
    workers: int | None
    executor: Any
    progress: bool


class SharedKeywords(RunnerKeywords, total=False):
    """The run keywords the decisions pass on to their experiments."""

    snapshot: Snapshot | None


class RunKeywords(SharedKeywords, total=False):
    """Every field of :class:`RunOptions`, as ``**run`` keywords."""

    out: str | Path | None
    fail_fast: bool
    precision: Mapping[str, float] | None
    max_reps: int | None
    draw_parameters: bool
    settle: StoppingRule | None


def runner_keywords(defaults: RunnerKeywords, keywords: Mapping[str, Any]) -> RunnerKeywords:
    """``keywords`` over ``defaults``, refusing any name that is not a :class:`RunnerKeywords`
    (a misspelt one, or ``snapshot`` for a tool that builds its own start) with TypeError.
    A ``seed`` of None becomes fresh entropy drawn here, once, so that every run and draw of
    the tool shares one root (and the answer can be repeated from it)."""
    _refuse_unknown(keywords, RunnerKeywords.__optional_keys__)
    merged: RunnerKeywords = {**defaults, **keywords}  # type: ignore[typeddict-item]  # checked above
    if merged.get("seed", 0) is None:
        entropy = np.random.SeedSequence().entropy
        assert isinstance(entropy, int)  # drawn by numpy (not given): one int
        merged["seed"] = entropy
    return merged


def _refuse_unknown(keywords: Mapping[str, Any], known: frozenset[str]) -> None:
    """TypeError naming the keywords outside ``known``, as Python says it for a bad keyword."""
    unknown = sorted(set(keywords) - known)
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(map(repr, unknown))}")


@contextmanager
def decision_pool(options: RunOptions) -> Iterator[RunOptions]:
    """The options with one process pool for every experiment of a decision (a headcount
    search, thresholds and their gap explanation), started once and shut down at the end, and
    one memo of the runs made, so that a run two experiments share (a comparison's baseline
    and a gap explanation's full model) is made once.

    Why: a pool per experiment costs its start-up each time (about 0.3 s a pool with fork,
    seconds with spawn, the default on macOS and Windows). A given executor, or one worker,
    is used as it is. Results do not depend on it: every replication has its own seed."""
    shared = options if options.memo is not None else replace(options, memo={})
    workers = options.workers if options.workers is not None else cores()
    if options.executor is not None or workers == 1:
        yield shared
        return
    pool = cf.ProcessPoolExecutor(max_workers=workers, initializer=ignore_sigint)
    finished = False
    try:
        yield replace(shared, executor=pool, workers=None)
        finished = True
    finally:  # after Ctrl-C or an error, do not wait for replications still running
        pool.shutdown(wait=finished, cancel_futures=True)
