"""What the page lets a leader take away: the report and workbook of the options compared
(the same figures as the page), and the chosen scenario as YAML that reads back."""

from __future__ import annotations

import dataclasses
import io
import zipfile

import pytest
from app_scenarios import SMALL_PLAN, bundled

from simfunnel.app import downloads
from simfunnel.app.runs import outcome, replication
from simfunnel.app.settings import chosen_scenario, today
from simfunnel.scenario import parse_scenario


@pytest.fixture(scope="module")
def scenario():
    return bundled("launch_team")


@pytest.fixture(scope="module")
def option(scenario):
    return dataclasses.replace(today(scenario), sdr=3, threshold=45.0)


@pytest.fixture(scope="module")
def experiment(scenario, option):
    return downloads.compare_options(
        scenario, {"today": today(scenario), "option": option}, SMALL_PLAN
    )


def test_the_experiment_holds_the_page_s_figures(scenario, option, experiment) -> None:
    summary = experiment.summary().set_index(["variant", "section", "metric"])
    for name, settings in (("today", today(scenario)), ("option", option)):
        page = outcome([replication(scenario, settings, SMALL_PLAN, i) for i in range(3)])
        for key in ("totals.sqls", "utilisation.sdr"):
            section, metric = key.split(".")
            assert page.mean(key) == pytest.approx(summary.loc[(name, section, metric), "mean"])


def test_the_report_is_one_html_page_of_the_options(scenario, experiment) -> None:
    html = downloads.report_html(experiment, f"{scenario.name}: today, option").decode("utf-8")
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert "today, option" in html
    assert "<script" not in html.lower()


def test_the_workbook_is_an_excel_file_where_simfunnel_writes_one(experiment) -> None:
    data = downloads.workbook_bytes(experiment)
    if downloads.workbook_writer() is None:
        assert data is None
        return
    assert data is not None
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        assert "xl/workbook.xml" in book.namelist()


def test_the_yaml_reads_back_as_the_chosen_scenario(scenario, option) -> None:
    text = downloads.scenario_yaml(scenario, option)
    assert text.startswith("# Launch")
    assert "SDRs 3 (today 2)" in text.splitlines()[0]
    assert parse_scenario(text, "download.yaml") == chosen_scenario(scenario, option)
    assert parse_scenario(text).weeks == scenario.weeks  # its own horizon, not the page's
