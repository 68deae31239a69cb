"""How an experiment is read out: an interval of the mean is printed within the bounds its KPI
can take (the data keep the raw ends), a level in percent never rounds to 100%, and an
interrupted run counts the replications its cut round asked for."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from conftest import SMALL_YAML

import simfunnel
from simfunnel.experiments.readout import clipped_interval, replication_counts, summary_text
from simfunnel.results.text import level_text
from simfunnel.scenario import parse_scenario


@pytest.fixture(scope="module")
def two() -> simfunnel.Experiment:
    scenario = parse_scenario(SMALL_YAML, "small")
    return simfunnel.run(scenario, reps=2, seed=1, workers=1, progress=False)


def test_an_interval_is_cut_at_the_bounds_its_kpi_can_take() -> None:
    assert clipped_interval(-3.0, 86.0, "lost", "totals") == (0.0, 86.0)
    assert clipped_interval(-371_567.0, 1e6, "won_value", "totals") == (0.0, 1e6)
    assert clipped_interval(0.8, 1.2, "mql_rate", "rates") == (0.8, 1.0)  # a share
    assert clipped_interval(-2.0, -1.0, "won", "totals") == (0.0, 0.0)
    low, high = clipped_interval(math.nan, math.nan, "won", "totals")
    assert math.isnan(low) and math.isnan(high)
    assert clipped_interval(-3.0, 4.0, "not_a_kpi", "nowhere") == (-3.0, 4.0)  # unknown: as is


def test_the_summary_prints_cut_intervals_and_keeps_the_raw_ones(two) -> None:
    summary = two.summary()
    assert (summary["ci_low"] < 0).any()  # two runs: a t interval reaches below 0
    text = summary_text(two)
    assert " - " not in text and "P10 to P90 of replications" in text
    assert text.count("Note: where a confidence interval reached below 0") == 1
    assert text.splitlines()[2].split()[1:3] == ["95%", "CI"]


def test_a_level_in_percent_keeps_the_decimals_it_needs() -> None:
    assert [level_text(x) for x in (0.8, 0.95, 0.999, 0.9999, 0.001)] == [
        "80%",
        "95%",
        "99.9%",
        "99.99%",
        "0.1%",
    ]


def test_the_summary_header_names_an_odd_level_as_it_is(two) -> None:
    assert "99.9% CI of the mean" in summary_text(two, level=0.999)


def test_an_interrupted_settled_run_counts_the_round_it_was_cut_in(two) -> None:
    """A variant still running was asked for the round's count; one that stopped, for what it
    ran (as the INTERRUPTED line of the command line counts them)."""
    settled = pd.DataFrame(
        {"variant": list(two.scenarios), "replications": [2], "status": ["running"]}
    )
    cut = simfunnel.Experiment(**{**_fields(two), "reps": 6, "settled": settled})
    assert replication_counts(cut) == (2, 6)
    stopped = settled.assign(status="settled")
    done = simfunnel.Experiment(**{**_fields(two), "reps": 6, "settled": stopped})
    assert replication_counts(done) == (2, 2)
    assert replication_counts(two) == (2, 2)


def _fields(experiment: simfunnel.Experiment) -> dict[str, object]:
    names = (
        "scenarios",
        "params",
        "seed",
        "reps",
        "long",
        "totals",
        "failures",
        "interrupted",
        "baseline",
    )
    return {name: getattr(experiment, name) for name in names}
