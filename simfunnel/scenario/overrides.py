"""A scenario as plain data and back, fields set by dotted path (``sdr.headcount``), and the
uncertainty entries such a setting makes known.

Why here: overrides are how every decision tool makes its variants (a threshold, a headcount),
and how a fit writes what it estimated; all of them must validate like a scenario file.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from ..base.units import duration_text, parse_duration
from .fields import is_duration, members
from .load import scenario_from_dict
from .schema import Scenario, ScenarioError
from .uncertain import numbered_parts

__all__ = [
    "overridden",
    "path_parts",
    "scenario_to_dict",
    "set_path",
    "show_path",
    "with_overrides",
]


def _hours(value: float) -> str:
    """A duration as a person writes it ('2 min', '90 days') where that reads back as the same
    float; else repr() in hours, the shortest text that does, so the round trip stays exact."""
    text = duration_text(value)
    return text if parse_duration(text) == float(value) else f"{float(value)!r} h"


def _encode(value: Any, tp: Any, meta: Sequence[Any] = ()) -> Any:
    """A scenario value as a scenario file would write it; durations as ``'<hours> h'``."""
    if isinstance(value, BaseModel):
        return {
            info.alias or name: _encode(getattr(value, name), info.annotation, info.metadata)
            for name, info in type(value).model_fields.items()
        }
    if value is None:
        return None
    found = members(tp)
    if isinstance(value, int | float) and not isinstance(value, bool):
        durations = is_duration(meta) or any(is_duration(m) for _, m in found)
        return _hours(value) if durations else value
    if isinstance(value, tuple | list):
        args = next((get_args(t) for t, _ in found if get_origin(t) in (tuple, list)), ())
        if len(args) == 2 and args[1] is Ellipsis:
            items: Sequence[Any] = [args[0]] * len(value)
        else:
            items = args if len(args) == len(value) else [Any] * len(value)
        return [_encode(v, t) for v, t in zip(value, items, strict=True)]
    if isinstance(value, dict):
        args = next((get_args(t) for t, _ in found if get_origin(t) is dict), (Any, Any))
        return {_encode(k, args[0]): _encode(v, args[1]) for k, v in value.items()}
    return value


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario as plain data that ``scenario_from_dict`` reads back to an equal scenario.

    ``model_dump`` alone does not round-trip: durations are stored in hours but a file must give
    a unit (a bare number is refused), so they are written back as ``'<hours> h'``. Keys are the
    names a scenario file uses (aliases such as ``mean``); lists are lists, so they can be edited.
    A currency the scenario did not name stays unnamed, so that reports still say it was assumed.
    """
    data = _encode(scenario, Scenario)
    if scenario.currency_assumed:
        del data["currency"]
    return data


_INDEX = re.compile(r"\[(\d+)\]")


def path_parts(path: str, source: str) -> list[str]:
    parts = _INDEX.sub(r".\1", path.strip()).split(".")
    if not path.strip() or any(not p for p in parts):
        raise ScenarioError(
            [
                f"{source}: {path!r}: not a field path; write it like sdr.headcount or "
                "sources[0].rate_per_week"
            ]
        )
    return parts


def show_path(parts: Sequence[str]) -> str:
    """A path the way scenario errors print it: ``sources[0].rate_per_week``."""
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else ("." if out else "") + part
    return out


def set_path(data: dict[str, Any], path: str, value: Any, source: str) -> None:
    parts = path_parts(path, source)
    node: Any = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        here = show_path(parts[: depth + 1])
        if isinstance(node, list):
            if not part.isdigit():
                where = show_path(parts[:depth])
                raise ScenarioError([f"{source}: {here}: {where} is a list; index it by number"])
            index = int(part)
            if index >= len(node):
                raise ScenarioError(
                    [
                        f"{source}: {here}: {show_path(parts[:depth])} has {len(node)} item(s), "
                        "numbered from 0"
                    ]
                )
            if last:
                node[index] = value
            else:
                node = node[index]
        elif isinstance(node, dict):
            key: Any = part
            if key not in node and part.isdigit() and int(part) in node:
                key = int(part)  # integer keys such as seasonality.by_month.7
            if last:
                node[key] = value
            else:
                if node.get(key) is None:
                    node[key] = {}  # an optional section that was not set: start it
                node = node[key]
        else:
            where = show_path(parts[:depth])
            raise ScenarioError([f"{source}: {here}: {where} is a value ({node!r}), not a section"])


def overridden(scenario: Scenario, paths: Iterable[str]) -> list[bool]:
    """For each uncertainty entry: whether one of ``paths`` sets its field or a section that
    holds it. A value set by hand is known, so ``with_overrides`` drops its entry (otherwise
    a forecast would draw around the old value and ignore the one just set)."""
    if not scenario.uncertainty:
        return []
    given = [p for p in (numbered_parts(scenario, str(x)) for x in paths) if p is not None]
    out = []
    for entry in scenario.uncertainty:
        mine = numbered_parts(scenario, entry.path)
        out.append(mine is not None and any(mine[: len(p)] == p for p in given))
    return out


def with_overrides(
    scenario: Scenario, overrides: Mapping[str, Any], source: str = "overrides"
) -> Scenario:
    """A copy of the scenario with fields set by dotted path, validated like a scenario file.

    Paths are the keys of a scenario file joined by dots; list items by number, as
    ``sources.0.rate_per_week`` or ``sources[0].rate_per_week``. Values are written as in a file
    (``"3 min"`` for a duration). A bad path or value raises the same one-line-per-problem
    ``ScenarioError`` as a bad file, with ``source`` in place of the file name.

    A field set here is known: its ``uncertainty`` entry (or those of a section set whole) is
    dropped, so that a forecast does not draw around the value it had before.
    """
    data = scenario_to_dict(scenario)
    for path, value in overrides.items():
        set_path(data, path, copy.deepcopy(value), source)
    if scenario.uncertainty and not any(str(p).startswith("uncertainty") for p in overrides):
        drop = overridden(scenario, overrides)
        data["uncertainty"] = [e for e, d in zip(data["uncertainty"], drop, strict=True) if not d]
    return scenario_from_dict(data, source)
