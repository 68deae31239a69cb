"""Render ``docs/scenarios.md`` from the scenario schema, so the reference cannot drift from the code.

Every row of the reference (type, unit, default, constraints, description) is read from the
pydantic models of :mod:`simfunnel.scenario`; the examples on the page
are validated, and the error messages and Erlang C figures on it are computed, while rendering.
A field without a description, or a model without a docstring, stops the rendering: an
undocumented field is a bug.

``python tools/docgen.py`` writes the page; ``python tools/docgen.py --check`` exits 1 if
the committed page differs from what the schema renders (``make docs`` regenerates it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import inspect
import json
import re
import sys
import types
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel, BeforeValidator
from pydantic.fields import FieldInfo

from simfunnel.base.units import _UNITS, MAX_DURATION, MAX_YEARS, WEEK, parse_duration
from simfunnel.decisions.queueing import erlang_c, mmc_mean_wait
from simfunnel.scenario import Scenario, ScenarioError, bounds, dists, limits, parse_scenario
from simfunnel.scenario import load as scenario_io

DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "scenarios.md"
DURATION_UNIT = "duration, e.g. '15 min'"
PROBABILITY_UNIT = "probability 0-1"
NO_UNIT = "—"
COLUMNS = ("field", "type", "unit", "default", "constraints", "description")

# ----------------------------------------------------------------------------- examples
# Each is validated while rendering; tests/project/test_docs.py loads them again from the page.

MINIMAL_YAML = """\
start_date: 2026-01-05            # a Monday: the clock starts at its midnight
horizon: 13 weeks
sources:
  - name: web_form
    rate_per_week: 200            # Poisson arrivals, shaped by office hours
    score: {mean: 50, sd: 15}
scoring:
  threshold: 60                   # leads scoring 60 or more are MQLs
sdr:
  headcount: 2
cadence:
  connect_probability: 0.4
  contact_probability: 0.5
outcomes:
  probabilities:                  # must sum to 1
    qualified: 0.35
    information_gathering: 0.25
    postponed: 0.10
    no_prospect: 0.25
    do_not_call: 0.05
ae:
  acceptance: {probability: 0.7}
  sales_cycle: {dist: lognormal, median: 45 days, p90: 90 days}
  win: {probability: 0.25}
  deal_value: 10000               # currency; a plain number is a fixed value
"""

MMC_YAML = """\
name: M/M/5 check
description: Poisson MQLs, one exponential call each, five reps, 24/7.
start_date: 2026-01-05
horizon: 40 weeks
calendar: 24/7                    # no nights, weekends or holidays
sources:
  - name: poisson
    rate_per_week: 672            # lambda = 672 / 168 = 4 MQLs an hour
    score: {mean: 80, sd: 0}      # every lead scores 80 ...
scoring:
  threshold: 0                    # ... so every lead is an MQL
sdr:
  headcount: 5                    # c = 5 servers
  shrinkage: 0                    # on the phones all the time
cadence:
  max_attempts: 1                 # one attempt per lead: one service, no retries
  connect_probability: 1
  contact_probability: 1          # every attempt reaches the person
  durations:
    no_connect: 0 min
    connect: 0 min
    conversation: {dist: exponential, mean: 1 h}    # mu = 1 call an hour
    after_call_work: 0 min
speed_to_lead:
  enabled: false                  # waiting does not change the odds
outcomes:                         # every contact ends the lead: nobody comes back
  probabilities: {qualified: 0, information_gathering: 0, postponed: 0, no_prospect: 1, do_not_call: 0}
ae:                               # required, but no lead reaches the AEs
  acceptance: {probability: 1}
  sales_cycle: 30 days
  win: {probability: 1}
  deal_value: 0
"""

# One fragment per distribution form; each is merged into MINIMAL_YAML to validate it.
DIST_EXAMPLES: dict[str, str] = {
    "fixed": """\
cadence:
  durations:
    after_call_work: 2 min                    # shorthand for {dist: fixed, value: 2 min}
    no_connect: {dist: fixed, value: 90 s}    # written out
ae:
  deal_value: 10000                           # an amount: a plain number
""",
    "exponential": """\
cadence:
  durations:
    conversation: {dist: exponential, mean: 10 min}
""",
    "lognormal": """\
ae:
  sales_cycle: {dist: lognormal, median: 57 days, p90: 106 days}   # from a CRM export
  deal_value: {dist: lognormal, mean: 15000, cv: 1.2}              # from a mean and a spread
