"""The report as one HTML page: plain data for the templates, and the jinja2 rendering.

:func:`page_data` turns a :class:`~simfunnel.results.answer.Report` into what the templates in
``templates/`` print (strings, tables as rows of cells, charts as PNG data URIs); the templates
hold all the markup, and jinja2 escapes every value printed. The page needs nothing else: no
external file, no script, so it can be mailed as is.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import re
from dataclasses import dataclass
from typing import Any

import jinja2
import pandas as pd
import yaml
from markupsafe import Markup

from ..base.formatting import fmt
from ..base.units import DAY, HOUR, MINUTE, SECOND, format_duration
from ..base.version import __version__
from ..results.answer import Draw, Report, Tile
from ..scenario import Scenario, scenario_to_dict
from .assumptions import assumptions_table

__all__ = ["Cell", "Page", "PageFigure", "PageTable", "TitledTable", "page_data", "render_page"]

DPI = 100  # CSS pixels per inch of a chart's size; the PNG is drawn at twice that


@dataclass(frozen=True)
class Cell:
    """One table cell: its text, and whether it is a figure (set right-aligned)."""

    text: str
    num: bool


@dataclass(frozen=True)
class PageTable:
    """A table as the template prints it: column names, then rows of cells."""

    columns: list[str]
    rows: list[list[Cell]]


@dataclass(frozen=True)
class TitledTable:
    """A further table under the key figures, with its heading and a note on what it holds."""

    heading: str
    note: str
    table: PageTable


@dataclass(frozen=True)
class PageFigure:
    """One chart: its number, its caption and the PNG as a ``data:`` URI."""

    number: int
    caption: str
    src: str
    width: int  # CSS pixels: the PNG holds twice as many, sharp on high-density screens


@dataclass(frozen=True)
class Page:
    """Everything the page template prints, each field under its own name."""

    title: str
    subtitle: str
    tiles: list[Tile]
    points: list[tuple[str, str]]
    verdict: list[str]
    figures: list[PageFigure]
    kpi_note: str
    kpis: PageTable
    tables: list[TitledTable]
    details: PageTable | None
    notes: list[str]
    assumptions: PageTable | None
    scenario_yaml: str | None
    version: str
    made: str


def table_data(frame: pd.DataFrame) -> PageTable:
    """A data frame's cells as text: strings as they are, figures written by :func:`fmt`."""
    rows = []
    for _, row in frame.iterrows():
        cells = []
        for c in frame.columns:
            value = row[c]
            if hasattr(value, "item") and not isinstance(value, str):
                value = value.item()
            text = value if isinstance(value, str) else fmt(value)
            cells.append(Cell(text, num=not isinstance(value, str)))
        rows.append(cells)
    return PageTable([str(c) for c in frame.columns], rows)


def png_uri(draw: Draw, size: tuple[float, float]) -> str:
    """Draw on a fresh figure (no pyplot: no global state, no window); return a PNG data URI."""
    # matplotlib is loaded only when a chart is drawn: importing the report must stay light.
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="constrained")
    ax = fig.subplots()
    draw(ax)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=2 * DPI)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


_RAW_HOURS = re.compile(r"\b(\d+\.\d{4,}) h\b")


def scenario_yaml(scenario: Scenario) -> str:
    """The scenario as YAML, every field, in the order the schema has them; a duration that has
    no short exact form ('0.013333333333333334 h') is shown rounded in its unit ('48 s')."""
    text = yaml.safe_dump(scenario_to_dict(scenario), sort_keys=False, allow_unicode=True)
    return _RAW_HOURS.sub(lambda m: _rounded_duration(float(m.group(1))), text)


def _rounded_duration(hours: float) -> str:
    """A duration in the unit :func:`format_duration` picks, to six significant digits (the
    scenario reads back equal to one part in 100,000): '48 s', '49.61 days'."""
    unit = format_duration(hours).split()[-1]
    size = {"s": SECOND, "min": MINUTE, "h": HOUR, "day": DAY, "days": DAY}[unit]
    return f"{hours / size:.6g} {unit if unit != 'day' else 'days'}"


def page_data(report: Report) -> Page:
    """What the page prints: every chart drawn, every table as text, the scenario as YAML."""
    figures = [
        PageFigure(i, caption, png_uri(draw, size), round(size[0] * DPI))
        for i, (caption, draw, size) in enumerate(report.charts, start=1)
    ]
    scenario = report.scenario
    return Page(
        title=report.title,
        subtitle=report.subtitle,
        tiles=report.key_tiles(),
        points=list(report.points),
        verdict=list(report.verdict),
        figures=figures,
        kpi_note=report.kpi_note,
        kpis=table_data(report.kpis),
        tables=[TitledTable(h, note, table_data(f)) for h, note, f in report.tables],
        details=None if report.details is None else table_data(report.details),
        notes=list(report.notes),
        assumptions=None if scenario is None else table_data(assumptions_table(scenario)),
        scenario_yaml=None if scenario is None else scenario_yaml(scenario),
        version=__version__,
        made=dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
    )


def _escape_as_html(value: Any) -> Any:
    """Escape every printed value as :func:`html.escape` does (``&quot;``, ``&#x27;``), as the
    report always has, rather than markupsafe's ``&#34;``: readers see the same, and text
    searched for in the file is found. Markup (a macro's output) passes as it is."""
    if hasattr(value, "__html__"):
        return value
    return Markup(html.escape(str(value)))


_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("simfunnel.present", "templates"),
    autoescape=True,  # every template is HTML: every value printed is escaped
    finalize=_escape_as_html,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,  # a misspelt field fails loudly, not as a blank
)


def render_page(page: Page) -> str:
    """The page as one HTML5 document, from ``templates/report.html.j2``."""
    template = _ENVIRONMENT.get_template("report.html.j2")
    return template.render(vars(page))
