"""Reading scenario files safely, and turning every problem into one line naming file and field.

A scenario file comes from a user, so nothing in it is trusted before it is read:

- **The file.** At most 1 MiB is read (a scenario is a few KB). It must be text: UTF-8, with or
  without a byte-order mark, or UTF-16/UTF-32 with one; a binary file (a NUL byte), UTF-16
  without a byte-order mark, and any other encoding are refused naming the byte and its offset.
  A directory, a missing or unreadable file, and an empty one each get one line.
- **The YAML.** Plain data only (no tags that build objects), no key given twice, keys are plain
  values (a mapping or list as a key is refused with its path), nested at most 50 levels, and at
  most 100,000 values once aliases are expanded: a few hundred bytes of nested aliases (a
  "billion laughs") would otherwise expand to billions of values when validated.
- **The messages.** Every problem is one line, ``FILE: field.path: message (got VALUE)``, and a
  value is shown cut short *without* being expanded first (a huge structure is never printed).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, cast, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from ..base.textfiles import bom_codec, looks_utf16
from ..base.units import duration_text, parse_duration
from .dists import FieldError, FieldErrors
from .schema import Scenario, ScenarioError

MAX_FILE_BYTES = 1 << 20
"""The largest scenario file read: 1 MiB (a scenario is a few KB)."""
MAX_DEPTH = 50
"""The deepest nesting of YAML mappings and lists (a scenario needs about 6)."""
MAX_NODES = 100_000
"""The most YAML values (scalars, mappings, lists) a file may expand to, aliases expanded."""
MAX_PROBLEMS = 50
"""The most problem lines reported for one file; the rest are counted on one more line."""
_SHOWN = 60  # characters of a value shown in a message


# --------------------------------------------------------------------------- the file


def read_scenario_text(path: str | Path) -> str:
    """The text of a scenario file, or ScenarioError with one line saying why it is not one."""
    path = Path(path)
    if path.is_dir():
        raise ScenarioError([f"{path}: is a directory, not a scenario file"])
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except PermissionError:
        raise ScenarioError([f"{path}: cannot read the file (permission denied)"]) from None
    except OSError as exc:
        raise ScenarioError([f"{path}: cannot read the file ({exc.strerror or exc})"]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(
            [f"{path}: larger than {MAX_FILE_BYTES >> 20} MiB; a scenario file is far smaller"]
        )
    text = decode_text(raw, str(path))
    if not text.strip():
        raise ScenarioError([f"{path}: the file is empty; a scenario is a mapping of sections"])
    return text


def decode_text(raw: bytes, source: str) -> str:
    """Bytes of a text file as text: UTF-8 (a byte-order mark is allowed), or UTF-16 or UTF-32
    with a byte-order mark; anything else is refused with one line naming the first bad byte."""
    found = bom_codec(raw)
    if found is not None:
        codec, name = found
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError as exc:
            raise ScenarioError(
                [f"{source}: not valid {name} text (at byte offset {exc.start}: {exc.reason})"]
            ) from None
    else:
        nul = raw.find(b"\0")
        if nul >= 0:
            if looks_utf16(raw[:8192]):
                raise ScenarioError(
                    [
                        f"{source}: looks like UTF-16 text without a byte-order mark (a NUL "
                        f"byte at offset {nul}); save the file as UTF-8"
                    ]
                )
            raise ScenarioError(
                [f"{source}: a binary file, not YAML text (a NUL byte at offset {nul})"]
            )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            raise ScenarioError(
                [
                    f"{source}: not UTF-8 text: byte 0x{raw[exc.start]:02X} at offset "
                    f"{exc.start} (line {line}); save the file as UTF-8"
                ]
            ) from None
    nul = text.find("\0")
    if nul >= 0:
        raise ScenarioError(
            [f"{source}: a binary file, not YAML text (a NUL character at character {nul})"]
        )
    return text


# --------------------------------------------------------------------------- the YAML


class _KeyNotPlain(yaml.YAMLError):
    """A mapping or list used as a key: refused with the path of the mapping it is in."""

    def __init__(self, loc: tuple[Any, ...], kind: str, mark: Any) -> None:
        super().__init__(kind)
        self.loc = loc
        self.kind = kind
        self.problem_mark = mark


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML that also refuses duplicate keys (plain YAML silently overwrites them), keys
    that are not plain values, deep nesting and alias expansion beyond the limits."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._sizes: dict[int, int] = {}  # id(node) -> values it expands to
        self._path: list[Any] = []

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(parent, yaml.MappingNode) and index is None:  # a key
            target = self.anchors.get(event.anchor) if isinstance(event, yaml.AliasEvent) else None
            kind = (
                "a mapping"
                if isinstance(event, yaml.MappingStartEvent) or isinstance(target, yaml.MappingNode)
                else "a list"
                if isinstance(event, yaml.SequenceStartEvent)
                or isinstance(target, yaml.SequenceNode)
                else None
            )
            if kind is not None:
                raise _KeyNotPlain(tuple(self._path), kind, event.start_mark)
        if isinstance(event, yaml.AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None and id(target) not in self._sizes:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"the alias *{_cut(event.anchor)} is inside what it refers to (a structure "
                    "that contains itself)",
                    # The pure-Python SafeLoader makes only yaml.error.Mark; the stubs also
                    # allow the C parser's mark, which this loader never sees.
                    cast(yaml.error.Mark | None, event.start_mark),
                )
        if self._depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(
                None, None, f"nested more than {MAX_DEPTH} levels deep", event.start_mark
            )
        self._depth += 1
        self._path.append(_label(parent, index))
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._path.pop()
        if node is not None and id(node) not in self._sizes:
            if isinstance(node, yaml.MappingNode):
                children = [n for pair in node.value for n in pair]
            elif isinstance(node, yaml.SequenceNode):
                children = list(node.value)
            else:
                children = []
            size = 1 + sum(self._sizes[id(child)] for child in children)
            if size > MAX_NODES:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"expands to more than {MAX_NODES:,} values (aliases repeat what they refer "
                    "to); a scenario is far smaller",
                    node.start_mark,
                )
            self._sizes[id(node)] = size
        return node


def _label(parent: Any, index: Any) -> Any:
    """The path part of a node: its position in a list or its key in a mapping."""
    if isinstance(parent, yaml.SequenceNode):
        return index
    if isinstance(index, yaml.ScalarNode):
        return index.value
    return None


def _path_of(loc: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(part for part in loc if part is not None)


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            repeated = key in seen
        except TypeError:  # unhashable: the composer refuses such keys, this is a safety net
            raise _KeyNotPlain((), "a mapping or list", key_node.start_mark) from None
        if repeated:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {_cut(key)} (first on line {seen[key] + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


def _construct_timestamp(loader: _StrictLoader, node: yaml.ScalarNode) -> Any:
    """A date as YAML reads it; one that does not exist (2026-02-30) stays text, so that the
    field it is in reports it."""
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


def _construct_int(loader: _StrictLoader, node: yaml.ScalarNode) -> Any:
    """An integer as YAML reads it; one too long for Python to convert stays text."""
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_StrictLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _yaml_problem(source: str, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1} column {mark.column + 1}: " if mark is not None else ""
    if isinstance(exc, _KeyNotPlain):
        path = _format_loc(_path_of(exc.loc))
        return f"{source}: {path}: {where}a key must be a plain name or number, not {exc.kind}"
    problem = getattr(exc, "problem", None) or str(exc)
    if "could not determine a constructor" in problem or "constructor for the tag" in problem:
        tag = re.search(r"tag '([^']+)'", problem)
        name = tag.group(1).replace("tag:yaml.org,2002:", "!!") if tag else "?"
        problem = f"YAML tag {_cut(name)} is not allowed: a scenario is plain data"
    return f"{source}: {where}{_cut(problem, 300)}"


# --------------------------------------------------------------------------- entry points


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a YAML scenario file; raise ScenarioError naming each bad field."""
    return parse_scenario(read_scenario_text(path), source=str(path))


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Validate scenario YAML text; ``source`` names it in error messages."""
    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError(
            [f"{source}: longer than {MAX_FILE_BYTES >> 20} MiB; a scenario is far smaller"]
        )
    try:
        data = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        raise ScenarioError([_yaml_problem(source, exc)]) from None
    except (RecursionError, MemoryError):
        raise ScenarioError([f"{source}: the YAML is too deeply nested or too large"]) from None
    if not isinstance(data, dict):
        kind = "empty" if data is None else type(data).__name__
        raise ScenarioError([f"{source}: a scenario is a mapping of sections (got {kind})"])
    return scenario_from_dict(data, source)


def scenario_from_dict(data: dict[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate an already-parsed scenario mapping."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = list(_format_errors(exc, source, data))
    except RecursionError:
        problems = [f"{source}: (top level): nested too deeply to be a scenario"]
    if len(problems) > MAX_PROBLEMS:
        more = len(problems) - MAX_PROBLEMS
        problems = [*problems[:MAX_PROBLEMS], f"{source}: ... and {more:,} more problems"]
    raise ScenarioError(problems)


# --------------------------------------------------------------------------- the messages


_DIST_TAGS = ("fixed", "exponential", "lognormal", "gamma", "empirical")
_BOUNDS = {
    "greater_than": ("gt", "greater than"),
    "greater_than_equal": ("ge", "greater than or equal to"),
    "less_than": ("lt", "less than"),
    "less_than_equal": ("le", "less than or equal to"),
}


def _user_loc(loc: Iterable[Any], data: Any) -> tuple[Any, ...]:
    """The path as the user wrote it: without pydantic's union tags or the implied ``value``.

    ``sales_cycle: 45`` is read as ``{dist: fixed, value: 45}``; an error in it belongs to
    ``sales_cycle``, a key the user wrote, not to ``value``, one they did not.
    """
    out: list[Any] = []
    node = data
    for part in loc:
        if part in _DIST_TAGS and not (isinstance(node, dict) and part in node):
            continue  # the discriminator tag pydantic inserts; the user never wrote it
        if part == "value" and not isinstance(node, dict):
            continue
        out.append(part)
        node = _child(node, part)
    return tuple(out)


def _child(node: Any, part: Any) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list | tuple) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None


def _raw_at(data: Any, loc: Iterable[Any]) -> Any:
    """What the user wrote at ``loc`` (None if the path is not in the data as written)."""
    node = data
    for part in loc:
        node = _child(node, part)
    return node


def _format_loc(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + _cut(str(part), 40)
    return out or "(top level)"


def _cut(value: Any, limit: int = 40) -> str:
    text = value if isinstance(value, str) else _got(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _got(value: Any) -> str:
    """A value as a message shows it, cut short *before* it is expanded: a structure built
    from aliases is never written out in full."""
    parts: list[str] = []
    budget = [_SHOWN + 1]

    def emit(text: str) -> bool:
        parts.append(text[: budget[0]])
        budget[0] -= len(text)
        return budget[0] > 0

    def walk(item: Any) -> bool:
        if isinstance(item, dict):
            if not emit("{"):
                return False
            for i, (key, sub) in enumerate(item.items()):
                if (i and not emit(", ")) or not walk(key) or not emit(": ") or not walk(sub):
                    return False
            return emit("}")
        if isinstance(item, list | tuple):
            opener, closer = ("[", "]") if isinstance(item, list) else ("(", ")")
            if not emit(opener):
                return False
            for i, sub in enumerate(item):
                if (i and not emit(", ")) or not walk(sub):
                    return False
            if isinstance(item, tuple) and len(item) == 1 and not emit(","):
                return False
            return emit(closer)
        if isinstance(item, str) and len(item) > _SHOWN:
            return emit(repr(item[:_SHOWN]))
        if isinstance(item, int) and not isinstance(item, bool) and abs(item) > 10**_SHOWN:
            return emit(f"<a number of about {item.bit_length() * 3 // 10} digits>")
        return emit(repr(item))

    walk(value)
    text = "".join(parts)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _bound_message(err: ErrorDetails, raw: Any) -> str | None:
    """A range error on a duration, with the bound as a duration ('1 min', not 0.0166...)."""
    bound = _BOUNDS.get(err["type"])
    if bound is None or not isinstance(raw, str):
        return None
    key, phrase = bound
    limit = (err.get("ctx") or {}).get(key)
    try:
        parse_duration(raw)
    except ValueError:
        return None
    if not isinstance(limit, int | float):
        return None
    return f"Input should be {phrase} {duration_text(float(limit))} (got {_got(raw)})"


def _format_errors(exc: ValidationError, source: str, data: Any = None) -> Iterator[str]:
    errors = exc.errors(include_url=False)
    for err in errors:
        err["loc"] = _user_loc(err["loc"], data)
    locs = [tuple(e["loc"]) for e in errors]
    # A misspelt required key is one problem, not two: the "unknown key, did you mean" line
    # says it all, so the "missing" line for the key it suggests is not repeated.
    suggested: set[tuple[Any, ...]] = set()
    for err in errors:
        if err["type"] == "extra_forbidden":
            hint = _hint(err["loc"])
            if hint:
                suggested.add((*err["loc"][:-1], hint))
    for err in errors:
        loc = tuple(err["loc"])
        if err["type"] == "missing" and loc in suggested:
            continue
        kind = err["type"]
        if kind == "too_short" and any(len(o) > len(loc) and o[: len(loc)] == loc for o in locs):
            continue  # a list emptied by failing items: the items' own errors say why
        message = err["msg"]
        context_error = (err.get("ctx") or {}).get("error")
        if isinstance(context_error, FieldErrors):  # one check, several fields: one line each
            for one in context_error.errors:
                yield f"{source}: {_format_loc(loc + one.loc)}: {one} (got {_got(one.got)})"
            continue
        if isinstance(context_error, FieldError):
            # Its path is relative to the model that raised it (the top level for Scenario).
            yield (
                f"{source}: {_format_loc(loc + context_error.loc)}: {context_error} "
                f"(got {_got(context_error.got)})"
            )
            continue
        if message.startswith(("Value error, ", "Assertion failed, ")):
            message = message.split(", ", 1)[1]
        if kind == "extra_forbidden":
            hint = _hint(loc)
            extra = f"; did you mean '{hint}'?" if hint else ""
            yield f"{source}: {_format_loc(loc)}: unknown key{extra}"
        elif kind == "missing":
            yield f"{source}: {_format_loc(loc)}: required field is missing"
        elif kind in {"union_tag_invalid", "union_tag_not_found"}:
            tags = _DIST_TAGS
            tag = str((err.get("ctx") or {}).get("tag", ""))
            close = difflib.get_close_matches(tag[:40], tags, n=1, cutoff=0.6)
            extra = f"; did you mean '{close[0]}'?" if close else ""
            yield (
                f"{source}: {_format_loc(loc)}.dist: unknown distribution, use one of "
                f"{', '.join(tags)}{extra} (got {_got(tag or err['input'])})"
            )
        elif (bounded := _bound_message(err, _raw_at(data, loc))) is not None:
            yield f"{source}: {_format_loc(loc)}: {bounded}"
        elif "(got " in message:
            yield f"{source}: {_format_loc(loc)}: {_cut(message, 300)}"
        else:
            yield f"{source}: {_format_loc(loc)}: {message} (got {_got(err['input'])})"


def _hint(loc: tuple[Any, ...]) -> str | None:
    """The known field name closest to an unknown key, if any is close."""
    hint = difflib.get_close_matches(str(loc[-1])[:40], _field_names(), n=1, cutoff=0.6)
    return hint[0] if hint else None


_NAMES: list[str] = []


def _field_names() -> list[str]:
    """Every field name (and alias) of every scenario object, for 'did you mean' hints."""
    if _NAMES:
        return _NAMES
    names: set[str] = set()
    seen: set[type] = set()

    def visit(tp: Any) -> None:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if tp in seen:
                return
            seen.add(tp)
            for name, field in tp.model_fields.items():
                names.add(field.alias or name)
                visit(field.annotation)
            return
        if get_origin(tp) is not None or get_args(tp):
            for arg in get_args(tp):
                visit(arg)

    visit(Scenario)
    _NAMES.extend(sorted(names))
    return _NAMES