""",
    "gamma": """\
ae:
  meeting_delay: {dist: gamma, mean: 3 days, cv: 0.5}
""",
    "empirical": """\
cadence:
  durations:
    conversation: {dist: empirical, values: [4 min, 9 min, 15 min, 30 min], weights: [4, 3, 2, 1]}
""",
}

# A broken copy of MINIMAL_YAML: (original line, broken line). Its messages are computed.
BROKEN_EDITS = (
    ("  headcount: 2", "  headcont: 2"),
    ("  connect_probability: 0.4", "  connect_probability: 1.5"),
    ("  sales_cycle: {dist: lognormal, median: 45 days, p90: 90 days}", "  sales_cycle: 45"),
)


# ----------------------------------------------------------------------------- schema walk


@dataclass(frozen=True)
class TypeDoc:
    """How one annotation reads on the page: its name, derived unit, constraints and values."""

    name: str
    unit: str
    constraints: tuple[str, ...] = ()
    render: Callable[[Any], str] = str


@dataclass(frozen=True)
class Row:
    """One field in a reference table; ``target`` is the section a nested model is described in."""

    path: str
    type: str
    unit: str
    default: str
    constraints: str
    description: str
    target: type[BaseModel] | None = None


@dataclass
class Section:
    """One model: where it is mounted in a scenario file, and one row per field per mount."""

    model: type[BaseModel]
    mounts: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)

    @property
    def title(self) -> str:
        if self.model is Scenario:
            return "Top level"
        return ", ".join(f"`{m}`" for m in self.mounts)


@dataclass
class Schema:
    """Everything the page needs from the models, gathered in one walk from ``Scenario``."""

    sections: list[Section]
    forms: dict[str, list[type[BaseModel]]]  # distribution tag -> its parametrised models
    dist_fields: dict[str, list[str]]  # "durations" / "numbers" -> field paths


def _unwrap(tp: Any) -> tuple[Any, list[Any]]:
    """Strip ``Annotated`` layers, keeping their constraints (nested FieldInfos flattened)."""
    meta: list[Any] = []
    while get_origin(tp) is Annotated:
        base, *extra = get_args(tp)
        for item in extra:
            meta.extend(item.metadata if isinstance(item, FieldInfo) else [item])
        tp = base
    return tp, meta


def _render_dist_default(value: Any) -> str:
    """A distribution default as a user writes it: ``{dist: exponential, mean: 4 weeks}``."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
    return str(value)


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _union_members(tp: Any) -> list[Any] | None:
    if get_origin(tp) in (Union, types.UnionType):
        return [a for a in get_args(tp) if a is not type(None)]
    return None


def _is_duration(meta: Iterable[Any]) -> bool:
    return any(isinstance(m, BeforeValidator) and m.func is parse_duration for m in meta)


def _origin(model: type[BaseModel]) -> type[BaseModel]:
    """The generic class behind a parametrised one (``Fixed[Duration]`` -> ``Fixed``)."""
    return model.__pydantic_generic_metadata__["origin"] or model


def _dist_kind(members: Sequence[type[BaseModel]]) -> str:
    """'durations' or 'numbers': what the value type of a distribution union is."""
    (value_type,) = members[0].__pydantic_generic_metadata__["args"]
    return "durations" if _is_duration(_unwrap(value_type)[1]) else "numbers"


def _tag(model: type[BaseModel]) -> str:
    (tag,) = get_args(model.model_fields["dist"].annotation)
    return str(tag)


def _num(value: float) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    text = repr(float(value))
    return text.removesuffix(".0")


def format_hours(hours: float) -> str:
    """A duration in hours as the shortest exact text a scenario accepts ('90 days', '1.5 min')."""
    days, minutes = round(hours / 24, 9), round(hours * 60, 9)
    if hours >= 24 and days.is_integer():
        return "1 day" if days == 1 else f"{int(days)} days"
    if hours >= 1 and round(hours, 9).is_integer():
        return f"{round(hours)} h"
    if hours < 1:
        return f"{_num(minutes)} min"
    return f"{_num(hours)} h"


