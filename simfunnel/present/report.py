"""One self-contained HTML report for the people who decide, from a run or a decision.

``write_report`` takes a :class:`~simfunnel.results.result.SimulationResult`, a
:class:`~simfunnel.decisions.thresholds.ThresholdComparison`, a :class:`~simfunnel.decisions.sizing.Sizing`, a
:class:`~simfunnel.decisions.hiring.HiringPlan`, a :class:`~simfunnel.decisions.forecasting.Forecast`, a
:class:`~simfunnel.calibration.fitting.Calibration` or a :class:`~simfunnel.calibration.backtesting.Backtest` and
writes one HTML file that can be mailed as is: the verdict in plain words first, then the
charts (PNG embedded as base64: no external file, no script), the key figures with their
intervals where the object has them, and at the end every assumption: the scenario as YAML,
which reads back with ``simfunnel.load_scenario``. All text is escaped.

This module holds the entry points; what each object's report says is built in
``decision_content``, ``calibration_content`` and ``backtest_content``, and the page is
rendered from the templates by ``page``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..base.files import write_text
from ..calibration import Backtest, Calibration
from ..decisions import Forecast, HiringPlan, Sizing, ThresholdComparison
from ..results import SimulationResult
from ..results.answer import Report
from .backtest_content import backtest_report
from .calibration_content import calibration_report
from .decision_content import (
    forecast_report,
    hiring_report,
    result_report,
    sizing_report,
    threshold_report,
)
from .page import page_data, render_page

__all__ = ["SECTIONS", "Report", "build_report", "render_html", "write_report"]

# Every report has these sections, in this order (their HTML ids).
SECTIONS = ("verdict", "charts", "kpis", "assumptions")

# The object types a report is written for, each with the builder of what its report says.
BUILDERS: tuple[tuple[type, Callable[[Any], Report]], ...] = (
    (SimulationResult, result_report),
    (ThresholdComparison, threshold_report),
    (Sizing, sizing_report),
    (HiringPlan, hiring_report),
    (Forecast, forecast_report),
    (Calibration, calibration_report),
    (Backtest, backtest_report),
)


def build_report(obj: Any, title: str | None = None) -> Report:
    """The report's content for a run, a decision, a calibration or a backtest."""
    for kind, build in BUILDERS:
        if isinstance(obj, kind):
            report = build(obj)
            if title is not None:
                report.title = title
            return report
    names = ", ".join(k.__name__ for k, _ in BUILDERS)
    raise TypeError(f"write_report takes a {names}; got {type(obj).__name__}")


def render_html(report: Report) -> str:
    """The report as one HTML5 document: images inline, no script, every text escaped."""
    return render_page(page_data(report))


def write_report(obj: Any, path: str | Path, *, title: str | None = None) -> Path:
    """Write a self-contained HTML report of a run or decision to ``path``; return the path.

    The file is written whole or not at all (a temporary file, renamed: simfunnel.base.files)."""
    out = Path(path)
    text = render_html(build_report(obj, title))
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    write_text(out, text)
    return out
