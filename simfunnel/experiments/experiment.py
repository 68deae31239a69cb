"""Experiments: many replications of one scenario or of several variants, in parallel.

One simulated year is one draw of luck. This module runs N replications (one seed each, all
spawned from one ``numpy.random.SeedSequence``), summarises them with confidence intervals,
compares variants on common random numbers (replication i of every variant sees the same
arriving leads), and runs the work on a process pool, any ``concurrent.futures.Executor`` or a
Dask cluster with the same result, bit for bit. Workers send back a small table per replication
(the KPI report and the weekly table, long), never the per-lead arrays.

Replication ``i`` of an experiment with seed ``S`` is
``simfunnel.simulate(scenario, seed=numpy.random.SeedSequence(S, spawn_key=(i,)))``: the ``seed``
and ``replication`` columns of every table are all it takes to replay one row alone.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import datetime as dt
import importlib.util
import itertools
import json
import math
import os
import re
import signal
import traceback
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..base.files import TEMP_PREFIX, restore, write_csv, write_parquet, write_text
from ..model import Snapshot
from ..results import SimulationResult
from ..scenario import Scenario, check_size, scenario_to_dict, with_overrides

__all__ = [
    "DiscardedPartWarning",
    "Experiment",
    "ExperimentError",
    "ReplicationError",
    "replication_seed",
    "run",
    "run_variants",
    "sweep",
]

WEEKLY = "weekly"  # the section name of weekly rows in a replication's table
_KPI_WEEK = -1  # the week of KPI rows in a replication's table (they cover the whole run)
_MANIFEST = "manifest.json"
_FORMAT_VERSION = 1
_END = "#end"  # the last row of a CSV replication file: its row count, so truncation shows
_COLUMNS = ("section", "metric", "week", "value")  # a replication's table


class ExperimentError(Exception):
    """An experiment that cannot start as asked (for example an ``out`` directory that holds
    a different experiment); the message says what to change."""


class DiscardedPartWarning(UserWarning):
    """A resume found a replication file it cannot read (empty, truncated, damaged): the file
    is deleted and the replication run again."""


class ReplicationError(Exception):
    """A replication raised (with ``fail_fast=True``); it names what is needed to replay it."""

    def __init__(self, failure: Mapping[str, Any]) -> None:
        self.variant = failure["variant"]
        self.replication = failure["replication"]
        self.seed = failure["seed"]
        self.traceback = failure["traceback"]
        super().__init__(
            f"replication {self.replication} of variant {self.variant!r} failed: "
            f"{failure['error']}\nreplay it alone with {failure['replay']}\n{self.traceback}"
        )


_INDEX = re.compile(r"\[(\d+)\]")


# --------------------------------------------------------------------------- one replication


def replication_seed(seed: int, replication: int) -> np.random.SeedSequence:
    """The seed of replication ``replication``: child number ``replication`` of
    ``SeedSequence(seed)``, the same as ``SeedSequence(seed).spawn(n)[replication]``."""
    return np.random.SeedSequence(seed, spawn_key=(replication,))


def _replay_text(seed: int, replication: int) -> str:
    seq = f"numpy.random.SeedSequence({seed}, spawn_key=({replication},))"
    return f"simfunnel.simulate(scenario, seed={seq})"


def _simulate(
    scenario: Scenario, seed: np.random.SeedSequence, snapshot: Snapshot | None = None
) -> SimulationResult:
    from .single import simulate  # here, not at the top: simfunnel/__init__ imports this module

    return simulate(scenario, seed=seed, snapshot=snapshot)


def _drawn(scenario: Scenario, seed: np.random.SeedSequence, draw_parameters: bool) -> Scenario:
    """The scenario a replication runs: with its uncertain values drawn from its own seed
    when asked (as ``simulate(..., draw_parameters=True)`` does), else as it is."""
    if not (draw_parameters and scenario.uncertainty):
        return scenario
    from .draws import draw_for_seed

    return draw_for_seed(scenario, seed)


@dataclass(frozen=True)
class _Failed:
    """What a worker sends back when a replication raised: the error and its traceback."""

    error: str
    traceback: str


def _is_number(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | np.number)


def _flatten(content: Mapping[Any, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Numeric leaves of a report section; nested mappings give dotted metric names."""
    out: list[tuple[str, Any]] = []
    for key, value in content.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out += _flatten(value, f"{name}.")
        elif _is_number(value):
            out.append((name, value))
    return out


