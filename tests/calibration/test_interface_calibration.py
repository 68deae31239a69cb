"""The calibration answers offer the interface every answer offers (simfunnel.results.answer):
a fit (Calibration), a backtest (Backtest), a rolling-origin backtest (RollingBacktest) and the
cohort model's outlook (CohortForecast): a verdict in words, the table it rests on, a summary,
charts by name, files by name, a one-line repr, a notebook view, a report, and the text the
command line prints. Small, fast instances of each; the text is checked against the command.
The shared checks are tests/answer_checks.py's.

Also: a rolling backtest weighted by recency runs on an export whose conversion changed (the
Beta posterior of an immediate stage stays proper with weighted counts)."""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import pytest
import yaml
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
from conftest import build, crm_dict

import simfunnel
from simfunnel.calibration import (
    backtest,
    fit,
    fit_cohorts,
    forecast_cohorts,
    read_leads,
    rolling_backtest,
    synthetic_export,
)
from simfunnel.cli import main
from simfunnel.data import check_exports
from simfunnel.results import write_exports

matplotlib.use("Agg")

CUT, WEEKS, REPS = "2026-03-30", 4, 3


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The exports of 20 weeks of a small funnel (as ``simfunnel export`` writes them)."""
    run = simfunnel.simulate(build(crm_dict("20 weeks")), seed=4, trace=True)
    return write_exports(run, tmp_path_factory.mktemp("crm"))


@pytest.fixture(scope="module")
def thin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A year of leads with only MQL and won dates: the cohort model's export."""
    return synthetic_export("thin", seed=12, months=12).write(tmp_path_factory.mktemp("thin"))


def _outlook(leads: Path) -> Any:
    """The outlook as ``simfunnel outlook --months 2 --reps 50`` makes it."""
    lt, _, _, as_of = check_exports(read_leads(leads))
    model = fit_cohorts(lt.data, as_of)
    end = as_of.to_period("M").start_time + pd.DateOffset(months=2 + (as_of.day != 1))
    return forecast_cohorts(model, end, reps=50, source=str(leads))