def _bounds(meta: Iterable[Any], fmt: Callable[[float], str]) -> tuple[str, ...]:
    """Numeric bounds as text, keeping only the tightest (a duration field's ge=0 and gt=0: '> 0')."""
    lower: list[tuple[float, bool]] = []
    upper: list[tuple[float, bool]] = []
    for m in meta:
        if isinstance(m, at.Ge):
            lower.append((m.ge, False))
        elif isinstance(m, at.Gt):
            lower.append((m.gt, True))
        elif isinstance(m, at.Le):
            upper.append((m.le, False))
        elif isinstance(m, at.Lt):
            upper.append((m.lt, True))
    out: list[str] = []
    if lower:
        value = max(v for v, _ in lower)
        strict = any(s for v, s in lower if v == value)
        out.append(f"{'>' if strict else '>='} {fmt(value)}")
    if upper:
        value = min(v for v, _ in upper)
        strict = any(s for v, s in upper if v == value)
        out.append(f"{'<' if strict else '<='} {fmt(value)}")
    return tuple(out)


def _lengths(meta: Iterable[Any], noun: str) -> tuple[str, ...]:
    out: list[str] = []
    for m in meta:
        if isinstance(m, at.MinLen) and m.min_length > 0:
            if noun == "character" and m.min_length == 1:
                out.append("not empty")
            else:
                out.append(f"at least {m.min_length} {noun}{'s' if m.min_length > 1 else ''}")
        elif isinstance(m, at.MaxLen):
            out.append(f"at most {m.max_length} {noun}s")
    return tuple(out)


def _zero_or_hours(hours: float) -> str:
    return "0" if hours == 0 else format_hours(hours)


def type_doc(tp: Any, meta: Sequence[Any] = ()) -> TypeDoc:
    """Describe an annotation (with the constraints pydantic moved into ``meta``)."""
    tp, extra = _unwrap(tp)
    meta = [*meta, *extra]
    members = _union_members(tp)
    if members is not None:
        if len(members) == 1:  # Optional[X]: "not set" is rendered by the default column
            return type_doc(members[0], meta)
        if all(_is_model(m) for m in members):
            kind = _dist_kind(members)
            unit = DURATION_UNIT if kind == "durations" else NO_UNIT
            return TypeDoc(f"distribution of {kind}", unit, (), _render_dist_default)
        raise TypeError(f"cannot document the union {tp!r}")
    origin, args = get_origin(tp), get_args(tp)
    if _is_duration(meta):
        return TypeDoc("duration", DURATION_UNIT, _bounds(meta, _zero_or_hours), format_hours)
    if tp is bool:
        return TypeDoc("true/false", NO_UNIT, (), lambda v: "true" if v else "false")
    if origin is Literal:
        return TypeDoc("choice", NO_UNIT, ("one of " + ", ".join(f"`{a}`" for a in args),), str)
    if tp is int:
        return TypeDoc("integer", "count", _bounds(meta, _num), _num)
    if tp is float:
        bounds = _bounds(meta, _num)
        unit = PROBABILITY_UNIT if bounds == (">= 0", "<= 1") else NO_UNIT
        return TypeDoc("number", unit, bounds, _num)
    if tp is str:
        return TypeDoc("text", NO_UNIT, _lengths(meta, "character"), json.dumps)
    if tp is dt.datetime:
        unit = "'YYYY-MM-DD HH:MM', or YYYY-MM-DD for midnight"
        return TypeDoc("date-time", unit, (), lambda v: v.isoformat(sep=" ", timespec="minutes"))
    if tp is dt.date:
        return TypeDoc("date", "YYYY-MM-DD", (), lambda v: v.isoformat())
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        lengths = _lengths(meta, "item")
        if _is_model(_unwrap(args[0])[0]):  # only ever rendered empty, as a default
            return TypeDoc("list of sections", NO_UNIT, lengths, lambda v: "[]" if not v else "...")
        inner = type_doc(args[0])
        return TypeDoc(
            f"list of {inner.name}s",
            inner.unit,
            (*lengths, *(f"each {c}" for c in inner.constraints)),
            lambda v: "[" + ", ".join(inner.render(x) for x in v) + "]",
        )
    if origin is dict:
        key, value = (type_doc(a) for a in args)
        return TypeDoc(
            f"mapping {key.name} -> {value.name}",
            f"{key.unit} -> {value.unit}",
            (*(f"keys {c}" for c in key.constraints), *(f"values {c}" for c in value.constraints)),
            lambda v: (
                "{" + ", ".join(f"{key.render(k)}: {value.render(x)}" for k, x in v.items()) + "}"
            ),
        )
    if _is_model(tp):
        return TypeDoc("section", NO_UNIT)
    raise TypeError(f"cannot document the type {tp!r}")


