"""What the cohort model's answers share: they are about a model fitted to an export, not about
a scenario (a :class:`~simfunnel.calibration.cohort_forecast.CohortForecast`, a
:class:`~simfunnel.calibration.rolling_result.RollingBacktest`), so they name what they are
about in their repr and notebook view, and their report has no scenario to show.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from ..results.answer import AnswerBase, Chart, Report, Tile

__all__ = ["ModelAnswer", "model_report"]


class ModelAnswer(AnswerBase):
    """An answer without a scenario: ``subject`` (e.g. "of the cohort model as of
    2024-01-01") stands where the scenario's name stands in the other answers."""

    @property
    def subject(self) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        first = " ".join(self.verdict.split()).split(". ")[0]
        if len(first) > 90:
            first = first[:87].rstrip() + "..."
        return f"<{type(self).__name__} {self.subject}: {first}>"


def _main_chart(answer: AnswerBase, ax: Any) -> Any:
    """The answer's main chart on the axes the page gives."""
    return answer.plot(ax=ax)


def model_report(
    answer: ModelAnswer,
    *,
    title: str,
    subtitle: str,
    caption: str,
    kpi_note: str,
    notes: list[str],
    tiles: Sequence[Tile] = (),
    points: Sequence[tuple[str, str]] = (),
) -> Report:
    """A simple report: the tiles and points if any, the verdict (a paragraph per line), the
    main chart and the table."""
    chart: Chart = (caption, functools.partial(_main_chart, answer), (10, 4.5))
    return Report(
        title=title,
        subtitle=subtitle,
        verdict=[line for line in answer.verdict.split("\n") if line.strip()],
        charts=[chart],
        kpis=answer.table,
        kpi_note=kpi_note,
        # A cohort model has no scenario, and Report.scenario is typed Scenario: it should be
        # Scenario | None (simfunnel.results.answer), with the page leaving out the YAML.
        scenario=None,
        notes=notes,
        tiles=list(tiles),
        points=list(points),
    )