def _rolling(leads: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rolling_backtest(leads, cutoffs=["2023-09-01"], horizon_months=2, reps=100)


@dataclass(frozen=True)
class Case:
    """How to make one answer, the charts ``plot(what)`` draws, the files ``save`` writes
    beside verdict.txt (at least; ``unnamed``: those not among its ``tables()`` and
    ``charts()``), the command line that prints its ``text()``, and whether it has a scenario."""

    make: Callable[[dict[str, Path], Path], Any]
    whats: tuple[str, ...]
    files: tuple[str, ...]
    argv: Callable[[dict[str, Path], Path, Path], list[str]]
    has_scenario: bool = True
    unnamed: tuple[str, ...] = ()


CASES: dict[str, Case] = {
    "calibration": Case(
        lambda crm, thin: fit(crm["leads"], crm["calls"], crm["opportunities"]),
        ("sales_cycle", "meeting_delay"),
        ("parameters.csv", "report.csv", "survival_sales_cycle.png", "scenario.yaml"),
        lambda crm, thin, tmp: [
            "fit",
            *("--leads", str(crm["leads"]), "--calls", str(crm["calls"])),
            *("--opportunities", str(crm["opportunities"]), "--out", str(tmp / "fitted.yaml")),
        ],
        unnamed=("scenario.yaml",),
    ),
    "backtest": Case(
        lambda crm, thin: backtest(
            crm["leads"], CUT, WEEKS, reps=REPS, workers=1, arrivals="actual"
        ),
        ("leads", "mqls", "sqls", "valid_opportunities", "won", "lost"),
        ("periods.csv", "summary.csv", "sqls.png", "won.png"),
        lambda crm, thin, tmp: [
            "backtest",
            *("--leads", str(crm["leads"]), "--cutoff", CUT, "--horizon", str(WEEKS)),
            *("--reps", str(REPS), "--workers", "1", "--arrivals", "actual"),
        ],
    ),
    "rolling": Case(
        lambda crm, thin: _rolling(thin),
        ("leads", "mqls", "won"),
        ("cells.csv", "totals.csv", "summary.csv", "variance.csv", "misses.csv", "won.png"),
        lambda crm, thin, tmp: [
            "backtest",
            *("--leads", str(thin), "--cutoffs", "2023-09-01", "--horizon", "2months"),
            *("--reps", "100"),
        ],
        has_scenario=False,
    ),
    "outlook": Case(
        lambda crm, thin: _outlook(thin),
        ("leads", "mqls", "won"),
        ("stages.csv", "arrivals.csv", "forecast.csv", "variance.csv", "won.png"),
        lambda crm, thin, tmp: ["outlook", "--leads", str(thin), "--months", "2", "--reps", "50"],
        has_scenario=False,
    ),
}


@pytest.fixture(scope="module", params=list(CASES))
def case(request: pytest.FixtureRequest, crm: dict[str, Path], thin: Path) -> tuple[Case, Any]:
    spec = CASES[request.param]
    return spec, spec.make(crm, thin)


def test_it_has_a_verdict_a_table_and_a_summary(case: tuple[Case, Any]) -> None:
    spec, answer = case
    # a cohort model has no scenario: it is fitted to the export directly
    check_basics(answer, scenario=spec.has_scenario)
    print(f"\n{type(answer).__name__}: {answer.verdict}")


def test_every_chart_has_a_title_and_an_unknown_one_is_refused(case: tuple[Case, Any]) -> None:
    spec, answer = case
    check_charts(answer, spec.whats)
    check_unknown_chart_refused(answer)


def test_save_writes_every_file_it_names(case: tuple[Case, Any], tmp_path: Path) -> None:
    spec, answer = case
    check_save(answer, tmp_path / "out", spec.files, exact=False, unnamed=spec.unnamed)


def test_it_shows_itself_in_one_line_and_in_a_notebook(case: tuple[Case, Any]) -> None:
    check_views(case[1], repr_of=False)


def test_its_report_leads_with_the_verdict(case: tuple[Case, Any]) -> None:
    spec, answer = case
    check_report(answer, scenario=spec.has_scenario)


def test_its_text_is_what_the_command_prints(
    case: tuple[Case, Any], crm: dict[str, Path], thin: Path, tmp_path: Path
) -> None:
    spec, answer = case
    out, err = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        assert main(spec.argv(crm, thin, tmp_path)) == 0, err.getvalue()
    check_text(answer)
    text = answer.text()
    printed = out.getvalue()
    if type(answer).__name__ == "Calibration":  # the command names the scenario it wrote first
        printed = printed.split(": ", 1)[1]
    assert printed == text + "\n"


def test_a_calibration_saves_its_tables_under_their_old_names(
    case: tuple[Case, Any], tmp_path: Path
) -> None:
    """The command line writes the same files as before: the CSV of each table, survival
    charts per stage, the scenario; the --out files of backtest, outlook and rolling."""
    _, answer = case
    names = set(answer.save(tmp_path))
    kind = type(answer).__name__
    if kind == "Calibration":
        assert {"arrivals.csv", "conversion.csv", "durations.csv", "deal_values.csv"} <= names
        assert yaml.safe_load((tmp_path / "scenario.yaml").read_text())["name"] == "fitted"
    elif kind == "Backtest":
        assert names == {"periods.csv", "summary.csv", "verdict.txt"} | {
            f"{m}.png" for m in CASES["backtest"].whats
        }


# --------------------------------------------------------------------------- recency weights


def test_a_recency_weighted_rolling_backtest_runs_on_a_changed_business(tmp_path: Path) -> None:
    """Weighted by a 20-week half-life, an immediate stage's weighted leads fall below its raw
    event count; its Beta posterior (and the report's interval) use weighted events, so the
    parameters drawn stay proper. Unweighted, the weighted events are the events."""
    path = synthetic_export("regime", seed=14).write(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rb = rolling_backtest(
            path, cutoffs=["2024-06-01"], horizon_months=2, reps=30, half_life_weeks=20
        )
    model = rb.cells[rb.cells["method"] == rb.method]
    assert len(model) and model["p50"].notna().all() and (model["p90"] >= model["p10"]).all()
    leads = read_leads(path).data
    as_of = pd.Timestamp("2024-06-01")
    weighted = fit_cohorts(leads[leads["created"] < as_of], as_of, half_life_weeks=20)
    report = weighted.report()
    assert np.isfinite(report[["low", "high"]].to_numpy(float)).all()
    plain = fit_cohorts(leads[leads["created"] < as_of], as_of)
    for f in plain.stages.values():
        assert f.weighted_events == {s: float(k) for s, k in f.events.items()}
    assert all(math.isfinite(x) for x in plain.report()["rate"])


def test_every_figure_it_shows_is_written_for_a_person(case: tuple[Case, Any]) -> None:
    check_readable(case[1])
