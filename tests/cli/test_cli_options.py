"""Bad command lines: one line on standard error, exit code 2 (bad input, before any work) or 1
(a file that could not be written), never a traceback; and no command prints "nan"."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import matplotlib
import pytest
import yaml
from conftest import ROOT, crm_dict
from conftest import SMALL_YAML as SMALL

import simfunnel.decisions
from simfunnel.cli import EXIT_BAD_INPUT, EXIT_FAILED, MEMORY_VARIABLE, main

matplotlib.use("Agg")

TARGET = ["--target", "sdr_utilisation<=0.8"]
EXPORTS = ["--leads", "{tmp}/leads.csv"]


@pytest.fixture
def place(tmp_path: Path) -> dict[str, str]:
    """A scenario, a plain file, a folder, an experiment store and a single run's folder."""
    (tmp_path / "small.yaml").write_text(SMALL)
    (tmp_path / "plain.txt").write_text("not a folder\n")
    (tmp_path / "folder").mkdir()
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "manifest.json").write_text("{}\n")
    (tmp_path / "single").mkdir()
    for name in ("kpis.json", "leads.csv"):
        (tmp_path / "single" / name).write_text("x\n")
    return {
        "f": str(tmp_path / "small.yaml"),
        "tmp": str(tmp_path),
        "file": str(tmp_path / "plain.txt"),
        "dir": str(tmp_path / "folder"),
        "store": str(tmp_path / "store"),
        "single": str(tmp_path / "single"),
    }


