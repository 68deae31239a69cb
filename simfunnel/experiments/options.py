"""The run options of an experiment, in one place: :class:`RunOptions` holds every keyword of
:func:`simfunnel.run` beyond the scenario and ``reps`` (with their one set of defaults), and
:class:`RunKeywords` types the same names as ``**run`` keywords of the functions that take them.
:class:`SharedKeywords` are the few that the decisions (``size_team``, ``compare_thresholds``,
``explain_gap``, ``forecast``) pass on to their runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypedDict, Unpack

from ..model import Snapshot

__all__ = ["RunKeywords", "RunOptions", "SharedKeywords"]


@dataclass(frozen=True)
class RunOptions:
    """How an experiment runs (see :func:`simfunnel.run` for each): ``seed`` (root of the
    ``SeedSequence``), ``workers`` or ``executor``, ``progress``, ``out`` (directory to stream
    to and resume from), ``fail_fast``, ``precision`` targets with ``max_reps``, ``snapshot``
    to start from and ``draw_parameters``."""

    seed: int | None = 0
    workers: int | None = None
    executor: Any = None
    progress: bool = True
    out: str | Path | None = None
    fail_fast: bool = False
    precision: Mapping[str, float] | None = None
    max_reps: int | None = None
    snapshot: Snapshot | None = None
    draw_parameters: bool = False

    def __post_init__(self) -> None:
        for name, target in (self.precision or {}).items():
            if not (isinstance(target, int | float) and target > 0):
                raise ValueError(f"precision target of {name!r} must be above 0 (got {target!r})")

    def updated(self, **run: Unpack[RunKeywords]) -> RunOptions:
        """These options with the given keywords changed (an unknown one raises TypeError)."""
        return replace(self, **run) if run else self

    def shared(self, **keywords: Unpack[SharedKeywords]) -> RunOptions:
        """These options with the keywords a decision passes on changed; any other one (an
        experiment's own, like ``out``, or a misspelt one) raises TypeError."""
        unknown = sorted(set(keywords) - SharedKeywords.__optional_keys__)
        if unknown:
            raise TypeError(f"unexpected keyword argument(s): {', '.join(map(repr, unknown))}")
        return self.updated(**keywords)


class SharedKeywords(TypedDict, total=False):
    """The run keywords the decisions pass on to their experiments."""

    seed: int | None
    workers: int | None
    executor: Any
    progress: bool
    snapshot: Snapshot | None


class RunKeywords(SharedKeywords, total=False):
    """Every field of :class:`RunOptions`, as ``**run`` keywords."""

    out: str | Path | None
    fail_fast: bool
    precision: Mapping[str, float] | None
    max_reps: int | None
    draw_parameters: bool
