"""The variants of an experiment: the grid of a sweep as named variants, and the table of each
variant's parameters (its overridden paths) that tidy result tables carry as columns.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

__all__ = ["add_params", "grid_variants", "param_table"]

_INDEX = re.compile(r"\[(\d+)\]")


def param_table(
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
    """The value at a dotted path (``a.b[0].c``) of plain scenario data; None if absent."""
    node = data
    for part in _INDEX.sub(r".\1", path).split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def add_params(frame: pd.DataFrame, params: pd.DataFrame) -> pd.DataFrame:
    """The variant's parameters as columns after ``variant`` (tidy rows carry them)."""
    if params.shape[1] <= 1:
        return frame
    return params.merge(frame, on="variant", how="right")


def grid_variants(grid: Mapping[str, Sequence[Any]]) -> dict[str, dict[str, Any]]:
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
    """A grid value as it appears in a variant's name."""
    return value if isinstance(value, str) else json.dumps(value, default=str)
