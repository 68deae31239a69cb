"""The outcome of one run as a reader gets it: :class:`SimulationResult`, the run's figures
(:class:`~.run_kpis.RunKPIs`) with the interface of every answer (:mod:`.answer`): its verdict
and the terminal's text from :mod:`.text`, its charts from :mod:`.plots`, its report from
:mod:`.report_content`, its files, and its views in a notebook.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..base.files import write_json
from . import plots
from .answer import AnswerBase, Report
from .kpis import kpi
from .report_content import result_report
from .run_kpis import RunKPIs
from .text import result_text, result_verdict

# REPORT_SECTIONS and TOTAL_KEYS: the report's sections and totals, where they always were.
__all__ = ["CHARTS", "SimulationResult"]


# The charts of one run by the name ``plot(what)`` takes; the first is drawn by default.
CHARTS: dict[str, Callable[..., Any]] = {
    "funnel": plots.funnel,
    "weekly": plots.weekly,
    "capacity": plots.capacity,
    "speed_to_lead": plots.speed_to_lead,
}


@dataclass(frozen=True, eq=False, repr=False)
class SimulationResult(RunKPIs, AnswerBase):
    """The outcome of :func:`simfunnel.simulate`: the run's KPIs and tables (:class:`RunKPIs`),
    and the interface of every answer (``verdict``, ``table``, ``plot``, ``save``, ``report``)."""

    @property
    def verdict(self) -> str:
        """What the run gave, in words: leads to deals won, how busy the SDRs were, how fast
        MQLs were called."""
        return result_verdict(self)

    @property
    def table(self) -> pd.DataFrame:
        """The KPI report as a tidy table: section, metric, value, and the registry's label and
        unit of each metric."""
        table = self.summary()
        entries = [kpi(s, m) for s, m in zip(table["section"], table["metric"], strict=True)]
        table["label"] = [k.label for k in entries]
        table["unit"] = [str(k.unit) for k in entries]
        return table

    def plot(self, what: str | None = None, *, ax: Any = None) -> Any:
        """One chart of the run: ``"funnel"`` (``None``), ``"weekly"`` (MQLs, SQLs and valid
        opportunities), ``"capacity"`` or ``"speed_to_lead"``; on ``ax`` or a new figure."""
        draw = CHARTS.get(what or "funnel")
        if draw is None:
            raise ValueError(f"a run draws one of {', '.join(CHARTS)} (got {what!r})")
        return draw(self, ax=ax)

    def tables(self) -> Mapping[str, pd.DataFrame]:
        """The tables ``save`` writes (as ``simfunnel run --out``), by file stem."""
        return {
            "weekly": self.weekly,
            "weekly_by_source": self.weekly_by_source,
            "funnel_by_source": self.funnel_by_source,
            "leads": self.leads,
            "reps": self.reps,
        }

    def save(self, directory: str | Path) -> dict[str, Path]:
        """Write the tables (CSV), the verdict and the KPI report (kpis.json, no NaN: null) into
        ``directory``; return the paths by name. Each file is written whole or not at all."""
        written = super().save(directory)
        kpis = Path(directory) / "kpis.json"
        written["kpis.json"] = write_json(kpis, self.to_dict(), allow_nan=False)
        return written

    def report(self) -> Report:
        """What the HTML report says about the run (:mod:`.report_content`)."""
        return result_report(self)

    def text(self) -> str:
        """The KPI report as aligned sections: what ``simfunnel run`` prints."""
        return result_text(self)

    def __repr__(self) -> str:
        t = self.totals
        return (
            f"<SimulationResult of {self.scenario.name!r}: seed={self._seed_text()} "
            f"weeks={self.scenario.weeks}, "
            f"{t['leads']} leads, {t['mqls']} MQLs, {t['sqls']} SQLs, "
            f"{t['valid_opportunities']} valid opps, {t['won']} won>"
        )
