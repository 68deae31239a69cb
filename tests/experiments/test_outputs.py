"""Outputs: whole files or none, paths checked before work, CSV cells a spreadsheet will not run,
HTML that escapes names, and experiment stores that resume after SIGKILL or a damaged file."""

from __future__ import annotations

import csv
import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from conftest import ROOT
from conftest import SMALL_YAML as SMALL

import simfunnel
from simfunnel.base import files
from simfunnel.cli import EXIT_BAD_INPUT, main
from simfunnel.experiments import DiscardedPartWarning
from simfunnel.experiments import replicate as experiments
from simfunnel.scenario import parse_scenario

matplotlib.use("Agg")

EVIL_SOURCES = ('=HYPERLINK("x")', "@SUM(1)")


def named(text: str, name: str, web: str, events: str) -> str:
    """SMALL with another scenario name and source names (YAML-quoted)."""

    def quote(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    text = text.replace("name: small team", f"name: {quote(name)}")
    text = text.replace("name: web,", f"name: {quote(web)},")
    return text.replace("name: events,", f"name: {quote(events)},")


def no_temporary_files(folder: Path) -> bool:
    return not list(folder.rglob(f"{files.TEMP_PREFIX}*"))


# --------------------------------------------------------------------------- atomic writes


def test_a_write_that_is_interrupted_leaves_the_old_file_and_no_temporary(tmp_path) -> None:
    target = tmp_path / "table.csv"
    files.write_text(target, "a,b\n1,2\n")
    with pytest.raises(KeyboardInterrupt), files.replacing(target) as temp:
        temp.write_text("a,b\n3,")  # half a file, then Ctrl-C
        raise KeyboardInterrupt
    assert target.read_text() == "a,b\n1,2\n"
    assert no_temporary_files(tmp_path)
    files.write_csv(pd.DataFrame({"a": [3], "b": [4]}), target)
    assert target.read_text() == "a,b\n3,4\n"


def test_figures_keep_their_format_and_links_and_devices_are_written_through(tmp_path) -> None:
    from matplotlib.figure import Figure

    figure = Figure()
    figure.subplots().plot([0, 1], [1, 0])
    assert files.save_figure(figure, tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in files.save_figure(figure, tmp_path / "a.svg").read_bytes()[:400]
    real, link = tmp_path / "real.json", tmp_path / "link.json"
    real.write_text("{}")
    link.symlink_to(real)
    files.write_json(link, {"a": 1})
    assert link.is_symlink() and real.read_text() == '{\n  "a": 1\n}\n'
    files.write_text(os.devnull, "gone")  # not replaced by a regular file
    assert not Path(os.devnull).is_file()
    assert no_temporary_files(tmp_path)


def test_experiment_save_never_leaves_a_half_written_table(tmp_path, monkeypatch) -> None:
    experiment = simfunnel.run(parse_scenario(SMALL), reps=2, seed=3, workers=1, progress=False)
    experiment.save(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.glob("*.csv")}
    original = pd.DataFrame.to_csv

    def half_then_ctrl_c(self, path=None, **kwargs):
        text = original(self, None, **kwargs)
        Path(path).write_text(text[: len(text) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        experiment.save(tmp_path)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*.csv")} == before
    assert no_temporary_files(tmp_path)


# --------------------------------------------------------------------------- paths before work


def test_a_folder_that_cannot_be_written_is_refused_before_the_run(tmp_path, capsys) -> None:
    (tmp_path / "small.yaml").write_text(SMALL)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        probe = locked / "probe"
        try:  # as root (CI), permissions do not stop writes: use a folder that is a file
            probe.write_text("")
            probe.unlink()
            (tmp_path / "blocker").write_text("")
            out, expected = tmp_path / "blocker" / "out", "blocker is a file, not a folder"
        except PermissionError:
            out, expected = locked / "out", "cannot write in"
        argv = ["thresholds", str(tmp_path / "small.yaml"), "--values", "40", "--reps", "2"]
        assert main([*argv, "--out", str(out)]) == EXIT_BAD_INPUT
        captured = capsys.readouterr()
        (line,) = captured.err.strip().splitlines()
        assert expected in line and captured.out == ""
    finally:
        locked.chmod(0o700)


def test_a_single_run_does_not_overwrite_an_experiment_store(tmp_path, capsys) -> None:
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL)
    store = tmp_path / "store"
    assert main(["run", str(scenario), "--reps", "2", "--workers", "1", "--out", str(store)]) == 0
    weekly = (store / "weekly.csv").read_bytes()
    capsys.readouterr()
    assert main(["run", str(scenario), "--out", str(store)]) == EXIT_BAD_INPUT
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "already holds an experiment" in line and "--force" in line
    assert (store / "weekly.csv").read_bytes() == weekly
    # The same experiment again resumes into it, as before.
    assert main(["run", str(scenario), "--reps", "3", "--workers", "1", "--out", str(store)]) == 0


# --------------------------------------------------------------------------- formula injection


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("@SUM(1)", "'@SUM(1)"),
        ("+cmd|calc", "'+cmd|calc"),
        ("-2+3", "'-2+3"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("'quoted", "''quoted"),
        ("-5", "-5"),
        ("+1.5e3", "+1.5e3"),
        ("web", "web"),
        ("", ""),
        (-5, -5),
        (-2.5, -2.5),
        (None, None),
    ],
)
def test_a_cell_a_spreadsheet_would_run_gets_a_quote(cell, written) -> None:
    assert files.neutralise_cell(cell) == written
    assert files.restore_cell(files.neutralise_cell(cell)) == cell


def test_text_columns_and_names_are_neutralised_and_numbers_stay_numbers() -> None:
    frame = pd.DataFrame(
        {
            "source": pd.Categorical(["=A()", "web", "=A()"]),
            "name": pd.array(["@x", None, "ok"], dtype="string"),
            "mixed": ["-x", 3, np.nan],
            "value": [-1.5, 2.0, np.nan],
            "=total": [-1, 0, 1],
        }
    )
    safe = files.neutralise(frame)
    assert list(safe["source"]) == ["'=A()", "web", "'=A()"]
    assert safe["name"].tolist()[0] == "'@x" and pd.isna(safe["name"].tolist()[1])
    assert safe["mixed"].tolist()[:2] == ["'-x", 3]
    assert list(safe.columns) == ["source", "name", "mixed", "value", "'=total"]
    assert safe["value"].equals(frame["value"]) and safe["'=total"].tolist() == [-1, 0, 1]
    assert frame["source"].tolist()[0] == "=A()"  # the caller's table is not changed
    back = files.restore(pd.read_csv(io.StringIO(safe.to_csv(index=False))))
    assert back["source"].tolist() == ["=A()", "web", "=A()"] and "=total" in back


def dangerous_cells(folder: Path) -> list[tuple[str, str]]:
    """Cells of every CSV under ``folder`` that a spreadsheet would run as a formula."""
    number = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|-inf")
    found = []
    for path in folder.rglob("*.csv"):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.reader(handle):
                for cell in row:
                    if cell.startswith(("=", "+", "-", "@", "\t", "\r")) and not number.fullmatch(
                        cell
                    ):
                        found.append((path.name, cell))
    return found


def test_no_csv_the_tool_writes_has_a_cell_a_spreadsheet_would_run(tmp_path, capsys) -> None:
    scenario = tmp_path / "evil.yaml"
    scenario.write_text(named(SMALL, "+cmd|calc", *EVIL_SOURCES))
    f, out = str(scenario), tmp_path / "out"
    reps = ["--reps", "2", "--workers", "1"]
    commands = [
        ["run", f, "--out", str(out / "run")],
        ["run", f, *reps, "--out", str(out / "experiment")],
        ["sweep", f, "--set", "sdr.headcount=2,3", *reps, "--out", str(out / "sweep")],
        ["export", f, "--out", str(out / "crm")],
        ["thresholds", f, "--values", "40", *reps, "--no-explain", "--out", str(out / "th")],
        ["thresholds", f, "--values", "40", *reps, "--cost", '=HYPERLINK("x")=1'],
        ["forecast", f, *reps, "--out", str(out / "forecast")],
        ["size", f, "--target", "sdr_utilisation<=0.9", *reps, "--out", str(out / "size")],
    ]
    for argv in commands:
        code = main(argv)
        assert code in (0, EXIT_BAD_INPUT), (argv, capsys.readouterr().err)
    capsys.readouterr()
    assert dangerous_cells(out) == []
    leads = pd.read_csv(out / "run" / "leads.csv")
    assert set(leads["source"]) == {"'" + s for s in EVIL_SOURCES}  # there, and inert
    assert (
        leads["score"].dtype == float
        and (pd.read_csv(out / "run" / "weekly.csv")["week"] >= 0).all()
    )
    assert set(files.restore(leads)["source"]) == set(EVIL_SOURCES)  # and read back exactly
    totals = pd.read_csv(out / "experiment" / "totals.csv")
    assert "'+cmd|calc" in set(totals["variant"]) and '\'=HYPERLINK("x")' in set(totals["metric"])
    crm = pd.read_csv(out / "crm" / "leads.csv")
    assert set(crm["Original Source"]) == {"'" + s for s in EVIL_SOURCES}


def test_html_reports_escape_names(tmp_path, capsys) -> None:
    scenario = tmp_path / "xss.yaml"
    scenario.write_text(
        named(SMALL, "<script>alert(1)</script>", "<script>alert(1)</script>", "<b>events</b>")
    )
    report, decision = tmp_path / "run.html", tmp_path / "th.html"
    assert main(["report", str(scenario), "--out", str(report)]) == 0
    args = ["thresholds", str(scenario), "--values", "40", "--reps", "2", "--workers", "1"]
    assert main([*args, "--no-explain", "--report", str(decision)]) == 0
    for page in (report, decision):
        text = page.read_text()
        assert "<script>alert" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text


# --------------------------------------------------------------------------- resuming


STORE_SCRIPT = """
import os, signal, sys, time
import pandas as pd
import simfunnel
from simfunnel.experiments import replicate as experiments
from simfunnel.scenario import parse_scenario

scenario_file, out, reps, mode, kill_at = sys.argv[1:6]
if mode == "csv":
    experiments._parquet_available = lambda: False
simulate = experiments._simulate

def slow(*args, **kwargs):  # long enough per replication to be stopped in the middle
    time.sleep(0.05)
    return simulate(*args, **kwargs)

experiments._simulate = slow
calls = [0]

def killing(original, binary):
    def write(self, path, *args, **kwargs):
        calls[0] += 1
        if calls[0] == int(kill_at):  # half the bytes, then killed mid-write
            import io
            buffer = io.BytesIO() if binary else io.StringIO()
            original(self, buffer, *args, **kwargs)
            data = buffer.getvalue()
            data = data if isinstance(data, bytes) else data.encode()
            with open(path, "wb") as handle:
                handle.write(data[: len(data) // 2])
                handle.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        return original(self, path, *args, **kwargs)
    return write

pd.DataFrame.to_parquet = killing(pd.DataFrame.to_parquet, True)
pd.DataFrame.to_csv = killing(pd.DataFrame.to_csv, False)
scenario = parse_scenario(open(scenario_file).read())
simfunnel.run(scenario, reps=int(reps), seed=5, workers=1, progress=False, out=out)
"""
REPS = 24


@pytest.fixture(scope="module")
def uninterrupted() -> simfunnel.Experiment:
    return simfunnel.run(parse_scenario(SMALL), reps=REPS, seed=5, workers=1, progress=False)


def start_writer(tmp_path: Path, out: Path, mode: str, kill_at: int) -> subprocess.Popen:
    (tmp_path / "writer.py").write_text(STORE_SCRIPT)
    (tmp_path / "small.yaml").write_text(SMALL)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, str(tmp_path / "writer.py"), str(tmp_path / "small.yaml"), str(out)]
    return subprocess.Popen([*argv, str(REPS), mode, str(kill_at)], env=env)


def resume_and_compare(out: Path, uninterrupted: simfunnel.Experiment, mode: str, monkeypatch):
    if mode == "csv":
        monkeypatch.setattr(experiments, "_parquet_available", lambda: False)
    resumed = simfunnel.run(
        parse_scenario(SMALL), reps=REPS, seed=5, workers=1, progress=False, out=out
    )
    assert resumed.complete
    pd.testing.assert_frame_equal(resumed.totals, uninterrupted.totals)
    pd.testing.assert_frame_equal(resumed.long, uninterrupted.long)
    assert no_temporary_files(out)
    return resumed


@pytest.mark.parametrize("mode", ["parquet", "csv"])
def test_a_writer_killed_in_the_middle_of_a_file_resumes_to_the_same_tables(
    tmp_path, uninterrupted, monkeypatch, mode
) -> None:
    out = tmp_path / "store"
    writer = start_writer(tmp_path, out, mode, kill_at=4)  # killed writing the fourth part
    assert writer.wait(timeout=120) == -signal.SIGKILL
    parts = sorted((out / "replications").glob(f"v*.{mode}"))
    assert len(parts) == 3  # the half-written fourth never got its name
    assert not no_temporary_files(out)  # only its temporary file is half there
    resume_and_compare(out, uninterrupted, mode, monkeypatch)


def test_a_writer_killed_from_outside_resumes_to_the_same_tables(
    tmp_path, uninterrupted, monkeypatch
) -> None:
    out = tmp_path / "store"
    writer = start_writer(tmp_path, out, "parquet", kill_at=10**9)
    deadline = time.monotonic() + 120
    while len(list((out / "replications").glob("v*.parquet"))) < 3:
        assert writer.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    writer.send_signal(signal.SIGKILL)
    assert writer.wait(timeout=60) == -signal.SIGKILL
    assert len(list((out / "replications").glob("v*.parquet"))) < REPS  # it was cut short
    resume_and_compare(out, uninterrupted, "parquet", monkeypatch)


@pytest.mark.parametrize("mode", ["parquet", "csv"])
def test_an_empty_or_truncated_part_file_is_discarded_and_run_again(
    tmp_path, uninterrupted, monkeypatch, mode
) -> None:
    if mode == "csv":
        monkeypatch.setattr(experiments, "_parquet_available", lambda: False)
    out = tmp_path / "store"
    scenario = parse_scenario(SMALL)
    simfunnel.run(scenario, reps=REPS, seed=5, workers=1, progress=False, out=out)
    parts = sorted((out / "replications").glob(f"v*.{mode}"))
    parts[1].write_bytes(b"")  # zero bytes
    data = parts[2].read_bytes()
    parts[2].write_bytes(data[: len(data) // 2])  # cut in the middle
    damaged = [parts[1], parts[2]]
    if mode == "csv":  # cut at a line end: it still parses, but the end row is gone
        lines = parts[3].read_text().splitlines(keepends=True)
        parts[3].write_text("".join(lines[:-5]))
        damaged.append(parts[3])
    with pytest.warns(DiscardedPartWarning) as caught:
        resume_and_compare(out, uninterrupted, mode, monkeypatch)
    messages = [str(w.message) for w in caught if w.category is DiscardedPartWarning]
    assert len(messages) == len(damaged)
    for path, message in zip(damaged, messages, strict=True):
        assert message.startswith(f"{path}: cannot be read") and "run again" in message
    assert all(p.stat().st_size > 0 for p in damaged)


def test_the_command_line_names_a_discarded_part_file_in_one_line(tmp_path, capsys) -> None:
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL)
    argv = ["run", str(scenario), "--reps", "3", "--workers", "1", "--out", str(tmp_path / "s")]
    assert main(argv) == 0
    first = capsys.readouterr().out
    part = tmp_path / "s" / "replications" / "v0000-r000001.parquet"
    part.write_bytes(b"")
    assert main(argv) == 0
    again = capsys.readouterr()
    assert again.out == first
    warnings = [line for line in again.err.splitlines() if line.startswith("warning:")]
    assert warnings == [
        f"warning: {part}: cannot be read (empty file); discarded, the replication is run again"
    ]


def test_names_neutralised_for_spreadsheets_read_back_as_written(tmp_path) -> None:
    """A source called =HYPERLINK(...) is written with a leading quote, and the CRM and snapshot
    readers take exactly that quote off again; text that merely starts with a quote stays."""
    from simfunnel.base.files import write_csv
    from simfunnel.data import read_csv_text

    frame = pd.DataFrame({"source": ['=HYPERLINK("x")', "@SUM(1)", "'quoted", "-1", "web"]})
    path = tmp_path / "t.csv"
    write_csv(frame, path)  # neutralised on the way out
    assert not any(line.startswith(("=", "@")) for line in path.read_text().splitlines())
    assert read_csv_text(path)["source"].tolist() == frame["source"].tolist()
    (tmp_path / "raw.csv").write_text("source\n'plain text\n")
    assert read_csv_text(tmp_path / "raw.csv")["source"].tolist() == ["'plain text"]
