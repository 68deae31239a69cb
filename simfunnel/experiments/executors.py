"""Where and how replications run: inline, on an own process pool, or on any given
``concurrent.futures.Executor`` or Dask client; the runner that hands out (variant, replication)
jobs, keeps what comes back in any order, shows progress and handles Ctrl-C and failures.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import os
import signal
import threading
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..model import Snapshot
from ..scenario import Scenario, scenario_to_dict
from .replicate import Failed, ReplicationError, empty_failures, replay_text, run_replication
from .store import Store

__all__ = ["Memo", "Pool", "Runner", "cores", "fingerprint", "ignore_sigint"]

Memo = dict[tuple[Any, ...], pd.DataFrame]  # a decision's runs, for its experiments to share


def fingerprint(scenario: Scenario) -> str:
    """The scenario's content without its name and description: two variants that run the
    same model (a comparison's baseline and a gap explanation's full model) share it."""
    data = scenario_to_dict(scenario)
    data.pop("name", None)
    data.pop("description", None)
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def ignore_sigint() -> None:
    """Pool workers leave Ctrl-C to the parent, which cancels the work and keeps the results."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class CtrlC:
    """Whether Ctrl-C was pressed while replications ran. Python raises the interrupt wherever
    the main thread happens to be, and one that lands in a finaliser (a file writer's
    ``__del__``) is swallowed; the flag keeps such a press from being lost."""

    pressed = False


