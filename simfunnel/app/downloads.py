"""What the page lets a leader take away: the options compared as one experiment (its HTML
report, and an Excel workbook where ``simfunnel.present`` offers one), and the chosen
scenario as YAML that reads back with ``simfunnel.load_scenario``.

The experiment is ``simfunnel.run_variants`` on the page's plan: the same short horizon,
replications and seed as the tiles, so the report's figures are the page's.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from .. import present
from ..experiments import Experiment, run_variants
from ..present import write_report
from ..scenario import Scenario, scenario_to_dict
from .runs import Plan
from .settings import Settings, chosen_scenario, describe, overrides, short_run

__all__ = [
    "XLSX",
    "compare_options",
    "report_html",
    "scenario_yaml",
    "workbook_bytes",
    "workbook_writer",
]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def compare_options(scenario: Scenario, options: Mapping[str, Settings], plan: Plan) -> Experiment:
    """The options as variants of one experiment on the plan (the first is the baseline), in
    this process and without a progress bar: the answer the downloads are made from."""
    base = short_run(scenario, plan.weeks)
    variants = {name: overrides(scenario, s) for name, s in options.items()}
    return run_variants(base, variants, reps=plan.reps, seed=plan.seed, workers=1, progress=False)


def report_html(experiment: Experiment, title: str) -> bytes:
    """The experiment's self-contained HTML report (``simfunnel.present.write_report``)."""
    with tempfile.TemporaryDirectory(prefix="simfunnel-report-") as folder:
        path = write_report(experiment, Path(folder) / "report.html", title=title)
        return path.read_bytes()


def workbook_writer() -> Callable[[Any, Path], Any] | None:
    """``simfunnel.present.write_workbook`` where this version of simfunnel has it, else None
    (the page then offers no workbook)."""
    writer = getattr(present, "write_workbook", None)
    return writer if callable(writer) else None


def workbook_bytes(experiment: Experiment) -> bytes | None:
    """The experiment as an Excel workbook, or None without a workbook writer."""
    writer = workbook_writer()
    if writer is None:
        return None
    with tempfile.TemporaryDirectory(prefix="simfunnel-workbook-") as folder:
        path = Path(folder) / "simfunnel.xlsx"
        writer(experiment, path)
        return path.read_bytes()


def scenario_yaml(scenario: Scenario, settings: Settings) -> str:
    """The whole scenario (its own horizon) with the settings applied, as YAML, headed by a
    comment saying what was changed."""
    chosen = chosen_scenario(scenario, settings)
    head = f"# {scenario.name}, with {describe(scenario, settings)}\n"
    body = yaml.safe_dump(scenario_to_dict(chosen), sort_keys=False, allow_unicode=True)
    return head + body