def _report(result: SimulationResult) -> pd.DataFrame:
    """A replication's small table: every numeric KPI of the report and every numeric weekly
    column, long (section, metric, week, value). Generic: new keys and columns come along."""
    kpis = [
        (section, *item)
        for section, content in result.to_dict().items()
        # The scenario name, seed and start date say which run it is, not what it did.
        if section != "seed" and isinstance(content, dict)
        for item in _flatten(content)
    ]
    weekly = result.weekly
    numeric = weekly.select_dtypes(include=["number", "bool"]).drop(columns="week")
    weeks = weekly["week"].to_numpy(dtype=np.int64)
    columns = [str(c) for c in numeric.columns]
    n_kpi, n_weekly = len(kpis), len(columns) * len(weeks)
    kpi_values = [math.nan if v is None else float(v) for _, _, v in kpis]
    frame = pd.DataFrame(
        {
            "section": [s for s, _, _ in kpis] + [WEEKLY] * n_weekly,
            "metric": [m for _, m, _ in kpis] + list(np.repeat(columns, len(weeks))),
            "week": np.concatenate(
                [np.full(n_kpi, _KPI_WEEK, dtype=np.int64), np.tile(weeks, len(columns))]
            ),
            "value": np.concatenate(
                [np.asarray(kpi_values, dtype=float), numeric.to_numpy(dtype=float).T.ravel()]
            ),
        }
    )
    return _normalise(frame)


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """One set of dtypes for a replication's table, fresh from a worker or read from disk."""
    return pd.DataFrame(
        {
            "section": frame["section"].astype(str),
            "metric": frame["metric"].astype(str),
            "week": frame["week"].to_numpy(dtype=np.int64),
            "value": frame["value"].to_numpy(dtype=np.float64),
        }
    )


def _replicate(
    scenario: Scenario,
    seed: int,
    replication: int,
    snapshot: Snapshot | None = None,
    draw_parameters: bool = False,
) -> pd.DataFrame | _Failed:
    """Run one replication (in a worker); an exception comes back as data, so others go on."""
    try:
        seq = replication_seed(seed, replication)
        return _report(_simulate(_drawn(scenario, seq, draw_parameters), seq, snapshot))
    except Exception as exc:
        return _Failed(f"{type(exc).__name__}: {exc}", traceback.format_exc())


# --------------------------------------------------------------------------- the results


