"""Starting the page: the command it runs, and the one-line refusals before anything starts."""

from __future__ import annotations

import sys

import pytest
from app_scenarios import ROOT

from simfunnel.app import launch
from simfunnel.app.launcher import SCRIPT, streamlit_command


def test_the_server_binds_to_this_machine_by_default() -> None:
    command = streamlit_command()
    assert command[:5] == [sys.executable, "-m", "streamlit", "run", str(SCRIPT)]
    assert "--server.address=127.0.0.1" in command
    assert "--server.port=8501" in command
    assert "--browser.gatherUsageStats=false" in command
    assert "--client.showErrorDetails=none" in command
    assert "--" not in command
    assert SCRIPT.is_file()


def test_the_scenario_and_options_reach_the_server() -> None:
    path = ROOT / "scenarios" / "launch_team.yaml"
    command = streamlit_command(str(path), host="0.0.0.0", port=9000, open_browser=False)
    assert "--server.address=0.0.0.0" in command and "--server.port=9000" in command
    assert "--server.headless=true" in command
    assert command[-2:] == ["--", str(path.resolve())]


def test_a_bad_scenario_is_refused_before_the_server_starts(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("sdr:\n  headcont: 2\n")
    assert launch(str(bad), open_browser=False) == 2
    err = capsys.readouterr().err
    assert f"{bad}: sdr.headcont: unknown key; did you mean 'headcount'?" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("port", [0, 70000, "8501", True])
def test_a_bad_port_is_one_line(port, capsys) -> None:
    assert launch(port=port, open_browser=False) == 2  # type: ignore[arg-type]
    assert capsys.readouterr().err.count("\n") == 1
