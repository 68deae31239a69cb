"""What every run, decision, fit and backtest offers: one interface, and the record of its report.

Why one interface: the command line, the HTML report and a notebook each ask an answer the same
things (what to do, the table behind it, a chart, its files), so a new decision tool plugs into
all three by offering them, and nothing dispatches on its type. :class:`Answer` is the contract
(``tests/*/test_interface*.py`` check every type against it); :class:`AnswerBase` supplies what
is the same for all of them: a one-line ``repr``, the notebook view, ``summary`` and ``save``.
:class:`Report` is what an answer's report says before it is HTML (``simfunnel.present``
renders it).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import pandas as pd

from ..base.files import save_figure, write_csv, write_text
from ..scenario import Scenario

__all__ = ["Answer", "AnswerBase", "Chart", "Draw", "Report"]

Draw = Callable[[Any], Any]  # draws on the axes it is given
Chart = tuple[str, Draw, tuple[float, float]]  # caption, draw(ax), figure size in inches


@dataclass
class Report:
    """What a report says, before it is HTML: each answer builds its own (``report()``)."""

    title: str
    subtitle: str
    verdict: list[str]
    charts: list[Chart]
    kpis: pd.DataFrame
    kpi_note: str
    scenario: Scenario | None  # None: a forecast straight from exports, no scenario
    notes: list[str] = field(default_factory=list)  # assumptions besides the scenario
    details: pd.DataFrame | None = None  # every figure, folded away
    tables: list[tuple[str, str, pd.DataFrame]] = field(default_factory=list)  # heading, note


@runtime_checkable
class Answer(Protocol):
    """The interface of every result and decision type.

    ``verdict``: what to do (or what happened), in words; ``table``: the figures it rests on;
    ``summary()``: the key figures as a tidy table; ``plot(what, ax=)``: one chart, ``what``
    naming which (``None``: the main one), on the axes given or a new figure, returned;
    ``save(directory)``: every table and chart as files, by name; ``report()``: the content of
    the HTML report; ``text()``: what the terminal prints; ``scenario``: the scenario it is about.
    """

    @property
    def verdict(self) -> str: ...

    @property
    def table(self) -> pd.DataFrame: ...

    @property
    def scenario(self) -> Scenario: ...

    def summary(self) -> pd.DataFrame: ...

    def plot(self, what: str | None = None, *, ax: Any = None) -> Any: ...

    def save(self, directory: str | Path) -> dict[str, Path]: ...

    def report(self) -> Report: ...

    def text(self) -> str: ...

    def _repr_html_(self) -> str: ...


class AnswerBase:
    """What is the same for every answer. A type lists its files in ``tables()`` and
    ``charts()``; ``save`` writes them and the verdict. Dataclasses using it must say
    ``repr=False`` (a generated repr would hide the one-line one)."""

    if TYPE_CHECKING:
        # What every answer has, read-only here: a type gives each as a field or a property
        # (a property here would make the fields of a dataclass answer unsettable).
        @property
        def verdict(self) -> str: ...

        @property
        def table(self) -> pd.DataFrame: ...

        @property
        def scenario(self) -> Scenario: ...

    def plot(self, what: str | None = None, *, ax: Any = None) -> Any:
        raise NotImplementedError

    def tables(self) -> Mapping[str, pd.DataFrame]:
        """The tables ``save`` writes, by file stem (default: the table)."""
        return {"table": self.table}

    def charts(self) -> Mapping[str, str | None]:
        """The charts ``save`` draws, by file stem: the ``what`` passed to ``plot``."""
        return {}

    def summary(self) -> pd.DataFrame:
        return self.table

    def text(self) -> str:
        """What the terminal prints: the verdict, then the table."""
        return f"{self.verdict}\n\n{self.table.to_string(index=False, na_rep='n/a')}"

    def save(self, directory: str | Path) -> dict[str, Path]:
        """Write every table (CSV), chart (PNG) and the verdict (verdict.txt) into
        ``directory``; return the paths by name. Each file is written whole or not at all."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        written: dict[str, Path] = {}
        for name, frame in self.tables().items():
            written[f"{name}.csv"] = write_csv(frame, out / f"{name}.csv")
        for name, what in self.charts().items():
            written[f"{name}.png"] = self._save_chart(what, out / f"{name}.png")
        written["verdict.txt"] = write_text(out / "verdict.txt", self.verdict + "\n")
        return written

    def _save_chart(self, what: str | None, path: Path) -> Path:
        """Draw one chart on its own figure, write it as PNG and close the figure."""
        # pyplot is loaded on use: a run or an experiment saves no chart, and starts faster.
        import matplotlib.pyplot as plt

        ax = self.plot(what)
        try:
            ax.figure.tight_layout()
            return save_figure(ax.figure, path, dpi=120)
        finally:
            plt.close(ax.figure)

    def __repr__(self) -> str:
        first = " ".join(self.verdict.split()).split(". ")[0]
        if len(first) > 90:
            first = first[:87].rstrip() + "..."
        return f"<{type(self).__name__} of {self.scenario.name!r}: {first}>"

    def _repr_html_(self) -> str:
        verdict = "".join(f"<p>{html.escape(p)}</p>" for p in self.verdict.split("\n") if p)
        table = self.table.to_html(max_rows=30, index=False, na_rep="n/a", border=0)
        name = html.escape(type(self).__name__)
        return f"<div><strong>{name}</strong> of {html.escape(self.scenario.name)}{verdict}{table}</div>"