def _t_half_width(
    sd: pd.Series, n: pd.Series, level: float, df: pd.Series | None = None
) -> pd.Series:
    """Half-width of the t interval of a mean: t(level, df) * sd / sqrt(n); df = n - 1."""
    from scipy import stats

    n_arr = n.to_numpy(dtype=float)
    dof = np.where(n_arr > 1, n_arr - 1, np.nan) if df is None else df.to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = stats.t.ppf((1.0 + level) / 2.0, dof)
        return pd.Series(q * sd.to_numpy(dtype=float) / np.sqrt(n_arr), index=sd.index)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator with x / 0 = inf for x > 0 and 0 / 0 = NaN."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(numerator, dtype=float) / np.asarray(denominator, dtype=float)


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
        return _simulate(_drawn(scenario, seed, self.draw_parameters), seed, self.snapshot)

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Per variant and KPI: n, mean, sd, the t-based confidence interval of the mean
        (``ci_low``, ``ci_high``, ``half_width``), and P10/P50/P90 of the replications (the
        range of outcomes one year could bring). NaN values (an undefined rate) are left out."""
        if level not in self._level_cache:
            g = self.totals.groupby(["variant", "section", "metric"], sort=False)["value"]
            out = pd.DataFrame({"n": g.count(), "mean": g.mean(), "sd": g.std(ddof=1)})
            half = _t_half_width(out["sd"], out["n"], level)
            out["ci_low"] = out["mean"] - half
            out["ci_high"] = out["mean"] + half
            out["half_width"] = half
            for q in (10, 50, 90):
                out[f"p{q}"] = g.quantile(q / 100)
            self._level_cache[level] = _add_params(out.reset_index(), self.params)
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
            half = _t_half_width(out["diff_sd"], out["n"], level)
            out["ci_low"] = out["diff"] - half
            out["ci_high"] = out["diff"] + half
            out["half_width"] = half
            # Independent runs of both: Welch's interval, with its degrees of freedom.
            welch_df = pd.Series(
                _ratio((out["n"] - 1) * var_unpaired**2, var_v**2 + var_b**2), index=out.index
            )
            out["unpaired_half_width"] = _t_half_width(
                np.sqrt(var_unpaired), out["n"], level, welch_df
            )
            out["variance_reduction"] = _ratio(var_unpaired.to_numpy(), var_paired.to_numpy())
            out.insert(0, "baseline", baseline)
            out.insert(0, "variant", variant)
            rows.append(out.reset_index())
        if not rows:
            raise ValueError("compare() needs at least two variants (see run_variants)")
        frame = pd.concat(rows, ignore_index=True)
        first = ["variant", "baseline", "section", "metric"]
        return _add_params(frame[first + [c for c in frame.columns if c not in first]], self.params)

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


def _empty_failures() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "variant": pd.Series(dtype=str),
            "replication": pd.Series(dtype=np.int64),
            "seed": pd.Series(dtype=np.int64),
            "error": pd.Series(dtype=str),
            "replay": pd.Series(dtype=str),
            "traceback": pd.Series(dtype=str),
        }
    )


def _assemble(
    frames: Mapping[tuple[int, int], pd.DataFrame], names: Sequence[str], seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The long weekly table and the KPI table, ordered by (variant, replication)."""
    keys = sorted(frames)
    if keys:
        body = pd.concat([frames[k] for k in keys], ignore_index=True)
        lengths = [len(frames[k]) for k in keys]
    else:
        body = _normalise(pd.DataFrame({"section": [], "metric": [], "week": [], "value": []}))
        lengths = []
    variant = np.repeat(np.asarray([names[k[0]] for k in keys], dtype=object), lengths)
    head = pd.DataFrame(
        {
            "variant": pd.Series(variant, dtype=str),
            "replication": np.repeat(np.asarray([k[1] for k in keys], dtype=np.int64), lengths),
            "seed": np.full(len(body), seed, dtype=np.int64),
        }
    )
    table = pd.concat([head, body], axis=1)
    weekly = (table["section"] == WEEKLY).to_numpy()
    long = table.loc[weekly].drop(columns="section").reset_index(drop=True)
    totals = table.loc[~weekly].drop(columns="week").reset_index(drop=True)
    return long, totals


def _add_params(frame: pd.DataFrame, params: pd.DataFrame) -> pd.DataFrame:
    """The variant's parameters as columns after ``variant`` (tidy rows carry them)."""
    if params.shape[1] <= 1:
        return frame
    return params.merge(frame, on="variant", how="right")


# --------------------------------------------------------------------------- KPI names


def _kpi_key(name: str, totals: pd.DataFrame) -> tuple[str, str]:
    """``section.metric`` or a bare metric (the first section that has it, in report order)."""
    pairs = list(dict.fromkeys(zip(totals["section"], totals["metric"], strict=True)))
    if "." in name:
        section, metric = name.split(".", 1)
        if (section, metric) in pairs:
            return section, metric
    for section, metric in pairs:
        if metric == name:
            return section, metric
    import difflib

    known = [f"{s}.{m}" for s, m in pairs]
    hint = difflib.get_close_matches(name, known + [m for _, m in pairs], n=1)
    extra = f"; did you mean {hint[0]!r}?" if hint else ""
    raise ValueError(f"no KPI {name!r} in the report{extra}")