BAD = [
    # seeds: whole numbers >= 0
    (["run", "{f}", "--seed", "-1"], "--seed: needs a whole number >= 0 (got '-1')"),
    (["run", "{f}", "--seed", "1.5"], "--seed"),
    (["sweep", "{f}", "--set", "sdr.headcount=2", "--out", "{tmp}/s", "--seed", "-5"], "--seed"),
    (["backtest", *EXPORTS, "--cutoff", "2026-01-19", "--horizon", "1", "--seed", "-1"], "--seed"),
    # value lists
    (["thresholds", "{f}", "--values", ","], "--values ',': no numbers given"),
    (["thresholds", "{f}", "--values", "nan,inf"], "--values 'nan,inf': write finite numbers"),
    (["thresholds", "{f}", "--values", "40,-inf"], "write finite numbers"),
    (["thresholds", "{f}", "--sql-require", ","], "--sql-require ',': no numbers given"),
    (["sweep", "{f}", "--set", "scoring.threshold=50,nan", "--out", "{tmp}/s"], "'nan' is not"),
    (["sweep", "{f}", "--set", "scoring.threshold=.inf", "--out", "{tmp}/s"], "is not finite"),
    # replications: an interval needs two
    (["thresholds", "{f}", "--values", "40", "--reps", "1"], "--reps: needs a whole number >= 2"),
    (["size", "{f}", *TARGET, "--reps", "1"], "--reps: needs a whole number >= 2"),
    (["forecast", "{f}", "--reps", "1"], "--reps: needs a whole number >= 2"),
    (["hire", "{f}", *TARGET, "--reps", "1"], "--reps: needs a whole number >= 2"),
    (["explain", "{f}", "--reps", "1"], "--reps: needs a whole number >= 2"),
    (["diagnose", "{f}", "--reps", "1"], "--reps: needs a whole number >= 2"),
    (["backtest", *EXPORTS, "--cutoff", "2026-01-19", "--horizon", "1", "--reps", "1"], "--reps"),
    (["run", "{f}", "--reps", "0"], "--reps: needs a whole number >= 1"),
    (["run", "{f}", "--workers", "0"], "--workers"),
    # shares and probabilities in (0, 1]; --service-level 0 means no target
    (["thresholds", "{f}", "--values", "40", "--service-level", "2"], "needs a share in (0, 1]"),
    (["thresholds", "{f}", "--values", "40", "--service-level", "nan"], "--service-level"),
    (["thresholds", "{f}", "--values", "40", "--saturation", "0"], "--saturation"),
    (["thresholds", "{f}", "--values", "40", "--max-utilisation", "1.5"], "--max-utilisation"),
    (["thresholds", "{f}", "--values", "40", "--min-valid-rate", "-0.1"], "--min-valid-rate"),
    (["thresholds", "{f}", "--values", "40", "--min-valid-per-week", "inf"], "finite number"),
    (["thresholds", "{f}", "--values", "40", "--cost", "sdr=nan"], "--cost 'sdr=nan'"),
    (["size", "{f}", *TARGET, "--confidence", "0"], "--confidence"),
    (["size", "{f}", "--target", "sdr_utilisation<=1e999"], "must be a finite number"),
    (["forecast", "{f}", "--level", "1"], "--level: needs a share in (0, 1)"),
    (["hire", "{f}", *TARGET, "--volume", "2026-01=nan"], "--volume '2026-01=nan'"),
    # money
    (["waterfall", "{f}", "--revenue", "nan"], "--revenue: needs a finite number > 0"),
    (["waterfall", "{f}", "--revenue", "inf"], "--revenue"),
    (["waterfall", "{f}", "--revenue", "0"], "--revenue"),
    # dates and date formats
    (["backtest", *EXPORTS, "--cutoff", "2026-02-30", "--horizon", "1"], "day is out of range"),
    (["backtest", *EXPORTS, "--cutoff", "tomorrow", "--horizon", "1"], "write YYYY-MM-DD"),
    (["fit", *EXPORTS, "--out", "{tmp}/f.yaml", "--as-of", "yesterday"], "'yesterday': not a date"),
    (["fit", *EXPORTS, "--out", "{tmp}/f.yaml", "--as-of", "2026-01-05T10:00+02:00"], "time zone"),
    (["fit", *EXPORTS, "--out", "{tmp}/f.yaml", "--start", "2026-13-01"], "--start"),
    (["fit", *EXPORTS, "--out", "{tmp}/f.yaml", "--date-format", "%Q"], "no valid date directive"),
    (["fit", *EXPORTS, "--out", "{tmp}/f.yaml", "--date-format", "%H:%M"], "no valid date"),
    (["fit", *EXPORTS, "--out", "{tmp}/f.yaml", "--date-format", "%d.%m.%Y%"], "not a usable"),
    (["fit", *EXPORTS, "--out", "{tmp}/f.yaml", "--date-format", "european"], "--date-format"),
    # memory
    (["--max-memory", "lots", "validate", "{f}"], "--max-memory: needs a size above 0"),
    (["run", "{f}", "--max-memory", "0GiB"], "--max-memory"),
    # output paths, checked before anything runs
    (["run", "{f}", "--out", "{file}"], "is a file, not a directory; --out needs a directory"),
    (["run", "{f}", "--out", "{file}/sub"], "plain.txt is a file, not a folder"),
    (["run", "{f}", "--reps", "2", "--out", "{file}"], "is a file"),
    (["thresholds", "{f}", "--values", "40", "--report", "{dir}"], "is a directory; --report"),
    (["thresholds", "{f}", "--values", "40", "--out", "{file}"], "--out needs a directory"),
    (["size", "{f}", *TARGET, "--report", "{file}/r.html"], "is a file, not a folder"),
    (["forecast", "{f}", "--out", "{file}"], "is a file"),
    (["hire", "{f}", *TARGET, "--out", "{file}"], "is a file"),
    (["report", "{f}", "--out", "{dir}"], "is a directory; --out needs a file path"),
    (["export", "{f}", "--out", "{file}"], "is a file"),
    (["fit", *EXPORTS, "--out", "{dir}"], "is a directory; --out needs a file path"),
    (["fit", *EXPORTS, "--out", "{tmp}/f.yaml", "--tables", "{file}"], "--tables"),
    (["backtest", *EXPORTS, "--cutoff", "2026-01-19", "--horizon", "1", "--out", "{file}"], "file"),
    (["run", "{f}", "--out", "{store}"], "already holds an experiment"),
    (["forecast", "{f}", "--out", "{tmp}/new", "--report", "{tmp}/new"], "need different paths"),
    (["fit", *EXPORTS, "--out", "{tmp}/t", "--tables", "{tmp}/t/more"], "need different paths"),
    (["thresholds", "{f}", "--values", "40", "--out", "{single}"], "already holds a single run"),
    (["run", "{f}", "--reps", "2", "--out", "{single}"], "already holds a single run"),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_a_bad_command_line_is_one_line_and_exit_2(place, capsys, args, message) -> None:
    argv = [a.format(**place) for a in args]
    assert main(argv) == EXIT_BAD_INPUT
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err
    assert "Traceback" not in err and out == ""  # nothing ran


def test_an_output_that_cannot_be_written_is_one_line_naming_it_and_exit_1(place, capsys) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full")
    assert main(["report", place["f"], "--out", "/dev/full"]) == EXIT_FAILED
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line == "/dev/full: No space left on device"


def test_the_verdict_is_printed_before_a_report_that_fails(place, capsys) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full")
    args = ["thresholds", place["f"], "--values", "40", "--reps", "2", "--workers", "1"]
    assert main([*args, "--no-explain", "--report", "/dev/full"]) == EXIT_FAILED
    out, err = capsys.readouterr()
    assert "Do: " in out.splitlines()[0] or "Do: " in out
    assert err.strip().splitlines() == ["/dev/full: No space left on device"]


def test_a_bad_report_path_stops_a_decision_before_it_simulates(place, capsys, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("simulated before checking --report")

    monkeypatch.setattr(simfunnel.decisions, "compare_thresholds", never)
    args = ["thresholds", place["f"], "--values", "40", "--report", place["dir"]]
    assert main(args) == EXIT_BAD_INPUT
    assert "is a directory" in capsys.readouterr().err


def test_force_writes_into_a_folder_that_holds_another_kind_of_output(place, capsys) -> None:
    assert main(["run", place["f"], "--out", place["store"], "--force"]) == 0
    assert (Path(place["store"]) / "weekly.csv").stat().st_size > 0


def test_help_and_version_exit_0(capsys) -> None:
    assert main(["--version"]) == 0
    assert main(["run", "--help"]) == 0
    assert "--max-memory" in capsys.readouterr().out


@pytest.mark.parametrize("before", [True, False])
def test_max_memory_sets_the_variable_before_any_work(place, monkeypatch, before) -> None:
    monkeypatch.delenv(MEMORY_VARIABLE, raising=False)
    option = ["--max-memory", "16GiB"]
    argv = [*option, "validate", place["f"]] if before else ["validate", place["f"], *option]
    assert main(argv) == 0
    assert os.environ[MEMORY_VARIABLE] == "16GiB"


@pytest.mark.parametrize("out", [False, True])
def test_a_closed_pipe_ends_quietly_and_the_files_are_still_written(place, out) -> None:
    """`simfunnel run --format json [--out DIR] | head -1`: no BrokenPipeError, no traceback,
    exit code 1 (as Python exits on EPIPE), and --out written all the same."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable,
        "-m",
        "simfunnel.cli",
        "run",
        place["f"],
        "--format",
        "json",
    ]
    folder = Path(place["tmp"]) / "piped"
    command += ["--out", str(folder)] if out else []
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    child.stdout.close()  # the reader is gone before the first line
    err = child.stderr.read().decode()
    child.stderr.close()
    assert child.wait(timeout=120) == EXIT_FAILED
    assert "Traceback" not in err and "Error" not in err
    if out:
        assert err.startswith("wrote ") and len(err.splitlines()) == 1
        assert (folder / "kpis.json").stat().st_size > 0
    else:
        assert err == ""


@pytest.fixture(scope="module")
def every_command(tmp_path_factory) -> dict[str, str]:
    """What every command prints (standard output and error) on small scenarios."""
    import contextlib
    import io

    tmp = tmp_path_factory.mktemp("every")
    small = tmp / "small.yaml"
    small.write_text(SMALL)
    data = crm_dict("12 weeks")  # one source, for the exports fit and backtest read
    crm_file = tmp / "crm.yaml"
    crm_file.write_text(yaml.safe_dump(data))
    f, crm = str(small), str(tmp / "crm")
    reps = ["--reps", "2", "--workers", "1"]
    exports = ["--leads", f"{crm}/leads.csv", "--calls", f"{crm}/calls.csv"]
    exports += ["--opportunities", f"{crm}/opportunities.csv"]
    commands = {
        "run": ["run", f],
        "run json": ["run", f, "--format", "json"],
        "run csv": ["run", f, "--format", "csv"],
        "run reps": ["run", f, *reps],
        "sweep": ["sweep", f, "--set", "sdr.headcount=2,3", *reps, "--out", str(tmp / "sw")],
        "thresholds": ["thresholds", f, "--values", "40", *reps],
        "thresholds service 0": ["thresholds", f, "--values", "40", "--service-level", "0", *reps],
        "size": ["size", f, *TARGET, *reps],
        "forecast": ["forecast", f, *reps],
        "hire": ["hire", f, *TARGET, *reps],
        "explain": ["explain", f, *reps],
        "waterfall": ["waterfall", f, "--revenue", "100000"],
        "diagnose": ["diagnose", f, *reps],
        "validate": ["validate", f],
        "report": ["report", f, "--out", str(tmp / "r.html")],
        "export": ["export", str(crm_file), "--out", crm],
        "fit": ["fit", *exports, "--out", str(tmp / "fit.yaml")],
        "backtest": ["backtest", *exports, "--cutoff", "2026-03-02", "--horizon", "3", *reps],
    }
    printed = {}
    for name, argv in commands.items():
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
        assert code == 0, (name, err.getvalue())
        printed[name] = out.getvalue() + err.getvalue()
    return printed


def test_no_command_prints_nan(every_command) -> None:
    for name, text in every_command.items():
        assert text.strip(), name
        found = [line for line in text.splitlines() if re.search(r"\bnan\b", line, re.I)]
        assert not found, (name, found[:3])
        assert "Traceback" not in text, name


def test_a_forecast_target_reads_suffixes_and_names_every_metric() -> None:
    from simfunnel.cli.options import FORECAST_METRICS, forecast_target
    from simfunnel.decisions import METRICS

    assert FORECAST_METRICS == METRICS  # the CLI's list, kept light for --help, is the same
    assert forecast_target("won_value=2M") == ("won_value", 2e6)
    assert forecast_target("valid_opportunities=1,200") == ("valid_opportunities", 1200.0)
    for bad in ("wins=3", "won_value", "won_value=-1", "won_value=0"):
        with pytest.raises(argparse.ArgumentTypeError):
            forecast_target(bad)
