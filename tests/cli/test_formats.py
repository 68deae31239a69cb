"""`--format json|csv` on every command that prints results: the shape docs/cli.md documents.

Each results command runs once on a tiny scenario or export (2 weeks, 2 replications) with
``--format json``: standard output is strict JSON (no NaN), with the keys every command prints
(``command``, ``scenario``, ``verdict``, ``table``) and the command's own; messages stay on
standard error. A few run again with ``--format csv``, which must be the same table.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import pytest
import yaml
from answer_checks import unreadable
from conftest import SMALL_YAML, crm_dict, run_cli

from simfunnel.cli.tables import json_value
from simfunnel.results.run_kpis import REPORT_SECTIONS

matplotlib.use("Agg")

REPS = ["--reps", "2", "--workers", "1"]
TARGET = ["--target", "sdr_utilisation<=0.8"]
COMMON = ["command", "scenario", "verdict", "table"]  # first, in this order, in every command
ANSWER = {"summary"}  # what every answer adds (docs/cli.md)
DECISION = {*ANSWER, "complete"}  # and every decision: whether each replication finished
RUN_KEYS = {"seed", "start_date", "weeks", "leads_by_source", *REPORT_SECTIONS}

# command label -> (argv, the keys after COMMON); {f}: the small scenario, {x}: the exports,
# {tmp}: a folder of the test's own.
COMMANDS: dict[str, tuple[list[str], set[str]]] = {
    "run": (["run", "{f}"], RUN_KEYS),
    "run --reps": (
        ["run", "{f}", *REPS],
        {"seed", "reps", "level", "complete", "summary", "failures"},
    ),
    "sweep": (
        ["sweep", "{f}", "--set", "sdr.headcount=2,3", *REPS, "--out", "{tmp}/sweep"],
        {"seed", "reps", "complete", "variants", "failures"},
    ),
    "thresholds": (["thresholds", "{f}", "--values", "40", *REPS, "--no-explain"], DECISION),
    "size": (["size", "{f}", *TARGET, *REPS, "--no-explain"], DECISION),
    "forecast": (["forecast", "{f}", *REPS], DECISION),
    "hire": (["hire", "{f}", *TARGET, *REPS, "--no-explain"], DECISION),
    "explain": (["explain", "{f}", *REPS], DECISION),
    "waterfall": (["waterfall", "{f}", "--revenue", "100000"], {"revenue", "workload"}),
    "diagnose": (["diagnose", "{f}", *REPS], DECISION),
    "fit": (["fit", "{x}", "--out", "{tmp}/fitted.yaml"], {*ANSWER, "scenario_file"}),
    "outlook": (["outlook", "{leads}", "--reps", "50"], {*ANSWER, "notes"}),
    "backtest": (
        ["backtest", "{x}", "--cutoff", "2026-03-02", "--horizon", "3", *REPS],
        ANSWER,
    ),
    "backtest rolling": (
        ["backtest", "{leads}", "--cutoffs", "2026-02-16,2026-03-02", "--horizon", "2"],
        ANSWER,
    ),
}
CSV = ("run", "thresholds", "forecast", "waterfall", "backtest")
FROM_EXPORTS = ("outlook", "backtest rolling")  # no scenario: fitted straight to the export


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The small scenario, and CRM exports of a 12-week run for the commands that read them."""
    tmp = tmp_path_factory.mktemp("formats")
    small = tmp / "small.yaml"
    small.write_text(SMALL_YAML)
    crm_file = tmp / "crm.yaml"
    crm_file.write_text(yaml.safe_dump(crm_dict("12 weeks")))
    crm = tmp / "crm"
    assert run_cli(["export", str(crm_file), "--out", str(crm)])[0] == 0
    exports = [f"--{n}={crm / f'{n}.csv'}" for n in ("leads", "calls", "opportunities")]
    return {"f": str(small), "x": exports}


def argv_of(label: str, inputs: dict[str, Any], tmp: Path, *more: str) -> list[str]:
    argv: list[str] = []
    for arg in COMMANDS[label][0]:
        if arg == "{x}":
            argv += inputs["x"]
        elif arg == "{leads}":  # the lead table alone: the cohort model reads nothing else
            argv += inputs["x"][:1]
        else:
            argv.append(arg.format(f=inputs["f"], tmp=tmp))
    return [*argv, *more]