@contextmanager
def watch_ctrl_c() -> Iterator[CtrlC]:
    """Note Ctrl-C (and still raise it) while the block runs; a handler someone else set, or a
    thread other than the main one, is left alone."""
    state = CtrlC()
    main = threading.current_thread() is threading.main_thread()
    if not main or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield state
        return

    def pressed(signum: int, frame: Any) -> None:
        state.pressed = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, pressed)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def cores() -> int:
    """The cores this process may run on (the default number of workers)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class Pool:
    """Where replications run: inline (one worker), an own process pool, or a given executor."""

    def __init__(self, workers: int | None, executor: Any) -> None:
        if executor is not None and workers is not None:
            raise ValueError("give workers= or executor=, not both")
        if workers is not None and (not isinstance(workers, int) or workers < 1):
            raise ValueError(f"workers must be a whole number >= 1 (got {workers!r})")
        self.workers = workers if workers is not None else cores()
        self.given = _as_executor(executor) if executor is not None else None
        self.own: cf.ProcessPoolExecutor | None = None
        self.abandon = False

    def executor(self, tasks: int) -> cf.Executor | None:
        """The executor for a batch of ``tasks``, or None to run them inline."""
        if self.given is not None:
            return self.given
        if self.workers == 1 or tasks <= 1:
            return None
        if self.own is None:
            self.own = cf.ProcessPoolExecutor(max_workers=self.workers, initializer=ignore_sigint)
        return self.own

    def close(self) -> None:
        if self.own is not None:
            # After Ctrl-C or a fail-fast error, do not wait for replications still running.
            self.own.shutdown(wait=not self.abandon, cancel_futures=True)
            self.own = None


def _as_executor(executor: Any) -> cf.Executor:
    """A given executor as a ``concurrent.futures.Executor`` (a Dask client gives its own)."""
    if isinstance(executor, cf.Executor):
        return executor
    get_executor = getattr(executor, "get_executor", None)
    if callable(get_executor):  # a dask.distributed.Client
        return get_executor(pure=False)
    raise TypeError(
        "executor must be a concurrent.futures.Executor or a dask.distributed.Client "
        f"(got {type(executor).__name__})"
    )


@dataclass
class Runner:
    """Runs (variant, replication) jobs and keeps what came back, whatever the order."""

    scenarios: list[Scenario]
    names: list[str]
    seed: int
    pool: Pool
    store: Store | None
    fail_fast: bool
    progress: bool
    frames: dict[tuple[int, int], pd.DataFrame] = field(default_factory=dict)
    failures: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    interrupted: bool = False
    snapshot: Snapshot | None = None
    draw_parameters: bool = False
    memo: Memo | None = None  # runs a decision already made, by what makes them the same
    _prints: dict[int, str] = field(default_factory=dict, init=False, repr=False)

    def _memo_key(self, key: tuple[int, int]) -> tuple[Any, ...]:
        """What makes two replications the same run: the scenario's content (its name aside),
        the root seed, the replication, the start and whether parameters are drawn."""
        if key[0] not in self._prints:
            self._prints[key[0]] = fingerprint(self.scenarios[key[0]])
        start = id(self.snapshot)
        return (self._prints[key[0]], self.seed, key[1], start, self.draw_parameters)

    def run(self, jobs: list[tuple[int, int]]) -> None:
        """Run the jobs not already in the store (or made before in the same decision);
        Ctrl-C keeps what finished and marks the experiment interrupted."""
        from tqdm.auto import tqdm  # slow to import: only when replications run

        todo = []
        for key in jobs:
            stored = self.store.load(key) if self.store is not None else None
            made = self.memo.get(self._memo_key(key)) if self.memo is not None else None
            if stored is not None:
                self.frames[key] = stored
            elif made is not None:
                self.frames[key] = made
                if self.store is not None:
                    self.store.save(key, made)
            else:
                todo.append(key)
        bar = tqdm(
            total=len(jobs),
            initial=len(jobs) - len(todo),
            unit="rep",
            desc="replications",
            disable=not self.progress,
            leave=False,
        )
        try:
            with watch_ctrl_c() as ctrl_c:
                executor = self.pool.executor(len(todo))
                if executor is None:
                    for key in todo:
                        scenario = self.scenarios[key[0]]
                        outcome = run_replication(
                            scenario, self.seed, key[1], self.snapshot, self.draw_parameters
                        )
                        self._keep(key, outcome, bar)
                        if ctrl_c.pressed:  # raised where it was swallowed
                            raise KeyboardInterrupt
                else:
                    self._run_on(executor, todo, bar, ctrl_c)
        except KeyboardInterrupt:
            self.interrupted = True
            self.pool.abandon = True
            done = sum(1 for k in jobs if k in self.frames)
            warnings.warn(
                f"interrupted: {done} of {len(jobs)} replications of this batch finished; "
                "the experiment is marked incomplete"
                + (" (run again with the same out= to resume)" if self.store else ""),
                stacklevel=4,
            )
        finally:
            bar.close()

    def _run_on(
        self, executor: cf.Executor, todo: list[tuple[int, int]], bar: Any, ctrl_c: CtrlC
    ) -> None:
        futures: dict[cf.Future[Any], tuple[int, int]] = {}
        try:
            for key in todo:
                args = (self.scenarios[key[0]], self.seed, key[1], self.snapshot)
                job = executor.submit(run_replication, *args, self.draw_parameters)
                futures[job] = key
            pending = set(futures)
            while pending:
                done, pending = cf.wait(pending, timeout=0.25, return_when=cf.FIRST_COMPLETED)
                for job in sorted(done, key=futures.__getitem__):
                    self._keep(futures[job], _outcome(job), bar)
                if ctrl_c.pressed:  # raised where it was swallowed
                    raise KeyboardInterrupt
        except BaseException:
            self.pool.abandon = True
            for job in futures:
                job.cancel()
            # Keep what finished, including one whose keeping the interrupt cut short.
            for job, key in futures.items():
                if job.done() and not job.cancelled() and key not in self.frames:
                    outcome = _outcome(job)
                    if isinstance(outcome, pd.DataFrame):
                        self._keep(key, outcome, bar)
            raise

    def _keep(self, key: tuple[int, int], outcome: pd.DataFrame | Failed, bar: Any) -> None:
        bar.update(1)
        if isinstance(outcome, pd.DataFrame):
            if self.store is not None:
                self.store.save(key, outcome)  # first: what is kept is also on disk
            if self.memo is not None:
                self.memo[self._memo_key(key)] = outcome
            self.frames[key] = outcome
            self.failures.pop(key, None)
            return
        failure = {
            "variant": self.names[key[0]],
            "replication": key[1],
            "seed": self.seed,
            "error": outcome.error,
            "replay": replay_text(self.seed, key[1]),
            "traceback": outcome.traceback,
        }
        self.failures[key] = failure
        bar.set_postfix(failed=len(self.failures))
        if self.fail_fast:
            raise ReplicationError(failure)

    def failure_table(self) -> pd.DataFrame:
        """One row per failed replication, in (variant, replication) order."""
        if not self.failures:
            return empty_failures()
        rows = [self.failures[k] for k in sorted(self.failures)]
        return pd.DataFrame(rows, columns=list(empty_failures().columns))


def _outcome(job: cf.Future[Any]) -> pd.DataFrame | Failed:
    """A finished future's table, or the error that kept it from one (a dead worker...)."""
    try:
        return job.result()
    except Exception as exc:
        return Failed(
            f"{type(exc).__name__}: {exc}",
            "".join(traceback.format_exception(exc)),
        )
