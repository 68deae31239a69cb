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

import base64
import html
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import pandas as pd

from ..base.files import save_figure, write_csv, write_text
from ..scenario import Scenario

__all__ = ["Answer", "AnswerBase", "Chart", "Draw", "Report", "Tile"]

Draw = Callable[[Any], Any]  # draws on the axes it is given
Chart = tuple[str, Draw, tuple[float, float]]  # caption, draw(ax), figure size in inches


@dataclass(frozen=True)
class Tile:
    """One figure under a report's title: what it is, its value as a person reads it, and how
    it compares with today or the target ("+12 vs today", "target 80%")."""

    label: str
    value: str
    change: str = ""
    tone: str = ""  # "good", "bad" or "" (neutral): the mark beside the change


@dataclass
class Report:
    """What a report says, before it is HTML: each answer builds its own (``report()``).

    Exec-first: ``tiles`` (3-5 key figures) and ``points`` (what to do, why, what could go
    wrong: (heading, sentence) pairs) come under the title; the ``verdict`` paragraphs are the
    detail below them. Without tiles, the first key figures stand in."""

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
    tiles: list[Tile] = field(default_factory=list)
    points: list[tuple[str, str]] = field(default_factory=list)

    def key_tiles(self, most: int = 4) -> list[Tile]:
        """The tiles, or else the first key figures (with their unit) as tiles."""
        if self.tiles:
            return self.tiles
        frame = self.kpis
        if frame.empty or frame.shape[1] < 2:
            return []
        label, value = frame.columns[0], frame.columns[1]
        unit = frame.columns[2] if frame.shape[1] > 2 else None
        return [
            Tile(str(row[label]), str(row[value]), str(row[unit]) if unit is not None else "")
            for _, row in frame.head(most).iterrows()
        ]


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
        """A compact card for a notebook: the key figures as tiles, what to do (or the
        verdict), the key table as the report writes it, and the main chart as a thumbnail."""
        report = self.report()  # type: ignore[attr-defined]  # every answer has one (Answer)
        return notebook_card(type(self).__name__, report, self._thumbnail())

    def _thumbnail(self) -> str:
        """The main chart as a small inline PNG (empty when it cannot be drawn)."""
        # pyplot is loaded on use, as for save().
        import matplotlib.pyplot as plt

        try:
            ax = self.plot(None)
        except (ValueError, NotImplementedError):
            return ""
        try:
            ax.figure.set_size_inches(6, 3.2)
            buffer = io.BytesIO()
            ax.figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
        finally:
            plt.close(ax.figure)
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        return f'<img alt="main chart" style="max-width:100%" src="data:image/png;base64,{data}">'


def notebook_card(name: str, report: Report, thumbnail: str = "") -> str:
    """The HTML a notebook shows for an answer (every text escaped)."""
    e = html.escape
    tiles = "".join(
        '<div style="border:1px solid #ccc;border-radius:6px;padding:6px 10px;min-width:9em">'
        f'<div style="font-size:0.8em;color:#555">{e(t.label)}</div>'
        f'<div style="font-size:1.3em;font-weight:600">{e(t.value)}</div>'
        f'<div style="font-size:0.8em;color:#555">{e(t.change)}</div></div>'
        for t in report.key_tiles()
    )
    if report.points:
        said = "".join(f"<li><strong>{e(h)}:</strong> {e(text)}</li>" for h, text in report.points)
        words = f"<ul>{said}</ul>"
    else:
        words = "".join(f"<p>{e(p)}</p>" for p in report.verdict[:1])
    table = report.kpis.head(12).to_html(index=False, na_rep="n/a", border=0, escape=True)
    return (
        f"<div><div><strong>{e(name)}</strong>: {e(report.title)}</div>"
        f'<div style="display:flex;flex-wrap:wrap;gap:8px;margin:6px 0">{tiles}</div>'
        f"{words}{table}{thumbnail}</div>"
    )
