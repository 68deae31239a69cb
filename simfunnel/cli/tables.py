"""The machine-readable shapes of what a command prints: JSON and CSV on standard output.

A run's, an experiment's and a decision's terminal text is their own ``text()``; the JSON and
CSV forms are built here from the answer interface (``verdict``, ``table``, ``summary()``), in
one shape that docs/cli.md documents: plain JSON values only (NaN and infinity as null, dates
as ISO text, durations in hours), so that a script reads every command the same way.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from ..experiments import Experiment

__all__ = ["csv_text", "experiment_json", "json_value", "records", "shape"]


def _missing(value: Any) -> bool:
    """NaN, NaT or pandas' NA: a value that is not equal to itself, or cannot say."""
    try:
        return bool(value != value)
    except (TypeError, ValueError):  # pd.NA: its truth is ambiguous
        return True


def json_value(value: Any) -> Any:
    """One figure or cell as a plain JSON value: numpy scalars as Python numbers, NaN and
    infinity as None, timestamps as ISO text (a date alone when at midnight), durations as
    hours, containers element by element, anything else as its text."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_value(v) for v in value]
    if getattr(value, "ndim", 0):  # a numpy array or a pandas series
        return json_value(value.tolist())
    if _missing(value):
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):  # numpy's float64 too
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds() / 3600
    if isinstance(value, enum.Enum):
        return json_value(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if hasattr(value, "tolist"):  # a numpy scalar or array
        return json_value(value.tolist())
    return str(value)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with a meaningful index as columns and column labels as text."""
    named = any(name is not None for name in frame.index.names)
    if named or type(frame.index).__name__ != "RangeIndex":
        frame = frame.reset_index()
    labels = [".".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in frame.columns]
    return frame.set_axis(labels, axis=1)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A table as JSON records: one object per row, plain values (see :func:`json_value`)."""
    return [
        {str(k): json_value(v) for k, v in row.items()} for row in _plain(frame).to_dict("records")
    ]


def csv_text(frame: pd.DataFrame) -> str:
    """A table as CSV text, its cells made inert for spreadsheets as every CSV file the tool
    writes (:func:`simfunnel.base.files.neutralise`)."""
    from ..base.files import neutralise

    text: str = neutralise(_plain(frame)).to_csv(index=False)
    return text


def shape(
    command: str, answer: Any, *, summary: bool = True, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON every results command prints: ``command``, ``scenario`` (its name, or None for
    an answer fitted straight to CRM exports), ``verdict``, ``table`` (records), ``summary``
    (records of ``summary()``) and the command's own ``extra`` keys after them."""
    scenario = getattr(answer, "scenario", None)
    out: dict[str, Any] = {
        "command": command,
        "scenario": getattr(scenario, "name", None),
        "verdict": answer.verdict,
        "table": records(answer.table),
    }
    if summary:
        out["summary"] = records(answer.summary())
    out.update(currency_json(scenario))
    out.update({key: json_value(value) for key, value in (extra or {}).items()})
    return out


def currency_json(scenario: Any) -> dict[str, Any]:
    """``currency``: the code money is in and whether it was ``assumed`` (the scenario names
    none): a reader of the JSON alone must not take dollars for euros."""
    currency = getattr(scenario, "currency", None)
    if currency is None:
        return {}
    return {"currency": {"code": currency.code, "assumed": bool(scenario.currency_assumed)}}


def experiment_json(experiment: Experiment, level: float = 0.95) -> dict[str, Any]:
    """Replications as JSON-ready data: per section and KPI, n, mean, sd, interval, P10/50/90."""
    summary: dict[str, dict[str, Any]] = {}
    for row in experiment.summary(level).itertuples(index=False):
        summary.setdefault(str(row.section), {})[str(row.metric)] = {
            key: json_value(getattr(row, key))
            for key in ("n", "mean", "sd", "ci_low", "ci_high", "p10", "p50", "p90")
        }
    scenario = next(iter(experiment.scenarios.values()))
    return {
        "scenario": scenario.name,
        "seed": json_value(experiment.seed),
        "reps": experiment.reps,
        "level": level,
        "complete": experiment.complete,
        **currency_json(scenario),
        "summary": summary,
        "failures": records(experiment.failures.drop(columns="traceback")),
    }
