"""Parameter uncertainty: draw the values a scenario does not know exactly, once per run.

A scenario fitted from CRM exports holds estimates: a win rate from 40 closed deals, an
arrival rate from a quarter of leads. Replications that hold them fixed vary only by the luck
of the process, so their bands are too narrow whenever an estimate is off. The scenario's
``uncertainty`` section (:class:`UncertainValue`, here) says how far each value may be off;
:func:`simfunnel.experiments.draws.draw_parameters` draws one value per entry and returns the
scenario with them set, and ``simfunnel.simulate(..., draw_parameters=True)`` does so before
each run, on a random stream of its own (``PARAMETER_STREAM``), so that:

- the process streams (arrivals, outcomes, deals) are those of a run without draws: replication
  i with and without draws share their luck as far as the changed values allow;
- the same seed draws the same values, in any worker, on any executor.

Over many replications the spread of a total is then the law of total variance at work:
Var(total) = E[Var(total | values)] (process noise) + Var(E[total | values]) (what is not
known); :meth:`simfunnel.Forecast.variance_split` measures the second's share.

This module holds the entry and how its path resolves to a field, on any validated model: it
sits below ``schema``, whose ``Scenario`` refuses entries that resolve to no number.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, get_args

import annotated_types as at
from pydantic import BaseModel, Field, model_validator
from pydantic.fields import FieldInfo

from .bounds import MAX_LOG, MAX_NAME, MAX_SHAPE, MAX_SIGMA, MAX_TEXT
from .dists import FieldError, Frozen
from .fields import is_duration, members
from .process import OutcomeProbabilities

__all__ = ["Target", "UncertainValue", "UncertaintyPathError", "numbered_parts", "resolve"]

_PATH = re.compile(r"[^.\[\]]+(?:\.[^.\[\]]+|\[[^\]]*\])*")
_TOKEN = re.compile(r"\.?([^.\[\]]+)|\[([^\]]*)\]")


class UncertainValue(Frozen):
    """A value of the scenario that is not known exactly, and how far it may be off. A fitted
    rate is an estimate: from 80 closed deals a win rate of 0.31 could as well be 0.25 or 0.4,
    and runs that hold it fixed give bands of process noise only, too narrow whenever the
    estimate is off. `simfunnel forecast` (and `simulate`/`run` with `draw_parameters=True`)
    draws every entry once per replication, before the run, and runs the process with the
    drawn values, so its bands cover what is not known as well as luck (`--no-parameter-draws`
    holds the values fixed; `Forecast.variance_split()` says how much of the spread each
    makes). `simfunnel fit` writes an entry for each arrival rate and conversion it fitted from
    data; add one by hand for a value known only roughly, e.g. `{path: ae.win.probability, dist:
    beta, a: 25.5, b: 55.5, basis: 25 won of 80 closed}`. A draw outside the field's bounds is
    clipped into them (a drawn qualification rate of 1.2 is 1, a strict bound is approached
    from inside), and a gamma or lognormal entry leaves a field that is 0 at 0 (switched off);
    a drawn outcome probability scales the other four so that the five still sum
    to 1, and a drawn `ae.lost_reasons` share scales the other reasons likewise. Entries are
    drawn in order on a random stream of their own: the same seed draws the same values, and
    the streams of arrivals, outcomes and deals are those of a run without draws. A field set
    with `--set` or an override is known: its entry is dropped.
    """

    path: str = Field(
        min_length=1,
        max_length=MAX_NAME,
        description="The field, as a dotted path the way `--set` writes it: `ae.win.probability`, "
        "`sources[web].rate_per_week` (a source by name or by number, `sources[0]`). It must "
        "name a number (a rate, probability, share, multiplier; a duration in hours), not a "
        "count, a section or a distribution, and be named by one entry only.",
    )
    dist: Literal["beta", "gamma", "lognormal"] = Field(
        description="'beta' (shapes a and b, mean a / (a + b); only for a probability or "
        "share, a field bounded by 0 and 1), 'gamma' (shape a, rate b; mean a / b) or "
        "'lognormal' (the log of the value is normal with mean a and sd b; median exp(a)).",
    )
    a: float = Field(
        ge=-MAX_SHAPE,
        le=MAX_SHAPE,
        description="The first parameter: beta's first shape or gamma's shape, above 0; or the "
        "lognormal's mu, the log of the median, any sign, within +-100.",
        json_schema_extra={"unit": "as dist"},
    )
    b: float = Field(
        gt=0,
        le=MAX_SHAPE,
        description="The second parameter, above 0: beta's second shape, gamma's rate, or the "
        "lognormal's sigma (the relative standard error, for a small one), at most 10.",
        json_schema_extra={"unit": "as dist"},
    )
    basis: str = Field(
        max_length=MAX_TEXT,
        description="What the spread rests on, e.g. '25 won of 80 closed, beta(k + 0.5, "
        "n - k + 0.5)'.",
    )

    @model_validator(mode="after")
    def _parameters(self) -> UncertainValue:
        if self.dist in ("beta", "gamma") and not self.a > 0:
            raise FieldError(("a",), f"must be above 0 for a {self.dist}", self.a)
        if self.dist == "lognormal":
            if abs(self.a) > MAX_LOG:
                raise FieldError(("a",), f"a lognormal's mu must be within +-{MAX_LOG:g}", self.a)
            if self.b > MAX_SIGMA:
                raise FieldError(
                    ("b",), f"a lognormal's sigma must be at most {MAX_SIGMA:g}", self.b
                )
        return self


class UncertaintyPathError(ValueError):
    """A path that does not name a number of the scenario; the message says why."""


@dataclass(frozen=True)
class Target:
    """The field an uncertainty path names: where it is, its value and its bounds."""

    path: str  # dotted, list items by number, as with_overrides takes it: sources.0.rate_per_week
    value: float
    low: float  # the least value the field accepts (a strict bound moved just inside)
    high: float
    probability: bool  # bounded by 0 and 1: a probability or a share
    duration: bool  # a duration, in hours (written back as '<hours> h')
    group: tuple[str, ...] = ()  # other fields that must sum to 1 with it (outcomes, reasons)
    bounds_text: str = ""

    def clip(self, x: float) -> float:
        """``x`` moved into the field's bounds (and into the finite floats)."""
        return float(min(max(x, self.low), self.high))


