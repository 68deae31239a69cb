"""Every answer offers one interface (simfunnel.results.answer.Answer): a verdict in words, the
table it rests on, a tidy summary, charts by name, files by name, a one-line repr, a notebook
view, a report and what the terminal prints. Small, fast instances of each type; a new type is
one entry in ``ANSWERS`` (with the chart names and files it offers). The checks are
tests/answer_checks.py's, shared with the results and the calibration."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import pytest
from answer_checks import (
    check_basics,
    check_charts,
    check_readable,
    check_report,
    check_save,
    check_text,
    check_unknown_chart_refused,
    check_views,
)
from conftest import STEADY_FLOW, build, busy

import simfunnel
from simfunnel.decisions import (
    compare_thresholds,
    diagnose,
    explain_gap,
    forecast,
    hiring_plan,
    size_team,
)

matplotlib.use("Agg")

FAST = {"workers": 1}


# The uncertain rate makes the forecast draw parameters, so it also writes its variance split.
UNCERTAIN = [
    {
        "path": "sources[one].rate_per_week",
        "dist": "lognormal",
        "a": math.log(25),
        "b": 0.3,
        "basis": "a guess",
    },
]


def uncertain() -> simfunnel.Scenario:
    steady = {"horizon": "3 weeks", "warm_up": "1 week", **STEADY_FLOW}
    return build(**steady, uncertainty=copy.deepcopy(UNCERTAIN))


@dataclass(frozen=True)
class Case:
    """How to make one answer, the charts its ``plot(what)`` draws, and the files ``save``
    writes beside verdict.txt."""

    make: Callable[[], Any]
    whats: tuple[str, ...]
    files: tuple[str, ...]


ANSWERS: dict[str, Case] = {
    "thresholds": Case(
        lambda: compare_thresholds(busy(), [50, 70], reps=2, progress=False, explain=True, **FAST),
        ("valid_opportunities", "objective", "within_1h", "tradeoff"),
        (
            "thresholds.csv",
            "overview.csv",
            "valid_opportunities.png",
            "objective.png",
            "tradeoff.png",
        ),
    ),
    "sizing": Case(
        lambda: size_team(
            busy(),
            "sdr",
            ["sdr_utilisation<=0.9", "speed_to_lead_1h>=0.2"],
            reps=2,
            explain=False,
            **FAST,
        ),
        ("sdr_utilisation", "speed_to_lead_1h"),
        ("sizing.csv", "sdr_utilisation.png", "speed_to_lead_1h.png"),
    ),
    "hiring": Case(
        lambda: hiring_plan(
            busy(),
            {"2026-01": 1.5},
            "sdr",
            ["sdr_utilisation<=0.9"],
            reps=2,
            month_weeks=1,
            explain=False,
            **FAST,
        ),
        ("hiring_plan",),
        ("hiring_plan.csv", "hiring_plan.png"),
    ),
    "forecast": Case(
        lambda: forecast(uncertain(), reps=3, progress=False, **FAST),
        ("valid_opportunities", "won", "open_opportunities", "pipeline_value_cumulative"),
        (
            "bands.csv",
            "cumulative.csv",
            "variance_split.csv",
            "valid_opportunities.png",
            "pipeline_value.png",
        ),
    ),
    "gap": Case(
        lambda: explain_gap(busy(), reps=2, **FAST),
        ("bridge",),
        ("gap.csv", "bridge.png"),
    ),
    "diagnosis": Case(
        lambda: diagnose(simfunnel.simulate(busy(), seed=1), levers=0),
        ("stages", "capacity"),
        (
            "stages.csv",
            "capacity.csv",
            "capacity_weeks.csv",
            "activity.csv",
            "stages.png",
            "capacity.png",
        ),
    ),
}


@pytest.fixture(scope="module", params=list(ANSWERS))
def case(request: pytest.FixtureRequest) -> tuple[Case, Any]:
    spec = ANSWERS[request.param]
    return spec, spec.make()


def test_it_is_an_answer_with_a_verdict_and_its_table(case: tuple[Case, Any]) -> None:
    check_basics(case[1])


def test_every_chart_has_a_title_and_an_unknown_one_is_refused(case: tuple[Case, Any]) -> None:
    spec, answer = case
    check_charts(answer, spec.whats)
    check_unknown_chart_refused(answer)


def test_save_writes_every_file_it_names(case: tuple[Case, Any], tmp_path: Path) -> None:
    spec, answer = case
    check_save(answer, tmp_path / "out", spec.files)


def test_it_shows_itself_in_one_line_and_in_a_notebook(case: tuple[Case, Any]) -> None:
    check_views(case[1])


def test_its_report_and_terminal_text_lead_with_the_verdict(case: tuple[Case, Any]) -> None:
    _, answer = case
    check_report(answer)
    check_text(answer, answer.verdict)


def test_every_figure_it_shows_is_written_for_a_person(case: tuple[Case, Any]) -> None:
    check_readable(case[1])
