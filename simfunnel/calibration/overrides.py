"""The values the user knows better than the exports (``fit(overrides=...)``, ``--set``): set
on the fitted scenario by dotted path, sources by name or index, validated like a scenario
file, and marked "set by the user" in the parameters table and the YAML."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from ..base.formatting import one_line
from ..data import CalibrationError
from ..scenario import ScenarioError, path_parts, scenario_from_dict, set_path, show_path
from .records import fmt, param, plain_values

__all__ = ["apply_overrides"]

_NAMED_SOURCE = re.compile(r"^sources\[([^\]]*[^\d\]][^\]]*)\]")


def _by_index(path: str, data: dict[str, Any]) -> str:
    """``sources[web].x`` as ``sources.0.x`` (the form the YAML comments use, by name)."""
    match = _NAMED_SOURCE.match(path.strip())
    if match is None:
        return path.strip()
    names = [str(s.get("name")) for s in data.get("sources", [])]
    if match.group(1) not in names:
        raise CalibrationError(
            f"overrides: {path}: no source named {match.group(1)!r} (the fit has "
            f"{', '.join(names)}); write sources[NAME].field or sources.N.field"
        )
    return f"sources.{names.index(match.group(1))}{path.strip()[match.end() :]}"


def _by_name(path: str, data: dict[str, Any]) -> str:
    """``sources.0.x`` as ``sources[web].x``: the parameter names of the fitted values."""
    parts = path.split(".")
    if len(parts) > 1 and parts[0] == "sources" and parts[1].isdigit():
        sources = data.get("sources", [])
        if int(parts[1]) < len(sources):
            return ".".join([f"sources[{sources[int(parts[1])]['name']}]", *parts[2:]])
    return path


def _mark_user(params: list[dict[str, Any]], name: str, value: Any) -> None:
    """The parameter row of an overridden field says it was set by the user, and what the fit
    had given (a field the fit did not report gets a row of its own)."""
    for row in params:
        if row["parameter"] == name:
            was = fmt(row["value"], 4) if isinstance(row["value"], float) else row["value"]
            row.update(
                value=value,
                low=None,
                high=None,
                kind="user",
                basis=f"set by the user (the fit gave {was}: {row['basis']})",
            )
            return
    param(params, name, value, basis="set by the user", kind="user")


def apply_overrides(
    scenario: dict[str, Any], overrides: Mapping[str, Any], params: list[dict[str, Any]]
) -> dict[str, Any]:
    """The fitted scenario with the user's values set by dotted path (the machinery of
    ``simfunnel.experiments.experiment.with_overrides``), validated like a scenario file: a bad path or
    value is one line naming the path and what was expected."""
    if not overrides:
        return scenario
    if not isinstance(overrides, Mapping):
        raise CalibrationError(
            f"overrides: a mapping of field path -> value, e.g. {{'sdr.headcount': 32}} (got "
            f"{type(overrides).__name__})"
        )
    data = copy.deepcopy(scenario)
    shown = []
    for path, value in overrides.items():
        if not isinstance(path, str):
            raise CalibrationError(f"overrides: {path!r}: a path is text, like sdr.headcount")
        plain = _by_index(path, data)
        try:
            path_parts(plain, "overrides")
            set_path(data, plain, copy.deepcopy(value), "overrides")
        except ScenarioError as exc:
            raise CalibrationError(one_line(exc.problems[0])) from None
        parts = path_parts(plain, "overrides")
        name = _by_name(".".join(parts), data)
        shown.append((name, show_path(parts)))
        _mark_user(params, name, value)
    try:
        scenario_from_dict(plain_values(data), source="overrides")
    except ScenarioError as exc:
        raise CalibrationError(one_line(_override_problem(exc.problems, shown))) from None
    return data


def _override_problem(problems: list[str], shown: list[tuple[str, str]]) -> str:
    """The problem that names an overridden path (its name as the user wrote it), else the
    first; with how many more there are."""
    named = [str(p) for p in problems if any(f" {plain}" in str(p) for _, plain in shown)]
    first = named[0] if named else str(problems[0])
    for name, plain in shown:
        first = first.replace(f": {plain}", f": {name}", 1) if name != plain else first
    if not named:  # a fitted field that no longer fits with the user's value
        first += f" (after setting {', '.join(name for name, _ in shown)})"
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{first}{more}; expected as in a scenario file (docs/scenarios.md)"
