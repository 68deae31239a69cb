"""A run (SimulationResult) and an experiment (Experiment) offer the interface of every answer
(simfunnel.results.answer.Answer), as tests/decisions/test_interface.py checks for the
decisions: a verdict in words, the table it rests on, a tidy summary, charts by name, files by
name, a one-line repr, a notebook view, a report, and what ``simfunnel run`` prints. The checks
are tests/answer_checks.py's."""

from __future__ import annotations

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
from conftest import build

import simfunnel

matplotlib.use("Agg")


def small() -> simfunnel.Scenario:
    """Four weeks of a tiny team with 200 leads a week: something in every chart."""
    web = {"name": "web", "rate_per_week": 200, "score": {"mean": 60, "sd": 15}}
    return build(horizon="4 weeks", sources=[web], sdr__headcount=2)


@dataclass(frozen=True)
class Case:
    """How to make one answer, the charts its ``plot(what)`` draws, the files ``save`` writes
    beside verdict.txt (``unnamed``: those not among its ``tables()`` and ``charts()``), and how
    the terminal's text begins."""

    make: Callable[[], Any]
    whats: tuple[str, ...]
    files: tuple[str, ...]
    headline: Callable[[Any], str]
    unnamed: tuple[str, ...] = ()


ANSWERS: dict[str, Case] = {
    "run": Case(
        lambda: simfunnel.simulate(small(), seed=1),
        ("funnel", "weekly", "capacity", "speed_to_lead"),
        (
            "weekly.csv",
            "weekly_by_source.csv",
            "funnel_by_source.csv",
            "leads.csv",
            "reps.csv",
            "kpis.json",
        ),
        lambda r: f"{r.scenario.name}  (seed 1, {r.scenario.period} from ",
        unnamed=("kpis.json",),
    ),
    "experiment": Case(
        lambda: simfunnel.run(small(), reps=3, seed=2, workers=1, progress=False),
        ("won", "sqls", "speed_to_lead.within_1h"),
        ("summary.csv", "totals.csv", "weekly.csv", "variants.csv"),
        lambda e: f"{e.scenario.name}  (3 replications, seed 2, {e.scenario.period} from ",
    ),
    "variants": Case(
        lambda: simfunnel.run_variants(
            small(),
            {"now": {}, "more": {"sdr.headcount": 3}},
            reps=2,
            workers=1,
            progress=False,
            precision={"won": 10.0},
        ),
        ("won", "totals.sqls"),
        (
            "summary.csv",
            "totals.csv",
            "weekly.csv",
            "variants.csv",
            "comparison.csv",
            "precision.csv",
        ),
        lambda e: f"{e.scenarios['now'].name}  (2 replications, seed 0, ",
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
    check_save(answer, tmp_path / "out", spec.files, unnamed=spec.unnamed)


def test_it_shows_itself_in_one_line_and_in_a_notebook(case: tuple[Case, Any]) -> None:
    check_views(case[1])


def test_its_report_leads_with_the_verdict_and_its_text_is_the_terminal_s(
    case: tuple[Case, Any],
) -> None:
    spec, answer = case
    check_report(answer, same_scenario=True)
    check_text(answer, spec.headline(answer))


def test_a_replayed_run_shows_its_seed_in_one_line() -> None:
    experiment = ANSWERS["experiment"].make()
    assert "\n" not in repr(experiment.replay(1))


def test_the_verdict_says_what_an_experiment_is_missing() -> None:
    experiment = ANSWERS["variants"].make()
    assert "2 variants" in experiment.verdict and "complete" in experiment.verdict
    assert "Precision target reached: totals.won" in experiment.verdict


def test_every_figure_it_shows_is_written_for_a_person(case: tuple[Case, Any]) -> None:
    check_readable(case[1])
