"""The run options: one set of defaults, one object passed down, and a misspelt or misplaced
keyword refused by name in every tool that takes them."""

from __future__ import annotations

import pytest
from conftest import build

import simfunnel
from simfunnel.experiments import RunOptions, runner_keywords


def test_run_options_refuse_a_keyword_no_decision_passes_on() -> None:
    assert RunOptions().shared(seed=3, progress=False) == RunOptions(seed=3, progress=False)
    with pytest.raises(TypeError, match="'out'"):
        RunOptions().shared(out="somewhere")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="precision target of 'won'"):
        RunOptions(precision={"won": 0})


def test_runner_keywords_keep_defaults_refuse_a_snapshot_and_fix_a_fresh_seed() -> None:
    assert runner_keywords({"seed": 0, "progress": False}, {"workers": 2}) == {
        "seed": 0,
        "progress": False,
        "workers": 2,
    }
    with pytest.raises(TypeError, match="'snapshot'"):
        runner_keywords({}, {"snapshot": None})
    first = runner_keywords({}, {"seed": None})["seed"]
    second = runner_keywords({}, {"seed": None})["seed"]
    assert isinstance(first, int) and isinstance(second, int) and first != second


def test_a_tool_that_builds_its_own_runs_refuses_a_misspelt_run_keyword() -> None:
    scenario = build()
    result = simfunnel.simulate(scenario, seed=1)
    with pytest.raises(TypeError, match="'sede'"):
        simfunnel.diagnose(result, levers=0, sede=2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="'snapshot'"):
        simfunnel.hiring_plan(scenario, {}, snapshot=None)  # type: ignore[call-arg]