def _precision_report(
    totals: pd.DataFrame, targets: Mapping[str, float], names: Sequence[str], level: float = 0.95
) -> pd.DataFrame:
    """Relative half-width of each named KPI's mean, per variant, against its target."""
    rows = []
    keys = {name: _kpi_key(name, totals) for name in targets}
    g = totals.groupby(["variant", "section", "metric"], sort=False)["value"]
    stats_ = pd.DataFrame({"n": g.count(), "mean": g.mean(), "sd": g.std(ddof=1)})
    stats_["half_width"] = _t_half_width(stats_["sd"], stats_["n"], level)
    for variant in names:
        for name, target in targets.items():
            section, metric = keys[name]
            key = (variant, section, metric)
            n, mean, _, half = stats_.loc[key] if key in stats_.index else (0, *[math.nan] * 3)
            rel = 0.0 if half == 0 else float(half / abs(mean)) if mean else math.inf
            rows.append(
                {
                    "variant": variant,
                    "kpi": f"{section}.{metric}",
                    "n": int(n),
                    "mean": mean,
                    "half_width": half,
                    "rel_half_width": rel,
                    "target": float(target),
                    "reached": bool(rel <= target),  # NaN (too few values) is not reached
                }
            )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the store


def _snapshot_digest(snapshot: Snapshot) -> dict[str, Any]:
    """What identifies a snapshot in a manifest: a resume must start from the same one."""
    import hashlib

    digest = hashlib.sha256()
    for name in ("source", "arrival", "score", "quality", "attempts", "valid_at", "value"):
        digest.update(np.ascontiguousarray(getattr(snapshot, name)).tobytes())
    digest.update("\n".join(snapshot.state.tolist()).encode())
    return {"origin": snapshot.origin, "rows": len(snapshot), "sha256": digest.hexdigest()}


def _parquet_available() -> bool:
    return importlib.util.find_spec("pyarrow") is not None


def _json_ready(value: Any) -> Any:
    """Plain JSON data, with dates as ISO text; for the manifest and its comparison."""
    return json.loads(json.dumps(value, default=_json_default, sort_keys=True))


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def _first_difference(a: Any, b: Any, path: str = "") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            found = _first_difference(a.get(key), b.get(key), f"{path}.{key}" if path else key)
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if a == b else f"{path or '(top level)'}: {b!r} there, {a!r} here"