def strict_json(text: str) -> dict[str, Any]:
    """Parse standard output as JSON, refusing NaN and infinity (not JSON)."""

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in the JSON output")

    data = json.loads(text, parse_constant=refuse)
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("label", list(COMMANDS))
def test_json_has_the_documented_keys(label: str, inputs: dict[str, Any], tmp_path: Path) -> None:
    code, out, err = run_cli(argv_of(label, inputs, tmp_path, "--format", "json"))
    assert code == 0, err
    data = strict_json(out)  # the whole of standard output: no message mixed in
    assert list(data)[:4] == COMMON
    # Money is in the scenario's currency, named (and whether it was assumed) beside it.
    priced = set() if label in FROM_EXPORTS else {"currency"}
    assert set(data) - set(COMMON) == COMMANDS[label][1] | priced
    assert data["command"] == label.split()[0]
    assert isinstance(data["verdict"], str) and data["verdict"].strip()
    if label in FROM_EXPORTS:
        assert data["scenario"] is None
    else:
        assert isinstance(data["scenario"], str) and data["scenario"]
    records = {key: data[key] for key in ("table", "summary") if isinstance(data.get(key), list)}
    assert "table" in records
    if label != "run --reps":  # its summary is by section and KPI, as it always was
        assert ("summary" in records) == ("summary" in data)
    for key, rows in records.items():
        assert rows and all(isinstance(row, dict) and row for row in rows), key
        assert len({frozenset(row) for row in rows}) == 1, key  # one set of columns
    if label == "sweep":
        assert "wrote " in err and {r["variant"] for r in data["variants"]} == {
            r["variant"] for r in data["table"]
        }
    if label == "fit":
        assert Path(data["scenario_file"]).is_file() and data["scenario"] == "fitted"


@pytest.mark.parametrize("label", CSV)
def test_csv_is_the_json_table(label: str, inputs: dict[str, Any], tmp_path: Path) -> None:
    """The same command and seed: the CSV holds the rows and columns of the JSON table."""
    code, out, err = run_cli(argv_of(label, inputs, tmp_path / "j", "--format", "json"))
    assert code == 0, err
    table = strict_json(out)["table"]
    code, out, err = run_cli(argv_of(label, inputs, tmp_path / "c", "--format", "csv"))
    assert code == 0, err
    frame = pd.read_csv(io.StringIO(out), keep_default_na=False)
    assert list(frame.columns) == list(table[0])
    assert len(frame) == len(table)


def test_table_is_an_alias_of_text_on_run(inputs: dict[str, Any]) -> None:
    _, text, _ = run_cli(["run", inputs["f"], "--format", "text"])
    _, table, _ = run_cli(["run", inputs["f"], "--format", "table"])
    assert table == text and "Volumes" in text
    assert run_cli(["thresholds", inputs["f"], "--values", "40", "--format", "table"])[0] == 2


def test_json_values_are_plain() -> None:
    """NaN as null, dates as ISO text, numpy and pandas values as plain JSON values."""
    cells = {
        "nan": (np.float64("nan"), None),
        "inf": (float("inf"), None),
        "NaT": (pd.NaT, None),
        "NA": (pd.NA, None),
        "int64": (np.int64(7), 7),
        "bool_": (np.bool_(True), True),
        "date": (pd.Timestamp("2026-01-05"), "2026-01-05"),
        "time": (pd.Timestamp("2026-01-05 09:30"), "2026-01-05T09:30:00"),
        "day": (dt.date(2026, 1, 5), "2026-01-05"),
        "hours": (pd.Timedelta(minutes=90), 1.5),
        "month": (pd.Period("2026-03", freq="M"), "2026-03"),
        "array": (np.array([1.0, np.nan]), [1.0, None]),
        "path": (Path("a") / "b.csv", str(Path("a") / "b.csv")),
        "nested": ({1: [np.float32(0.5)]}, {"1": [0.5]}),
    }
    for name, (value, expected) in cells.items():
        got = json_value(value)
        assert got == expected and type(got) is type(expected), name
        json.dumps(got, allow_nan=False)


@pytest.mark.parametrize("label", list(COMMANDS))
def test_text_output_is_written_for_a_person(
    label: str, inputs: dict[str, Any], tmp_path: Path
) -> None:
    """What each command prints (standard output and its messages) has no scientific notation,
    no raw float hours, no amount without its currency, no module name (answer_checks)."""
    code, out, err = run_cli(argv_of(label, inputs, tmp_path, "--format", "text"))
    assert code == 0, err
    problems = unreadable(out) + unreadable(err)
    assert not problems, "\n".join(problems[:10])
