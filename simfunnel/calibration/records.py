"""Small pieces every step of the fit shares: the parameter and warning rows it records, and
the numbers, durations and plain values its tables and commented YAML are written with."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["days", "days_text", "duration_basis", "fmt", "param", "plain_values", "warn"]


def days(delta: pd.Series) -> np.ndarray:
    """Timedeltas as days (floats): the unit every fitted duration is in."""
    return delta.dt.total_seconds().to_numpy(dtype=float) / 86400.0


def fmt(x: float, digits: int = 3) -> str:
    """A number for a comment or a note: ``digits`` significant digits, ``n/a`` if not finite;
    never in scientific notation (``5.425e-36`` read as a figure nobody could place): a value
    too small for ``digits`` decimals is ``< 0.0001``, a large one written out in full."""
    if not (isinstance(x, float | int) and math.isfinite(x)):
        return "n/a"
    text = f"{x:.{digits}g}"
    if "e" not in text:
        return text
    if abs(x) >= 1:
        return f"{x:,.0f}"
    floor = 10.0**-digits
    return "0" if x == 0 else (f"< {floor:.{digits}f}" if x > 0 else f"> -{floor:.{digits}f}")


def days_text(n: float) -> str:
    """A duration in days as the scenario writes it (``12.5 days``)."""
    return f"{round(float(n), 2):g} days"


def param(
    rows: list[dict[str, Any]],
    path: str,
    value: Any,
    low: Any = None,
    high: Any = None,
    basis: str = "",
    kind: str = "fitted",
) -> None:
    """Record a value written to the scenario, with its interval, basis and kind (``fitted``,
    ``derived``, ``assumption``, ``check`` or ``user``): the ``parameters`` table."""
    rows.append(
        {"parameter": path, "value": value, "low": low, "high": high, "basis": basis, "kind": kind}
    )


def warn(rows: list[dict[str, Any]], path: str, column: Any, text: str) -> None:
    """Record a warning in the form of the readers' report rows (``action = warning``)."""
    rows.append(
        {
            "file": path,
            "line": None,
            "column": column or "",
            "problem": text,
            "value": None,
            "action": "warning",
        }
    )


def plain_values(value: Any) -> Any:
    """Plain Python values for YAML (numpy scalars are not)."""
    if isinstance(value, dict):
        return {plain_values(k): plain_values(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_values(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def duration_basis(row: pd.Series) -> str:
    """What a chosen duration fit rests on, for its comment."""
    if row["dist"] == "fixed" and row["median"] == 0:
        return (
            f"all {row['events']} completed of {row['n']} took 0 days (closed on the day and "
            "at the time they began): a fixed duration of 0 days"
        )
    return (
        f"{row['events']} completed of {row['n']} ({row['n'] - row['events']} "
        f"censored), censored MLE chosen by AIC; KS distance to Kaplan-Meier "
        f"{row['ks']:.3f}; Kaplan-Meier median {row['km_median']:.1f} days"
    )
