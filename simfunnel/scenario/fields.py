"""The types of scenario fields, looked into: which are durations, what a union holds.

Why here: writing a scenario back as data (``overrides``) and resolving an uncertainty path
(``uncertain``) both need to read a field's annotation the same way.
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BeforeValidator

from ..base.units import parse_duration

__all__ = ["is_duration", "members", "unwrap"]


def unwrap(tp: Any) -> tuple[Any, list[Any]]:
    """``Annotated[X, m1, m2]`` -> ``(X, [m1, m2])``; any other type -> ``(tp, [])``."""
    meta: list[Any] = []
    while get_origin(tp) is Annotated:
        args = get_args(tp)
        tp, meta = args[0], [*meta, *args[1:]]
    return tp, meta


def is_duration(meta: Sequence[Any]) -> bool:
    return any(isinstance(m, BeforeValidator) and m.func is parse_duration for m in meta)


def members(tp: Any) -> list[tuple[Any, list[Any]]]:
    """The non-None members of a union (or the type itself), each unwrapped."""
    tp, meta = unwrap(tp)
    if get_origin(tp) in (Union, types.UnionType):
        return [unwrap(m) for m in get_args(tp) if m is not type(None)]
    return [(tp, meta)]