class _Store:
    """An experiment streamed to a directory: a manifest and one file per finished
    (variant, replication), so an interrupted run resumes where it stopped."""

    def __init__(self, path: Path, manifest: dict[str, Any]) -> None:
        self.path = path
        self.dir = path / "replications"
        file = path / _MANIFEST
        if file.exists():
            try:
                old = json.loads(file.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise ExperimentError(f"{file}: unreadable manifest ({exc})") from None
            self._check(old, manifest)
            self.format = old["format"]
            if self.format == "parquet" and not _parquet_available():
                raise ExperimentError(
                    f"{path}: the replications are stored as Parquet; install pyarrow to resume"
                )
        else:
            if path.exists() and any(path.iterdir()):
                raise ExperimentError(
                    f"{path}: not empty and has no {_MANIFEST}, so it is not an experiment "
                    "directory; give a new or empty directory"
                )
            self.format = "parquet" if _parquet_available() else "csv"
            self.dir.mkdir(parents=True, exist_ok=True)
            text = json.dumps({**manifest, "format": self.format}, indent=1, sort_keys=True)
            write_text(file, text + "\n")
        self.dir.mkdir(parents=True, exist_ok=True)
        # What a killed writer left: temporary files never renamed (the parts are whole).
        for stale in [*self.dir.glob(f"{TEMP_PREFIX}*"), *self.dir.glob("*.partial")]:
            with contextlib.suppress(OSError):
                stale.unlink()

    def _check(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        where = f"{self.path}: holds another experiment"
        advice = "resume with the same scenario, variants and seed, or give another directory"
        if old.get("experiment_format") != _FORMAT_VERSION:
            raise ExperimentError(f"{where} (an unknown format); {advice}")
        if old.get("simfunnel_version") != new["simfunnel_version"]:
            raise ExperimentError(
                f"{where}, made by simfunnel {old.get('simfunnel_version')} (this is "
                f"{new['simfunnel_version']}); {advice}"
            )
        if old.get("seed") != new["seed"]:
            raise ExperimentError(f"{where}, seed {old.get('seed')} (not {new['seed']}); {advice}")
        old_names = [v["name"] for v in old.get("variants", [])]
        new_names = [v["name"] for v in new["variants"]]
        if old_names != new_names:
            diff = _first_difference(new_names, old_names, "variants")
            if diff is None:
                diff = f"variants: {len(old_names)} there, {len(new_names)} here"
            raise ExperimentError(f"{where}: {diff}; {advice}")
        for before, now in zip(old["variants"], new["variants"], strict=True):
            diff = _first_difference(now["scenario"], before["scenario"])
            if diff:
                raise ExperimentError(
                    f"{where}: variant {now['name']!r} differs at {diff}; {advice}"
                )
        if old.get("snapshot") != new["snapshot"]:
            raise ExperimentError(
                f"{where}, started from another snapshot ({old.get('snapshot')}, not "
                f"{new['snapshot']}); {advice}"
            )
        if old.get("parameter_draws", False) != new.get("parameter_draws", False):
            was = "with" if old.get("parameter_draws") else "without"
            raise ExperimentError(f"{where}, run {was} parameter draws; {advice}")

    def _file(self, key: tuple[int, int]) -> Path:
        return self.dir / f"v{key[0]:04d}-r{key[1]:06d}.{self.format}"

    def load(self, key: tuple[int, int]) -> pd.DataFrame | None:
        """The stored table of a replication; None when there is none, or when its file cannot
        be read whole (then it is deleted, with a warning, and the replication runs again)."""
        file = self._file(key)
        if not file.exists():
            return None
        try:
            return _normalise(self._read(file))
        except PermissionError:
            raise  # there, but not ours to read: say so rather than delete it
        except Exception as exc:  # pyarrow's ArrowInvalid, a parser error, a missing column...
            reason = " ".join(str(exc).split()) or type(exc).__name__
            warnings.warn(
                f"{file}: cannot be read ({reason[:200]}); discarded, the replication is run again",
                DiscardedPartWarning,
                stacklevel=2,
            )
            with contextlib.suppress(OSError):
                file.unlink()
            return None

    def _read(self, file: Path) -> pd.DataFrame:
        if file.stat().st_size == 0:
            raise ValueError("empty file")
        if self.format == "parquet":
            table = pd.read_parquet(file)
        else:
            # Only an empty cell is missing; floats read back exactly as written (pandas 3
            # does by default, pandas 2 when asked).
            exact = (
                {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
            )
            table = pd.read_csv(file, keep_default_na=False, na_values=[""], **exact)
            last = table.iloc[-1] if len(table) and "section" in table else None
            if last is None or last["section"] != _END or int(last["week"]) != len(table) - 1:
                raise ValueError("truncated: the end row is missing")
            table = restore(table.iloc[:-1], ["section", "metric"])
        missing = [c for c in _COLUMNS if c not in table.columns]
        if missing or table.empty:
            raise ValueError(f"no {', '.join(missing)} column" if missing else "no rows")
        return table

    def save(self, key: tuple[int, int], frame: pd.DataFrame) -> None:
        """Write a replication's table whole or not at all (a temporary file, renamed)."""
        file = self._file(key)
        if self.format == "parquet":
            write_parquet(frame, file)
        else:
            end = pd.DataFrame(
                {"section": [_END], "metric": [_END], "week": [len(frame)], "value": [math.nan]}
            )
            write_csv(pd.concat([frame, end], ignore_index=True), file)


# --------------------------------------------------------------------------- execution


def _ignore_sigint() -> None:
    """Pool workers leave Ctrl-C to the parent, which cancels the work and keeps the results."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class _Pool:
    """Where replications run: inline (one worker), an own process pool, or a given executor."""

    def __init__(self, workers: int | None, executor: Any) -> None:
        if executor is not None and workers is not None:
            raise ValueError("give workers= or executor=, not both")
        if workers is not None and (not isinstance(workers, int) or workers < 1):
            raise ValueError(f"workers must be a whole number >= 1 (got {workers!r})")
        self.workers = workers if workers is not None else _cores()
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
            self.own = cf.ProcessPoolExecutor(max_workers=self.workers, initializer=_ignore_sigint)
        return self.own

    def close(self) -> None:
        if self.own is not None:
            # After Ctrl-C or a fail-fast error, do not wait for replications still running.
            self.own.shutdown(wait=not self.abandon, cancel_futures=True)
            self.own = None


def _as_executor(executor: Any) -> cf.Executor:
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
class _Runner:
    """Runs (variant, replication) jobs and keeps what came back, whatever the order."""

    scenarios: list[Scenario]
    names: list[str]
    seed: int
    pool: _Pool
    store: _Store | None
    fail_fast: bool
    progress: bool
    frames: dict[tuple[int, int], pd.DataFrame] = field(default_factory=dict)
    failures: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    interrupted: bool = False
    snapshot: Snapshot | None = None
    draw_parameters: bool = False

    def run(self, jobs: list[tuple[int, int]]) -> None:
        from tqdm.auto import tqdm

        todo = []
        for key in jobs:
            stored = self.store.load(key) if self.store is not None else None
            if stored is None:
                todo.append(key)
            else:
                self.frames[key] = stored
        bar = tqdm(
            total=len(jobs),
            initial=len(jobs) - len(todo),
            unit="rep",
            desc="replications",
            disable=not self.progress,
            leave=False,
        )
        try:
            executor = self.pool.executor(len(todo))
            if executor is None:
                for key in todo:
                    scenario = self.scenarios[key[0]]
                    outcome = _replicate(
                        scenario, self.seed, key[1], self.snapshot, self.draw_parameters
                    )
                    self._keep(key, outcome, bar)
            else:
                self._run_on(executor, todo, bar)
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

    def _run_on(self, executor: cf.Executor, todo: list[tuple[int, int]], bar: Any) -> None:
        futures: dict[cf.Future[Any], tuple[int, int]] = {}
        try:
            for key in todo:
                args = (self.scenarios[key[0]], self.seed, key[1], self.snapshot)
                job = executor.submit(_replicate, *args, self.draw_parameters)
                futures[job] = key
            for job in cf.as_completed(futures):
                self._keep(futures[job], _outcome(job), bar)
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

    def _keep(self, key: tuple[int, int], outcome: pd.DataFrame | _Failed, bar: Any) -> None:
        bar.update(1)
        if isinstance(outcome, pd.DataFrame):
            if self.store is not None:
                self.store.save(key, outcome)  # first: what is kept is also on disk
            self.frames[key] = outcome
            self.failures.pop(key, None)
            return
        failure = {
            "variant": self.names[key[0]],
            "replication": key[1],
            "seed": self.seed,
            "error": outcome.error,
            "replay": _replay_text(self.seed, key[1]),
            "traceback": outcome.traceback,
        }
        self.failures[key] = failure
        bar.set_postfix(failed=len(self.failures))
        if self.fail_fast:
            raise ReplicationError(failure)

    def failure_table(self) -> pd.DataFrame:
        if not self.failures:
            return _empty_failures()
        rows = [self.failures[k] for k in sorted(self.failures)]
        return pd.DataFrame(rows, columns=list(_empty_failures().columns))


def _outcome(job: cf.Future[Any]) -> pd.DataFrame | _Failed:
    """A finished future's table, or the error that kept it from one (a dead worker...)."""
    try:
        return job.result()
    except Exception as exc:
        return _Failed(
            f"{type(exc).__name__}: {exc}",
            "".join(traceback.format_exception(exc)),
        )


# --------------------------------------------------------------------------- entry points


def _root_seed(seed: int | None) -> int:
    if seed is None:  # fresh entropy, kept so that the experiment can be replayed
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0 or None (got {seed!r})")
    return int(seed)


def _param_table(
    names: Sequence[str], overrides: Sequence[Mapping[str, Any]], base: dict[str, Any]
) -> pd.DataFrame:
    """One row per variant: its name and the value of every overridden path (the base's value
    where a variant does not override it)."""
    paths = list(dict.fromkeys(p for o in overrides for p in o))
    columns: dict[str, Any] = {"variant": pd.Series(list(names), dtype=str)}
    for path in paths:
        values = []
        for o in overrides:
            if path in o:
                values.append(o[path])
            else:
                values.append(_get_path(base, path))
        columns[path] = pd.Series(values, dtype=object).infer_objects()
    return pd.DataFrame(columns)


def _get_path(data: Any, path: str) -> Any:
    node = data
    for part in _INDEX.sub(r".\1", path).split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


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
    from ..base.version import __version__

    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
        raise ValueError(f"reps must be a whole number >= 1 (got {reps!r})")
    targets = dict(precision or {})
    for name, target in targets.items():
        if not (isinstance(target, int | float) and target > 0):
            raise ValueError(f"precision target of {name!r} must be above 0 (got {target!r})")
    limit = max_reps if max_reps is not None else (10 * reps if targets else reps)
    if limit < reps:
        raise ValueError(f"max_reps ({limit}) is below reps ({reps})")
    for name, scenario in scenarios.items():  # too large: one line now, not a failure per run
        check_size(scenario, snapshot_rows=len(snapshot) if snapshot is not None else 0,
                   source=f"variant {name!r}" if len(scenarios) > 1 else None)  # fmt: skip
    root = _root_seed(seed)
    names = list(scenarios)
    store = None
    if out is not None:
        manifest = {
            "experiment_format": _FORMAT_VERSION,
            "simfunnel_version": __version__,
            "seed": root,
            "variants": [
                {
                    "name": name,
                    "overrides": _json_ready(dict(o)),
                    "scenario": _json_ready(scenario_to_dict(s)),
                }
                for name, o, s in zip(names, overrides, scenarios.values(), strict=True)
            ],
            "snapshot": None if snapshot is None else _snapshot_digest(snapshot),
        }
        if draw_parameters:  # only then, so that older directories resume as before
            manifest["parameter_draws"] = True
        store = _Store(Path(out), manifest)
    pool = _Pool(workers, executor)
    runner = _Runner(list(scenarios.values()), names, root, pool, store, fail_fast, progress)
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
            _, totals = _assemble(runner.frames, names, root)
            report = _precision_report(totals, targets, names)
            if report["reached"].all() or n >= limit:
                break
            n = min(limit, n + reps)  # one more batch of the first batch's size
    finally:
        pool.close()
    long, totals = _assemble(runner.frames, names, root)
    return Experiment(
        scenarios=scenarios,
        params=params,
        seed=root,
        reps=n,
        long=_add_params(long, params),
        totals=_add_params(totals, params),
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
    params = _param_table(names, overrides, scenario_to_dict(base))
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


def _grid_variants(grid: Mapping[str, Sequence[Any]]) -> dict[str, dict[str, Any]]:
    """Every combination of the grid's values, named ``path=value, path=value``."""
    if not grid:
        raise ValueError("give at least one path and its values")
    for path, values in grid.items():
        if isinstance(values, str) or not isinstance(values, Sequence) or not values:
            raise ValueError(f"{path}: give a non-empty list of values (got {values!r})")
        texts = [_value_text(v) for v in values]
        if len(set(texts)) < len(texts):
            raise ValueError(f"{path}: a value is given twice (got {values!r})")
    paths = list(grid)
    variants: dict[str, dict[str, Any]] = {}
    for combo in itertools.product(*grid.values()):
        name = ", ".join(f"{p}={_value_text(v)}" for p, v in zip(paths, combo, strict=True))
        variants[name] = dict(zip(paths, combo, strict=True))
    return variants


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


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
        _grid_variants(grid),
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
