"""Scenarios from the examples, from an uploaded file and from uploaded CRM exports; every bad
input is lines a person reads, naming the file as uploaded, never a temporary path."""

from __future__ import annotations

import copy

import pytest
import yaml
from app_scenarios import ROOT
from conftest import crm_dict

import simfunnel
from simfunnel.app.inputs import BadInput, Upload, bundled, fit_uploads, read_upload
from simfunnel.results import write_exports
from simfunnel.scenario import scenario_from_dict

GOOD = (ROOT / "scenarios" / "launch_team.yaml").read_bytes()


def test_the_examples_are_the_bundled_scenarios() -> None:
    examples = bundled()
    assert {p.name for p in (ROOT / "scenarios").glob("*.yaml")} == set(examples)
    assert "inbound_saas.yaml" in examples


def test_an_uploaded_scenario_reads_as_the_file_does() -> None:
    scenario = read_upload(Upload("launch.yaml", GOOD))
    assert scenario == simfunnel.load_scenario(ROOT / "scenarios" / "launch_team.yaml")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"name: x\nsdr:\n  headcont: 3\n", "sdr.headcont: unknown key; did you mean 'headcount'?"),
        (b"name: [unclosed\n", "line 2 column 1"),
        (b"\x00\x01binary", "a binary file, not YAML text"),
        (b"", "the file is empty"),
        (b"- a list\n", "a scenario is a mapping of sections"),
    ],
    ids=["unknown key", "bad YAML", "binary", "empty", "a list"],
)
def test_a_bad_upload_is_lines_naming_the_file(data: bytes, expected: str) -> None:
    with pytest.raises(BadInput) as caught:
        read_upload(Upload("my folder/broken.yaml", data))
    lines = caught.value.lines
    assert lines and all(line.startswith("broken.yaml") for line in lines), lines
    assert any(expected in line for line in lines), lines
    assert not any("simfunnel-upload" in line or "/tmp" in line for line in lines)


def test_a_name_with_path_parts_stays_inside_the_upload_folder() -> None:
    with pytest.raises(BadInput) as caught:
        read_upload(Upload("../../etc/passwd", b"sdr: 1\n"))
    assert all(line.startswith("passwd") for line in caught.value.lines)


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """CRM exports of a small traced run (hubspot style), as uploads."""
    data = copy.deepcopy(crm_dict("26 weeks"))
    result = simfunnel.simulate(scenario_from_dict(data), seed=3, trace=True)
    paths = write_exports(result, tmp_path_factory.mktemp("crm"))
    return {name: Upload(f"{name}.csv", paths[name].read_bytes()) for name in paths}


def test_uploaded_exports_fit_a_scenario(exports) -> None:
    cal = fit_uploads(exports["leads"], exports["calls"], exports["opportunities"], horizon_weeks=8)
    scenario = cal.scenario
    assert scenario.weeks == 8
    assert scenario.name == "leads"
    assert scenario.sources and scenario.sources[0].rate_per_week > 0
    assert yaml.safe_load(cal.to_yaml())["horizon"]


def test_an_uploaded_mapping_names_the_columns_and_its_faults(exports) -> None:
    """A lead export with its own column name fits with an uploaded mapping, and fails
    without it naming the column; a mapping that cannot be read is named as uploaded."""
    own = exports["leads"].data.replace(b"Create Date", b"Created On", 1)
    leads = Upload("leads.csv", own)
    with pytest.raises(BadInput) as caught:
        fit_uploads(leads, horizon_weeks=8)
    assert "'Create Date' (created)" in caught.value.lines[0]
    mapping = Upload("my mapping.yaml", b"leads:\n  created: Created On\n")
    cal = fit_uploads(leads, horizon_weeks=8, mapping=mapping)
    assert cal.scenario.sources[0].rate_per_week > 0
    with pytest.raises(BadInput) as caught:
        fit_uploads(leads, mapping=Upload("my mapping.yaml", b"leads: [unclosed\n"))
    (line,) = caught.value.lines
    assert line.startswith("my mapping.yaml:") and "/tmp" not in line


def test_exports_that_cannot_be_fitted_name_the_file(exports) -> None:
    header = exports["leads"].data.split(b"\n", 1)[0] + b"\n"
    with pytest.raises(BadInput) as caught:
        fit_uploads(Upload("crm leads.csv", header))
    assert len(caught.value.lines) == 1
    assert "crm leads.csv" in caught.value.lines[0]
    with pytest.raises(BadInput) as caught:
        fit_uploads(Upload("leads.csv", b"no,such\ncolumns,here\n"))
    assert "leads.csv" in caught.value.lines[0] and "/tmp" not in caught.value.lines[0]
