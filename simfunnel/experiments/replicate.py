"""One replication: its seed, its run, the small table it sends back and that table's file format;
then the long and KPI tables assembled from many replications, and the failures of those that raised.

Replication ``i`` of an experiment with seed ``S`` is
``simfunnel.simulate(scenario, seed=numpy.random.SeedSequence(S, spawn_key=(i,)))``: the ``seed``
and ``replication`` columns of every table are all it takes to replay one row alone. A worker runs
:func:`run_replication` and sends back the KPI report and the weekly table, long (section, metric,
week, value), never the per-lead arrays.
"""

from __future__ import annotations

import importlib.util
import math
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..base.files import restore, write_csv, write_parquet
from ..model import Snapshot
from ..results import SimulationResult
from ..scenario import Scenario
from .draws import draw_for_seed
from .single import simulate

__all__ = [
    "WEEKLY",
    "Failed",
    "ReplicationError",
    "assemble",
    "can_read",
    "empty_failures",
    "normalise",
    "read_table",
    "replay_text",
    "replicated_result",
    "replication_seed",
    "root_seed",
    "run_replication",
    "table_format",
    "write_table",
]

WEEKLY = "weekly"  # the section name of weekly rows in a replication's table
_KPI_WEEK = -1  # the week of KPI rows in a replication's table (they cover the whole run)
_END = "#end"  # the last row of a CSV replication file: its row count, so truncation shows
_COLUMNS = ("section", "metric", "week", "value")  # a replication's table


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


# --------------------------------------------------------------------------- seeds


def root_seed(seed: int | None) -> int:
    """The experiment's root seed, checked; ``None`` draws fresh entropy and keeps it, so that
    the experiment can be replayed."""
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0 or None (got {seed!r})")
    return int(seed)


def replication_seed(seed: int, replication: int) -> np.random.SeedSequence:
    """The seed of replication ``replication``: child number ``replication`` of
    ``SeedSequence(seed)``, the same as ``SeedSequence(seed).spawn(n)[replication]``."""
    return np.random.SeedSequence(seed, spawn_key=(replication,))


def replay_text(seed: int, replication: int) -> str:
    """The call that replays one replication alone, for failure messages."""
    seq = f"numpy.random.SeedSequence({seed}, spawn_key=({replication},))"
    return f"simfunnel.simulate(scenario, seed={seq})"


# --------------------------------------------------------------------------- one run


def _simulate(
    scenario: Scenario, seed: np.random.SeedSequence, snapshot: Snapshot | None = None
) -> SimulationResult:
    """The model run of a replication; looked up here at call time, so tests can replace it."""
    return simulate(scenario, seed=seed, snapshot=snapshot)


def _drawn(scenario: Scenario, seed: np.random.SeedSequence, draw_parameters: bool) -> Scenario:
    """The scenario a replication runs: with its uncertain values drawn from its own seed
    when asked (as ``simulate(..., draw_parameters=True)`` does), else as it is."""
    if not (draw_parameters and scenario.uncertainty):
        return scenario
    return draw_for_seed(scenario, seed)


def replicated_result(
    scenario: Scenario,
    seed: np.random.SeedSequence,
    snapshot: Snapshot | None,
    draw_parameters: bool,
) -> SimulationResult:
    """The full result of one replication (every table of a single run), as a worker runs it."""
    return _simulate(_drawn(scenario, seed, draw_parameters), seed, snapshot)


@dataclass(frozen=True)
class Failed:
    """What a worker sends back when a replication raised: the error and its traceback."""

    error: str
    traceback: str


def run_replication(
    scenario: Scenario,
    seed: int,
    replication: int,
    snapshot: Snapshot | None = None,
    draw_parameters: bool = False,
) -> pd.DataFrame | Failed:
    """Run one replication (in a worker); an exception comes back as data, so others go on."""
    try:
        seq = replication_seed(seed, replication)
        return _report(replicated_result(scenario, seq, snapshot, draw_parameters))
    except Exception as exc:
        return Failed(f"{type(exc).__name__}: {exc}", traceback.format_exc())


# --------------------------------------------------------------------------- its table


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
    return normalise(frame)


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """One set of dtypes for a replication's table, fresh from a worker or read from disk."""
    return pd.DataFrame(
        {
            "section": frame["section"].astype(str),
            "metric": frame["metric"].astype(str),
            "week": frame["week"].to_numpy(dtype=np.int64),
            "value": frame["value"].to_numpy(dtype=np.float64),
        }
    )


# --------------------------------------------------------------------------- its file


def _parquet_available() -> bool:
    """Whether pyarrow is installed; looked up here at call time, so tests can force CSV."""
    return importlib.util.find_spec("pyarrow") is not None


def table_format() -> str:
    """The file format of a new store's tables: Parquet where pyarrow is installed, else CSV."""
    return "parquet" if _parquet_available() else "csv"


def can_read(fmt: str) -> bool:
    """Whether this installation reads tables stored as ``fmt`` (Parquet needs pyarrow)."""
    return fmt != "parquet" or _parquet_available()


def read_table(file: Path, fmt: str) -> pd.DataFrame:
    """A replication's table as written by :func:`write_table`; a ValueError when the file is
    empty, truncated or lacks a column (pyarrow and the CSV parser raise their own errors)."""
    if file.stat().st_size == 0:
        raise ValueError("empty file")
    if fmt == "parquet":
        table = pd.read_parquet(file)
    else:
        # Only an empty cell is missing; floats read back exactly as written (pandas 3
        # does by default, pandas 2 when asked).
        exact: Literal["round_trip"] | None = (
            None if int(pd.__version__.split(".")[0]) >= 3 else "round_trip"
        )
        table = pd.read_csv(file, keep_default_na=False, na_values=[""], float_precision=exact)
        last = table.iloc[-1] if len(table) and "section" in table else None
        if last is None or last["section"] != _END or int(last["week"]) != len(table) - 1:
            raise ValueError("truncated: the end row is missing")
        table = restore(table.iloc[:-1], ["section", "metric"])
    missing = [c for c in _COLUMNS if c not in table.columns]
    if missing or table.empty:
        raise ValueError(f"no {', '.join(missing)} column" if missing else "no rows")
    return table


def write_table(frame: pd.DataFrame, file: Path, fmt: str) -> None:
    """Write a replication's table whole or not at all (a temporary file, renamed); a CSV file
    ends with a row holding its row count, so that a truncated file shows."""
    if fmt == "parquet":
        write_parquet(frame, file)
    else:
        end = pd.DataFrame(
            {"section": [_END], "metric": [_END], "week": [len(frame)], "value": [math.nan]}
        )
        write_csv(pd.concat([frame, end], ignore_index=True), file)


# --------------------------------------------------------------------------- many of them


def assemble(
    frames: Mapping[tuple[int, int], pd.DataFrame], names: Sequence[str], seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The long weekly table and the KPI table, ordered by (variant, replication)."""
    keys = sorted(frames)
    if keys:
        body = pd.concat([frames[k] for k in keys], ignore_index=True)
        lengths = [len(frames[k]) for k in keys]
    else:
        body = normalise(pd.DataFrame({"section": [], "metric": [], "week": [], "value": []}))
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


def empty_failures() -> pd.DataFrame:
    """The failures table with no rows: its columns and their dtypes."""
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
