"""Short runs of a setting equal the library's experiments on the same seeds, KPI for KPI and
week for week, and two settings are compared replication by replication."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from app_scenarios import SMALL_PLAN, bundled

import simfunnel
from simfunnel.app.runs import outcome, paired, replication, run_scenario, scenario_key
from simfunnel.app.settings import overrides, short_run, today

KEYS = ("totals.sqls", "totals.valid_opportunities", "utilisation.sdr", "speed_to_lead.within_1h")


@pytest.fixture(scope="module")
def scenario():
    return bundled("mixed_inbound_outbound")


@pytest.fixture(scope="module")
def option(scenario):
    return dataclasses.replace(today(scenario), sdr=6, threshold=50.0)


@pytest.fixture(scope="module")
def outcomes(scenario, option):
    run = [
        outcome([replication(scenario, s, SMALL_PLAN, i) for i in range(SMALL_PLAN.reps)])
        for s in (today(scenario), option)
    ]
    return dict(zip(("today", "option"), run, strict=True))


@pytest.fixture(scope="module")
def experiment(scenario, option):
    """The same two settings as variants of one experiment, by the public API only."""
    base = short_run(scenario, SMALL_PLAN.weeks)
    variants = {"today": {}, "option": overrides(scenario, option)}
    return simfunnel.run_variants(
        base, variants, reps=SMALL_PLAN.reps, seed=SMALL_PLAN.seed, workers=1, progress=False
    )


def test_means_are_the_experiment_s(outcomes, experiment) -> None:
    summary = experiment.summary().set_index(["variant", "section", "metric"])
    for name, out in outcomes.items():
        assert out.reps == SMALL_PLAN.reps
        for key in KEYS:
            section, metric = key.split(".", 1)
            assert out.mean(key) == pytest.approx(summary.loc[(name, section, metric), "mean"])


def test_weekly_values_are_the_experiment_s(outcomes, experiment) -> None:
    long = experiment.long
    for name, out in outcomes.items():
        mine = out.weekly[out.weekly["metric"] == "sqls"].sort_values(["replication", "week"])
        theirs = long[(long["variant"] == name) & (long["metric"] == "sqls")]
        theirs = theirs.sort_values(["replication", "week"])
        assert len(mine) == SMALL_PLAN.reps * SMALL_PLAN.weeks
        np.testing.assert_array_equal(mine["value"].to_numpy(), theirs["value"].to_numpy())


def test_paired_change_is_the_experiment_s_comparison(outcomes, experiment) -> None:
    compare = experiment.compare("today").set_index(["variant", "section", "metric"])
    for key in KEYS:
        section, metric = key.split(".", 1)
        row = compare.loc[("option", section, metric)]
        change = paired(outcomes["option"], outcomes["today"], key)
        assert change.diff == pytest.approx(row["diff"])
        assert change.low == pytest.approx(row["ci_low"])
        assert change.high == pytest.approx(row["ci_high"])


def test_common_random_numbers_same_leads_for_every_setting(outcomes) -> None:
    # Headcount and threshold change what happens to the leads, never which leads arrive.
    leads = [out.kpis["totals.leads"] for out in outcomes.values()]
    pd.testing.assert_series_equal(leads[0], leads[1])
    assert paired(outcomes["option"], outcomes["today"], "totals.leads").diff == 0
    assert paired(outcomes["option"], outcomes["today"], "totals.mqls").diff > 0  # threshold 50


def test_undefined_kpis_are_nan_not_zero(outcomes) -> None:
    out = outcomes["today"]
    assert math.isnan(out.mean("no.such_kpi"))
    assert math.isnan(paired(out, out, "no.such_kpi").diff)


def test_run_scenario_is_the_setting_cut_to_the_plan(scenario, option) -> None:
    run = run_scenario(scenario, option, SMALL_PLAN)
    assert run.weeks == SMALL_PLAN.weeks
    assert run.sdr.headcount == 6 and run.scoring.threshold == 50.0


def test_scenario_key_follows_every_field(scenario) -> None:
    again = bundled("mixed_inbound_outbound")
    assert scenario_key(again) == scenario_key(scenario)
    changed = short_run(scenario, 20)
    assert scenario_key(changed) != scenario_key(scenario)