# --------------------------------------------------------------------------- paths


def _tokens(path: str) -> list[str | tuple[str]]:
    """``sources[web].rate_per_week`` -> ``[sources, (web,), rate_per_week]``: a bracketed
    part as a 1-tuple (a list item by number or by name), a dotted part as text."""
    text = path.strip()
    if not _PATH.fullmatch(text):
        raise UncertaintyPathError(
            "not a field path; write it like ae.win.probability or sources[web].rate_per_week"
        )
    return [key if key else (item,) for key, item in _TOKEN.findall(text)]


def _item(items: tuple[Any, ...], token: str | tuple[str], where: str) -> int:
    """The index a list part names: a number, or (in brackets) an item's name."""
    text = token[0].strip() if isinstance(token, tuple) else token
    if text.isdigit():
        if int(text) >= len(items):
            raise UncertaintyPathError(f"{where} has {len(items)} item(s), numbered from 0")
        return int(text)
    names = [getattr(x, "name", None) for x in items]
    if isinstance(token, tuple) and text in names:
        return names.index(text)
    known = ", ".join(str(n) for n in names if n is not None)
    raise UncertaintyPathError(
        f"{where} has no item {text!r}" + (f" (names: {known})" if known else "")
    )


def _show(parts: Iterable[str]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else ("." if out else "") + part
    return out


def _flat_meta(meta: Iterable[Any]) -> list[Any]:
    """Constraints of an annotation, FieldInfos opened up (``Annotated[float, Field(...)]``)."""
    out: list[Any] = []
    for m in meta:
        out.extend(_flat_meta(m.metadata) if isinstance(m, FieldInfo) else [m])
    return out


def _bounds(meta: list[Any]) -> tuple[float, float, bool, str]:
    """Closed bounds from ge/gt/le/lt constraints, whether they are 0 and 1, and as text.

    Bounds that are not numbers are not the bounds of a number: they are passed over."""
    low, high = -sys.float_info.max, sys.float_info.max
    lo_text, hi_text, lo0, hi1 = "", "", False, False
    for m in meta:
        if isinstance(m, at.Ge) and isinstance(m.ge, int | float):
            low, lo_text, lo0 = float(m.ge), f">= {m.ge:g}", m.ge == 0
        elif isinstance(m, at.Gt) and isinstance(m.gt, int | float):
            low, lo_text, lo0 = math.nextafter(float(m.gt), math.inf), f"> {m.gt:g}", m.gt == 0
        elif isinstance(m, at.Le) and isinstance(m.le, int | float):
            high, hi_text, hi1 = float(m.le), f"<= {m.le:g}", m.le == 1
        elif isinstance(m, at.Lt) and isinstance(m.lt, int | float):
            high, hi_text, hi1 = math.nextafter(float(m.lt), -math.inf), f"< {m.lt:g}", m.lt == 1
    text = ", ".join(t for t in (lo_text, hi_text) if t) or "none"
    return low, high, lo0 and hi1, text


def _unwrap(tp: Any) -> tuple[Any, list[Any]]:
    found = members(tp)
    return found[0] if len(found) == 1 else (tp, [])


def resolve(scenario: BaseModel, path: str) -> Target:
    """The number ``path`` names in ``scenario`` (or any validated model), with its bounds; raises
    :class:`UncertaintyPathError` saying why when it names no number (no such field, a
    count, a section, a distribution, an optional section that is not set)."""
    tokens = _tokens(path)
    node: Any = scenario
    tp: Any = type(scenario)
    meta: list[Any] = []
    parts: list[str] = []
    parent: Any = None
    for token in tokens:
        where = _show(parts) or "the scenario"
        parent = node
        if isinstance(node, BaseModel):
            name = token[0] if isinstance(token, tuple) else token
            fields = type(node).model_fields
            key = next((n for n, f in fields.items() if name in (n, f.alias)), None)
            if key is None or isinstance(token, tuple):
                raise UncertaintyPathError(f"{where} has no field {name!r}")
            info = fields[key]
            tp, meta = _unwrap(info.annotation)
            meta = [*info.metadata, *meta]
            node = getattr(node, key)
            parts.append(info.alias or key)
        elif isinstance(node, tuple):
            index = _item(node, token, where)
            args = get_args(tp)
            tp, meta = _unwrap(args[0]) if args else (Any, [])
            node = node[index]
            parts.append(str(index))
        elif isinstance(node, dict):
            text = token[0] if isinstance(token, tuple) else token
            dict_key = text if text in node else (int(text) if text.isdigit() else None)
            if dict_key not in node:
                raise UncertaintyPathError(
                    f"{where} has no key {text!r} (keys: {', '.join(map(str, node)) or 'none'})"
                )
            args = get_args(tp)
            tp, meta = _unwrap(args[1]) if len(args) == 2 else (Any, [])
            node = node[dict_key]
            parts.append(str(dict_key))
        else:
            raise UncertaintyPathError(f"{where} is a value ({node!r}), not a section")
        if node is None:
            raise UncertaintyPathError(f"{_show(parts)} is not set in this scenario")
    shown = _show(parts)
    if isinstance(node, BaseModel):
        what = "a distribution" if "dist" in type(node).model_fields else "a section"
        raise UncertaintyPathError(f"{shown} is {what}, not a number")
    if isinstance(node, bool) or not isinstance(node, float) or tp is not float:
        kind = "a whole number (a count)" if isinstance(node, int) else f"not a number ({node!r})"
        raise UncertaintyPathError(f"{shown} is {kind}; only a number can be drawn")
    flat = _flat_meta(meta)
    low, high, probability, text = _bounds(flat)
    group: tuple[str, ...] = ()
    base = ".".join(parts[:-1])
    if isinstance(parent, OutcomeProbabilities):
        group = tuple(f"{base}.{k}" for k in type(parent).model_fields if k != parts[-1])
    elif isinstance(parent, dict) and parts[-2:-1] == ["lost_reasons"]:
        group = tuple(f"{base}.{k}" for k in parent if str(k) != parts[-1])
    return Target(
        path=".".join(parts),
        value=float(node),
        low=low,
        high=high,
        probability=probability,
        duration=is_duration(flat),
        group=group,
        bounds_text=text,
    )


def numbered_parts(scenario: BaseModel, path: str) -> tuple[str, ...] | None:
    """A path's parts with list items by number (names looked up), without requiring that it
    name a number; None when it cannot be read."""
    try:
        tokens = _tokens(path)
    except UncertaintyPathError:
        return None
    node: Any = scenario
    parts: list[str] = []
    for token in tokens:
        text = token[0] if isinstance(token, tuple) else token
        if isinstance(node, tuple):
            try:
                index = _item(node, token, "")
            except UncertaintyPathError:
                return None
            parts.append(str(index))
            node = node[index]
        else:
            parts.append(text.strip())
            if isinstance(node, BaseModel):
                node = getattr(node, text, None)
            elif isinstance(node, dict):
                node = node.get(text, node.get(int(text)) if text.isdigit() else None)
            else:
                node = None
    return tuple(parts)
