"""What the command line prints must not claim more than the runs show: an interrupted decision
says so before its verdict (text and JSON, ``"complete": false``, exit 130); the intervals of
`run --reps` stop at the bounds a KPI can take and say so; a forecast's quantile columns are
named for the quantiles they hold; a fractional target is shown as given."""

from __future__ import annotations

import json
from typing import Any

import matplotlib
from conftest import run_cli

import simfunnel
import simfunnel.decisions
from simfunnel.cli import EXIT_INTERRUPTED
from simfunnel.cli.options import forecast_target
from simfunnel.experiments import replicate as experiments

matplotlib.use("Agg")

QUICK = ["--workers", "1"]
INTERRUPTED = "INTERRUPTED after "
PARTIAL = " replications: the figures below are partial; rerun to finish"


def ctrl_c_at_two(scenario: Any, seed: Any, snapshot: Any = None) -> Any:
    """Replication 2 of every option is where Ctrl-C lands."""
    if seed.spawn_key == (2,):
        raise KeyboardInterrupt
    return simfunnel.simulate(scenario, seed=seed, snapshot=snapshot)


# --------------------------------------------------------------------------- 6. interrupted


def test_an_interrupted_decision_says_so_before_its_verdict(small, monkeypatch) -> None:
    monkeypatch.setattr(experiments, "_simulate", ctrl_c_at_two)
    argv = ["thresholds", small, "--values", "40", "--reps", "4", *QUICK, "--no-explain"]
    code, out, err = run_cli(argv)
    assert code == EXIT_INTERRUPTED
    first, blank, verdict = out.splitlines()[:3]
    # Two options (MQL 40, today's 50) of four replications were asked; the first ran 0 and 1.
    assert first == f"{INTERRUPTED}2 of 8{PARTIAL}" and blank == ""
    assert verdict.startswith(("Do: ", "WARNING: NO COSTS"))
    assert "interrupted: the tables above hold only the finished replications" in err
    code, out, _ = run_cli([*argv, "--format", "json"])
    data = json.loads(out)
    assert code == EXIT_INTERRUPTED and data["complete"] is False
    assert data["verdict"].startswith(f"{INTERRUPTED}2 of 8{PARTIAL}. ")


def test_a_decision_that_finished_is_complete_in_its_json(small) -> None:
    argv = ["thresholds", small, "--values", "50", "--reps", "2", *QUICK, "--no-explain"]
    code, out, _ = run_cli([*argv, "--format", "json"])
    data = json.loads(out)
    assert code == 0 and data["complete"] is True
    assert not data["verdict"].startswith("INTERRUPTED")


def test_an_interrupted_hiring_plan_says_so_too(small, monkeypatch) -> None:
    """hire keeps no experiment of its own: the runner's word on Ctrl-C is what tells."""
    monkeypatch.setattr(experiments, "_simulate", ctrl_c_at_two)
    argv = ["hire", small, "--target", "sdr_utilisation<=0.8", "--reps", "3", *QUICK]
    code, out, err = run_cli([*argv, "--no-explain"])
    assert code == EXIT_INTERRUPTED, err
    assert out.startswith(INTERRUPTED) and PARTIAL in out.splitlines()[0]
    assert "UserWarning" not in err


def test_ctrl_c_before_any_answer_is_one_line_and_exit_130(small, monkeypatch) -> None:
    def pressed(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(simfunnel.decisions, "compare_thresholds", pressed)
    code, out, err = run_cli(["thresholds", small, "--values", "50", *QUICK])
    assert code == EXIT_INTERRUPTED and out == ""
    assert err.strip().splitlines() == ["interrupted before there was an answer to report"]


# --------------------------------------------------------------------------- 4. intervals


def test_run_reps_intervals_stop_at_zero_and_say_so_once(small) -> None:
    code, out, _ = run_cli(["run", small, "--reps", "2", "--seed", "1", *QUICK])
    assert code == 0
    assert "P10 to P90 of replications" in out and " - " not in out
    rows = [line for line in out.splitlines() if line.startswith("  ")]
    assert rows and all(" to " in line for line in rows)
    assert not any("-$" in line or " -" in line for line in rows)  # no negative figure
    assert out.count("Note: where a confidence interval reached below 0") == 1
    # The JSON keeps the raw t interval: some end is below 0 there.
    code, out, _ = run_cli(["run", small, "--reps", "2", "--seed", "1", *QUICK, "--format", "json"])
    lows = [m["ci_low"] for s in json.loads(out)["summary"].values() for m in s.values()]
    assert code == 0 and min(x for x in lows if x is not None) < 0


# --------------------------------------------------------------------------- 5. quantile names


def test_a_forecast_s_columns_name_the_quantiles_they_hold(small) -> None:
    argv = ["forecast", small, "--level", "0.999", "--reps", "3", *QUICK, "--warm-up", "0"]
    code, out, _ = run_cli([*argv, "--format", "json"])
    data = json.loads(out)
    assert code == 0
    for rows in (data["table"], data["summary"]):
        assert {"p0.05", "p50", "p99.95"} <= set(rows[0]) and not {"p10", "p90"} & set(rows[0])
    code, out, _ = run_cli([*argv, "--format", "csv"])
    assert code == 0 and out.splitlines()[0] == "metric,mean,p0.05,p50,p99.95,spreadsheet"


# --------------------------------------------------------------------------- 8. targets


def test_a_fractional_target_is_shown_as_given(small) -> None:
    argv = ["forecast", small, "--reps", "2", *QUICK, "--warm-up", "0"]
    code, out, _ = run_cli([*argv, "--target", "won=2.5", "--target", "won_value=1.1K"])
    assert code == 0
    assert "P(deals won >= 2.5) = " in out and "P(won value >= $1.1K) = " in out


def test_a_target_with_a_suffix_is_the_number_written() -> None:
    """1.1K is 1,100 exactly (not 1100.0000000000002, which a total of 1,100 would miss)."""
    assert forecast_target("won_value=1.1K") == ("won_value", 1100.0)
    assert forecast_target("won=2.5") == ("won", 2.5)
    assert forecast_target("won_value=0.3M") == ("won_value", 300000.0)
