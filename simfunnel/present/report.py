"""One self-contained HTML report for the people who decide, from a run or a decision.

``write_report`` takes any answer with a ``report()`` method (the
:class:`~simfunnel.results.answer.Answer` interface: every decision, a
:class:`~simfunnel.decisions.thresholds.ThresholdComparison`, a
:class:`~simfunnel.decisions.sizing.Sizing`, a :class:`~simfunnel.decisions.forecasting.Forecast`
and the others), a :class:`~simfunnel.results.result.SimulationResult`, a
:class:`~simfunnel.calibration.fit_result.Calibration` or a
:class:`~simfunnel.calibration.backtest_result.Backtest`, and writes one HTML file that can be
mailed as is: the verdict in plain words first, then the
charts (PNG embedded as base64: no external file, no script), the key figures with their
intervals where the object has them, and at the end every assumption: the scenario as YAML,
which reads back with ``simfunnel.load_scenario``. All text is escaped.

This module holds the entry points; what a report says is built by the object itself
(``report()``, see :mod:`simfunnel.results.answer`), and the page is rendered from the
templates by ``page``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..base.files import write_text
from ..results.answer import Report
from .page import page_data, render_page

__all__ = ["SECTIONS", "build_report", "render_html", "write_report"]

# Every report has these sections, in this order (their HTML ids).
SECTIONS = ("verdict", "charts", "kpis", "assumptions")


def build_report(
    obj: Any,
    title: str | None = None,
    *,
    also: Sequence[str] = (),
    points: Sequence[tuple[str, str]] = (),
) -> Report:
    """The report's content, as the object says it (``obj.report()``); ``also``: paragraphs
    added under its verdict, ``points``: points put before its last one, "what could go wrong"
    (the CLI adds a run's diagnosis)."""
    own = getattr(obj, "report", None)
    report = own() if callable(own) else None
    if not isinstance(report, Report):
        raise TypeError(
            "write_report takes a run, a decision, a fit or a backtest (an object with a "
            f"report() method); got {type(obj).__name__}"
        )
    report.verdict.extend(also)
    if points:
        at = max(0, len(report.points) - 1)
        report.points[at:at] = list(points)
    if title is not None:
        report.title = title
    return report


def render_html(report: Report) -> str:
    """The report as one HTML5 document: images inline, no script, every text escaped."""
    return render_page(page_data(report))


def write_report(
    obj: Any,
    path: str | Path,
    *,
    title: str | None = None,
    also: Sequence[str] = (),
    points: Sequence[tuple[str, str]] = (),
) -> Path:
    """Write a self-contained HTML report of a run or decision to ``path``; return the path.

    The file is written whole or not at all (a temporary file, renamed: simfunnel.base.files)."""
    out = Path(path)
    text = render_html(build_report(obj, title, also=also, points=points))
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    write_text(out, text)
    return out
