"""A run (SimulationResult) and an experiment (Experiment) offer the interface of every answer
(simfunnel.results.answer.Answer), as tests/test_interface.py checks for the decisions: a verdict
in words, the table it rests on, a tidy summary, charts by name, files by name, a one-line repr,
a notebook view, a report, and what ``simfunnel run`` prints."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd
import pytest
from conftest import build

import simfunnel
from simfunnel.results.answer import Answer, Report

matplotlib.use("Agg")


def small() -> simfunnel.Scenario:
    """Four weeks of a tiny team with 200 leads a week: something in every chart."""
    web = {"name": "web", "rate_per_week": 200, "score": {"mean": 60, "sd": 15}}
    return build(horizon="4 weeks", sources=[web], sdr__headcount=2)


@dataclass(frozen=True)
class Case:
    """How to make one answer, the charts its ``plot(what)`` draws, the files ``save`` writes
    beside verdict.txt, and how the terminal's text begins."""

    make: Callable[[], Any]
    whats: tuple[str, ...]
    files: tuple[str, ...]
    headline: Callable[[Any], str]


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
        lambda r: f"{r.scenario.name}  (seed 1, {r.scenario.weeks} weeks from ",
    ),
    "experiment": Case(
        lambda: simfunnel.run(small(), reps=3, seed=2, workers=1, progress=False),
        ("won", "sqls", "speed_to_lead.within_1h"),
        ("summary.csv", "totals.csv", "weekly.csv", "variants.csv"),
        lambda e: f"{e.scenario.name}  (3 replications, seed 2, {e.scenario.weeks} weeks from ",
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
    _, answer = case
    assert isinstance(answer, Answer)
    assert isinstance(answer.verdict, str) and answer.verdict.strip()
    assert isinstance(answer.table, pd.DataFrame) and not answer.table.empty
    assert isinstance(answer.summary(), pd.DataFrame) and not answer.summary().empty
    assert isinstance(answer.scenario, simfunnel.Scenario)


def test_every_chart_has_a_title(case: tuple[Case, Any]) -> None:
    import matplotlib.pyplot as plt

    spec, answer = case
    for what in (None, *spec.whats):
        ax = answer.plot(what)
        try:
            assert ax.get_title(), what
        finally:
            plt.close(ax.figure)
    fig, given = plt.subplots()
    try:
        assert answer.plot(ax=given) is given
    finally:
        plt.close(fig)


def test_an_unknown_chart_is_refused(case: tuple[Case, Any]) -> None:
    _, answer = case
    with pytest.raises(ValueError):
        answer.plot("no_such_chart")


def test_save_writes_every_file_it_names(case: tuple[Case, Any], tmp_path: Path) -> None:
    spec, answer = case
    written = answer.save(tmp_path / "out")
    assert set(written) == {*spec.files, "verdict.txt"}
    for name, path in written.items():
        assert isinstance(path, Path) and path.name == name and path.stat().st_size > 0
    assert (tmp_path / "out" / "verdict.txt").read_text() == answer.verdict + "\n"


def test_it_shows_itself_in_one_line_and_in_a_notebook(case: tuple[Case, Any]) -> None:
    _, answer = case
    text = repr(answer)
    assert "\n" not in text and text.startswith(f"<{type(answer).__name__} of ")
    first = " ".join(answer.verdict.split()[:4])
    assert html.escape(first) in answer._repr_html_()


def test_its_report_leads_with_the_verdict_and_its_text_is_the_terminal_s(
    case: tuple[Case, Any],
) -> None:
    spec, answer = case
    report = answer.report()
    assert isinstance(report, Report)
    assert report.verdict and report.verdict[0].strip()
    assert report.charts and report.scenario is answer.scenario
    assert not report.kpis.empty
    assert answer.text().startswith(spec.headline(answer))


def test_a_replayed_run_shows_its_seed_in_one_line() -> None:
    experiment = ANSWERS["experiment"].make()
    assert "\n" not in repr(experiment.replay(1))


def test_the_verdict_says_what_an_experiment_is_missing() -> None:
    experiment = ANSWERS["variants"].make()
    assert "2 variants" in experiment.verdict and "complete" in experiment.verdict
    assert "Precision target reached: totals.won" in experiment.verdict