def _unit(name: str, info: FieldInfo, doc: TypeDoc) -> str:
    """Explicit ``json_schema_extra={"unit": ...}`` first, then the type's, then the name's."""
    extra = info.json_schema_extra
    if isinstance(extra, dict) and extra.get("unit"):
        return str(extra["unit"])
    if doc.unit != NO_UNIT:
        return doc.unit
    if name.endswith("_per_week"):
        return "per week"
    return NO_UNIT


def _default(info: FieldInfo, doc: TypeDoc) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "section defaults"
    if value is None:
        return "not set"
    return f"`{doc.render(value)}`"


def _row(path: str, name: str, info: FieldInfo, owner: type[BaseModel]) -> Row:
    if not info.description:
        raise ValueError(f"{owner.__name__}.{name} has no description: document it in the Field")
    doc = type_doc(info.annotation, info.metadata)
    return Row(
        path=path,
        type=doc.name,
        unit=_unit(name, info, doc),
        default=_default(info, doc),
        constraints=", ".join(doc.constraints) or NO_UNIT,
        description=info.description,
    )


def _nested_model(tp: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model a field holds, and whether it holds a list of them."""
    tp, _ = _unwrap(tp)
    members = _union_members(tp)
    if members is not None and len(members) == 1:  # an optional section
        tp = _unwrap(members[0])[0]
    if _is_model(tp):
        return tp, False
    args = get_args(tp)
    if get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis:
        inner = _unwrap(args[0])[0]
        if _is_model(inner):
            return inner, True
    return None, False


def collect(root: type[BaseModel] = Scenario) -> Schema:
    """Walk the models from ``root``: one section per model, one form per distribution tag."""
    sections: dict[type[BaseModel], Section] = {}
    forms: dict[str, list[type[BaseModel]]] = {}
    dist_fields: dict[str, list[str]] = {"durations": [], "numbers": []}

    def walk(model: type[BaseModel], prefix: str, mount: str) -> None:
        if not (model.__doc__ or "").strip():  # not inspect.getdoc: that inherits Frozen's
            raise ValueError(f"{model.__name__} has no docstring: say what the section is for")
        section = sections.setdefault(model, Section(model))
        section.mounts.append(mount)
        for name, info in model.model_fields.items():
            path = prefix + (info.alias or name)
            row = _row(path, name, info, model)
            nested, is_list = _nested_model(info.annotation)
            members = _union_members(_unwrap(info.annotation)[0])
            if nested is not None:
                row = Row(**{**row.__dict__, "target": nested})
                section.rows.append(row)
                walk(nested, path + ("[]." if is_list else "."), path + ("[]" if is_list else ""))
            elif members and all(_is_model(m) for m in members):
                section.rows.append(row)
                dist_fields[_dist_kind(members)].append(path)
                for member in members:
                    forms.setdefault(_tag(member), []).append(member)
            else:
                section.rows.append(row)

    walk(root, "", "")
    return Schema(list(sections.values()), forms, dist_fields)


def form_rows(models: Sequence[type[BaseModel]]) -> list[Row]:
    """One distribution form's fields; a cell that differs by value type reads 'as the field'."""
    variants = [
        [_row(info.alias or n, n, info, m) for n, info in m.model_fields.items()] for m in models
    ]
    rows: list[Row] = []
    for cells in zip(*variants, strict=True):
        first = cells[0]
        if all(c == first for c in cells):
            rows.append(first)
            continue
        types_ = sorted({c.type for c in cells}, key=lambda t: "duration" not in t)
        constraints = sorted({c.constraints for c in cells})
        rows.append(
            Row(
                path=first.path,
                type=" or ".join(types_) + ", as the field",
                unit="as the field",
                default=first.default,
                constraints="; ".join(constraints),
                description=first.description,
            )
        )
    return rows


# ----------------------------------------------------------------------------- rendering


def slug(title: str) -> str:
    """The anchor GitHub gives a heading."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(rows: Iterable[Row], anchors: dict[type[BaseModel], str]) -> list[str]:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        kind = f"[{r.type}](#{anchors[r.target]})" if r.target is not None else r.type
        cells = (f"`{r.path}`", kind, r.unit, r.default, r.constraints, r.description)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines


def _yaml_block(text: str, marker: str | None = None) -> list[str]:
    head = [f"<!-- {marker} -->"] if marker else []
    return [*head, "```yaml", *text.rstrip("\n").split("\n"), "```"]


def _paragraph(doc: str | None) -> str:
    """A docstring's first paragraph on one line, its reST roles and literals made Markdown."""
    text = " ".join(inspect.cleandoc(doc or "").split("\n\n")[0].split())
    text = re.sub(r":\w+:`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def _unit_spellings() -> list[str]:
    groups: dict[float, list[str]] = {}
    for name, factor in _UNITS.items():
        groups.setdefault(factor, []).append(f"`{name}`")
    return [", ".join(names) for names in groups.values()]


def _broken_example() -> tuple[list[str], list[str]]:
    """The broken lines, and the problems the loader reports for them (computed, not copied)."""
    lines = MINIMAL_YAML.split("\n")
    for old, new in BROKEN_EDITS:
        if lines.count(old) != 1:
            raise ValueError(f"broken example: {old!r} is not a line of the minimal example")
        lines[lines.index(old)] = new
    try:
        parse_scenario("\n".join(lines), source="bad.yaml")
    except ScenarioError as exc:
        return [new for _, new in BROKEN_EDITS], exc.problems
    raise ValueError("the broken example unexpectedly validates")


def _intro(schema: Schema) -> list[str]:
    top = schema.sections[0]
    structure = [
        f"- `{r.path}`{'' if r.default == 'required' else ' (optional)'}: {r.description}"
        for r in top.rows
    ]
    broken, problems = _broken_example()
    return [
        "# Scenario reference",
        "",
        "<!-- Generated by `python -m simfunnel.docgen` (`make docs`) from the field descriptions in",
        "     the models in simfunnel/scenario/. Do not edit by hand. -->",
        "",
        "A scenario is one YAML file that describes a funnel: when reps work, where leads come from,",
        "who is an MQL, the SDR team and its call cadence, how leads go cold, what happens after a",
        "contact, and the AE stage. Check a file with `simfunnel validate FILE`; load it in Python with",
        "`simfunnel.load_scenario(path)`. Every field, its unit and its default are below; the tables",
        "are generated from the schema, so they are the same rules the loader applies.",
        "",
        "## How a file is structured",
        "",
        "The top level holds a few plain keys and one section per part of the funnel:",
        "",
        *structure,
        "",
        "A field marked *required* must be given; every other field has the default shown, and a",
        "section whose fields all have defaults may be left out. Keys are exactly those listed: an",
        "unknown key (a typo, usually) and a key given twice are errors, never silently ignored. The",
        "file is plain data: YAML tags such as `!!python/object` are refused.",
        "",
        "In the tables, a *field* is written as its path from the top of the file: `sdr.headcount` is",
        "`headcount` inside `sdr`, and `sources[].rate_per_week` is `rate_per_week` in every item of",
        "the `sources` list. *section defaults* means the section's own defaults apply; *not set*",
        "means the field is optional and has no value unless given.",
        "",
        "## Units",
        "",
        "- **Durations** are a number and a unit, such as `15 min`, `2 h`, `3 days` or `52 weeks`;",
        "  the simulation clock counts hours. A bare number is an error (except `0`), because",
        '  "30" could be minutes or days and that mistake would silently ruin a capacity model.',
        "  Accepted units (any case):",
        *(f"  - {spellings}" for spellings in _unit_spellings()),
        "- **Rates**: `sources[].rate_per_week` is the mean number of leads per week (Poisson",
        "  arrivals), spread over the week by `office_hours_share` and scaled by seasonality;",
        "  bursts add exact counts on top.",
        "- **Probabilities and shares** are numbers from 0 to 1: write `0.45`, not `45%` or `45`.",
        "- **Multipliers** (seasonality, speed-to-lead decay) are plain factors: 1 changes nothing.",
        "- **Scores** are points on the marketing-automation tool's scale (0-100 unless",
        "  `score.min`/`score.max` say otherwise); the MQL threshold is on the same scale.",
        "- **Quality** is a latent lead quality on a log-odds scale (0 = the reference lead, spread",
        "  `quality.sd`); a `quality_effect` is the log-odds shift per unit of quality.",
        "- **Money** (`ae.deal_value`) is a plain number in whatever currency you report in.",
        "- **Dates** are `YYYY-MM-DD`; a date and time is `YYYY-MM-DD HH:MM`.",
        "",
        "## How errors are reported",
        "",
        "The loader checks the whole file and reports every problem at once, one line each, naming",
        "the file and the field path: `FILE: field.path: message (got VALUE)`. `simfunnel validate`",
        "and `simfunnel run` print the lines on standard error and exit with code 2; in Python,",
        "`load_scenario` raises `simfunnel.ScenarioError`, whose `problems` attribute is the list of",
        "lines. For example, the minimal example below with these lines changed:",
        "",
        *_yaml_block("\n".join(broken)),
        "",
        "gives:",
        "",
        "```",
        *problems,
        "```",
        "",
        "An unknown key gets a *did you mean* hint; a missing required field, a value out of range",
        "or a duration without a unit names the field; checks across fields (outcome probabilities",
        "that must sum to 1, a burst outside the simulated period) name the field they belong to.",
        "",
        "## A complete minimal example",
        "",
        "Only the required fields; everything else takes its default.",
        "",
        *_yaml_block(MINIMAL_YAML, "scenario: minimal"),
        "",
        "Two fuller, commented scenarios are in `scenarios/`.",
    ]


def _limits() -> list[str]:
    """The bounds of the schema, the file and the run, from the constants the code applies."""
    s, d = bounds, dists
    days = round(MAX_DURATION / 24)
    rows = [
        (
            "any number",
            "finite: `.nan` and `.inf` are refused everywhere",
            "a NaN compares false with everything and an infinity cannot be drawn from",
        ),
        (
            "a whole number (headcounts, counts)",
            "a number, not `true` or `false`",
            "YAML reads `true` as a boolean and Python counts it as 1",
        ),
        (
            "dates (`start_date`, holidays, plan dates, bursts)",
            f"from {s.MIN_DATE} to {s.MAX_DATE}; a burst's time without a time zone",
            "year 1 or 9999 is a typo, and the calendar arithmetic stays in range",
        ),
        (
            "the `horizon`, and any duration",
            f"at most {MAX_YEARS} years ({days} days)",
            "longer means never",
        ),
        (
            "the `warm_up`",
            f"at most {s.MAX_WARM_UP_WEEKS} weeks",
            "a warm-up fills queues in months",
        ),
        (
            "gaps between touches (`cadence.gaps`)",
            "each at least 1 min",
            "a zero gap retries at the same instant",
        ),
        (
            "mean `email_reply_after` and `outbound.research`",
            "at least 1 min",
            "instant work could loop at one moment",
        ),
        (
            "the mean of `nurture.engagement_every`",
            "at least 1 h, and at most "
            f"{s.MAX_ENGAGEMENTS:,} engagements within `age_out` for a lead 4 sd above its "
            "source's mean quality",
            "each engagement is one step of every nurture path",
        ),
        (
            "lead sources",
            f"at most {s.MAX_SOURCES:,}, each with at most {s.MAX_BURSTS:,} bursts",
            "validation and arrivals are per source",
        ),
        (
            "a source's `rate_per_week`",
            f"at most {s.MAX_RATE:,} leads a week per source",
            "and the whole run must fit in memory (below)",
        ),
        ("a burst", f"at most {s.MAX_BURST:,} leads", "as the rates"),
        ("seasonality multipliers", f"at most {s.MAX_MULTIPLIER:g}", "a season, not a flood"),
        (
            "the MQL threshold (`scoring.threshold`)",
            "from the lowest `score.min` to the highest `score.max` of the sources",
            "outside it every lead, or none, is an MQL",
        ),
        (
            "score points (`score`, `nurture` points)",
            f"within +-{s.MAX_SCORE:,.0f}",
            "a score scale",
        ),
        (
            "quality `mean` and `sd` (also `icp_fit`)",
            f"within +-{s.MAX_QUALITY_MEAN:g}, sd at most {s.MAX_QUALITY_SD:g}",
            "the odds exp(effect x quality) stay finite",
        ),
        (
            "quality effects",
            f"within +-{s.MAX_QUALITY_EFFECT:g} (nurture: "
            f"+-{s.MAX_NURTURE_EFFECT:g}); `ae.wait_effect` from -{s.MAX_QUALITY_EFFECT:g} to 0",
            "as above",
        ),
        (
            "headcounts, hires and leaves on one date",
            f"at most {s.MAX_HEADCOUNT:,}; a plan of at most {s.MAX_PLAN:,} changes",
            "each rep is a process with its own shifts",
        ),
        (
            "attrition (`attrition_per_year`)",
            f"at most {s.MAX_ATTRITION:g}",
            "a mean tenure of a month",
        ),
        (
            "outbound accounts",
            f"at most {s.MAX_ACCOUNTS:,} at the start and {s.MAX_ACCOUNTS_PER_MONTH:,} a month",
            "as the rates",
        ),
        ("touches of a cadence, callbacks, follow-ups", f"at most {s.MAX_ATTEMPTS}", "a cadence"),
        ("money (deal values, costs)", f"at most {d.MAX_AMOUNT:,}", "sums stay finite"),
        (
            "lognormal",
            f"p90 at most {d.MAX_P90_RATIO:g} x the median; cv at most {d.MAX_CV:g}",
            "a wider spread overflows the mean",
        ),
        ("gamma", f"cv from 0.001 to {d.MAX_CV:g}", "as lognormal"),
        (
            "empirical",
            f"at most {d.MAX_VALUES:,} values, weights at most {d.MAX_WEIGHT:,.0f}",
            "as the file size",
        ),
        (
            "names; the `description`",
            f"at most {s.MAX_NAME} characters; {s.MAX_TEXT:,}",
            "names are labels in results",
        ),
    ]
    io = scenario_io
    return [
        "## Limits",
        "",
        "Every bound follows from what the field means; each is in the field's row below (in",
        "*constraints*, or in the description), and a value outside it is refused with the bound",
        "in the error line.",
        "",
        "| what | limit | why |",
        "|---|---|---|",
        *(f"| {what} | {limit} | {why} |" for what, limit, why in rows),
        "",
        f"**The file.** At most {io.MAX_FILE_BYTES >> 20} MiB of YAML text: UTF-8, with or without a",
        "byte-order mark, or UTF-16 or UTF-32 with one. A binary file, UTF-16 without a byte-order",
        "mark and any other encoding are refused, naming the byte and its offset. Mappings and",
        f"lists nest at most {io.MAX_DEPTH} levels deep, and the file may expand to at most "
        f"{io.MAX_NODES:,} values",
        "once aliases (`*name`) are expanded. A key is a plain name or number, never a mapping or",
        f"a list. At most {io.MAX_PROBLEMS} problems are listed, one per line; the rest are counted.",
        "",
        "**The run.** A valid scenario can still be too big for the machine. Before anything is",
        "allocated, `simfunnel.simulate` estimates the run from the scenario (the leads the rates,",
        "seasonality and bursts bring over warm-up and horizon, the outbound accounts, the reps and",
        f"their days) at {limits.BYTES_PER_LEAD} bytes per lead or account "
        f"({limits.BYTES_PER_TRACED_LEAD:,} with `trace=True`) and "
        f"{limits.BYTES_PER_REP_DAY} bytes",
        "per rep and day, and refuses a run above "
        f"{limits.format_size(limits.DEFAULT_MAX_MEMORY)} with one line naming the fields that",
        'drive it. Raise the limit with `simulate(scenario, max_memory="16GiB")`, with the',
        f"environment variable `{limits.MAX_MEMORY_ENV}=16GiB` (or `unlimited`), or with the "
        "command",
        "line's `--max-memory 16GiB`.",
    ]


def _reference(schema: Schema, anchors: dict[type[BaseModel], str]) -> list[str]:
    lines = [
        "## Field reference",
        "",
        "One table per section, in file order. Columns: the field's path, its type, its unit, its",
        "default (or *required*), the constraints the loader enforces, and what it means.",
    ]
    for section in schema.sections:
        lines += ["", f"### {section.title}", "", _paragraph(section.model.__doc__), ""]
        lines += _table(section.rows, anchors)
    return lines


def _distributions(schema: Schema) -> list[str]:
    durations = ", ".join(f"`{p}`" for p in schema.dist_fields["durations"])
    numbers = ", ".join(f"`{p}`" for p in schema.dist_fields["numbers"])
    lines = [
        "## Distributions",
        "",
        "Random durations and amounts take a distribution:",
        "",
        f"- durations: {durations};",
        f"- amounts (plain numbers): {numbers}.",
        "",
        "A distribution is a mapping whose `dist` key picks the form; the other keys are that",
        "form's parameters, in the field's unit (a duration with a unit for a duration field, a",
        "plain number for an amount). An unknown `dist` is an error with a *did you mean* hint.",
        "",
        "**Scalar shorthand**: a plain value means a fixed distribution, so",
        "`after_call_work: 2 min` is `after_call_work: {dist: fixed, value: 2 min}`.",
        "",
        "Which form? `fixed` for a value that does not vary (or to switch randomness off);",
        "`exponential` for memoryless times, what Erlang C assumes; `lognormal` for the right-skewed",
        "call and cycle times of real funnels, given by median and p90 (easy to read off a CRM or",
        "dialer export) or by mean and cv; `gamma` for a spread between fixed (cv near 0) and",
        "exponential (cv = 1); `empirical` to resample observed values. Each example below is a",
        "fragment of a scenario file.",
    ]
    for tag, models in schema.forms.items():
        if tag not in DIST_EXAMPLES:
            raise ValueError(f"distribution form {tag!r} has no example in DIST_EXAMPLES")
        model = _origin(models[0])
        lines += ["", f"### `dist: {tag}`", "", _paragraph(model.__doc__), ""]
        lines += _yaml_block(DIST_EXAMPLES[tag], "fragment")
        lines += ["", *_table(form_rows(models), {})]
    missing = set(DIST_EXAMPLES) - set(schema.forms)
    if missing:
        raise ValueError(f"examples for unknown distribution forms: {sorted(missing)}")
    return lines


def _mmc() -> list[str]:
    scenario = parse_scenario(MMC_YAML, source="M/M/c example")
    lam = scenario.sources[0].rate_per_week / WEEK
    mean_service = scenario.cadence.durations.conversation.mean
    servers = scenario.sdr.headcount
    load = lam * mean_service
    wait = mmc_mean_wait(lam, 1 / mean_service, servers)
    return [
        "## Example: an M/M/c queue",
        "",
        "With a 24/7 calendar, Poisson MQLs, a single attempt that always reaches the person,",
        "exponential talk time and no after-call work, the SDR team is an M/M/c queue and the wait",
        "from MQL to first attempt follows Erlang C. This is how the engine is checked against",
        "theory (`tests/model/test_theory.py`); it is also a quick way to see what queueing alone does to",
        "speed-to-lead.",
        "",
        *_yaml_block(MMC_YAML, "scenario: mmc"),
        "",
        "What theory says (computed from the file above):",
        "",
        f"- arrival rate lambda = {_num(round(lam, 6))} per hour, service rate mu = 1 / mean call ="
        f" {_num(round(1 / mean_service, 6))} per hour, c = {servers} reps;",
        f"- offered load a = lambda / mu = {load:.3g} Erlangs, utilisation a / c ="
        f" {load / servers:.0%};",
        f"- Erlang C: probability of waiting C({servers}, {load:.3g}) ="
        f" {erlang_c(servers, load):.3f}, mean wait Wq = C / (c mu - lambda) ="
        f" {wait:.3f} h ({wait * 60:.1f} min).",
        "",
        "`simfunnel run` on this file reports `speed_to_lead.mean_h` and `utilisation.sdr` close to",
        "these, within sampling noise (the first days warm up from an empty queue).",
    ]


def render() -> str:
    """The whole page, from the schema; raises if a field or model is undocumented."""
    parse_scenario(MINIMAL_YAML, source="minimal example")
    schema = collect()
    anchors = {s.model: slug(s.title) for s in schema.sections}
    lines = [
        *_intro(schema),
        "",
        *_limits(),
        "",
        *_reference(schema, anchors),
        "",
        *_distributions(schema),
        "",
        *_mmc(),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the page, or with ``--check`` report (exit 1) that the committed page is stale."""
    parser = argparse.ArgumentParser(
        prog="python -m simfunnel.docgen", description="Generate docs/scenarios.md from the schema."
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is out of date")
    parser.add_argument(
        "--path", type=Path, default=DOC_PATH, help="the page (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.path.read_text(encoding="utf-8") if args.path.exists() else None
        if current != text:
            state = "is missing" if current is None else "is out of date with the schema"
            print(
                f"{args.path} {state}: run `make docs` (python -m simfunnel.docgen)",
                file=sys.stderr,
            )
            return 1
        print(f"{args.path} is up to date")
        return 0
    args.path.parent.mkdir(parents=True, exist_ok=True)
    args.path.write_text(text, encoding="utf-8")
    print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
