"""Experiments: replications, variants on common random numbers, executors, resume, failures.

Statistical checks compare with theory on a scenario small enough to solve by hand: leads
arrive as a Poisson process and each is an MQL when its score, N(mean, sd) clipped to [0, 100],
reaches the threshold; so the MQL count is Poisson(rate * weeks * P(score >= threshold)), and
the leads between two thresholds are Poisson too. Tolerances are Z standard errors of the
estimate at the sample size used (Z = 4 as in test_theory: a false alarm about 1 in 16,000).
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import math
import multiprocessing
import os
import re
import shlex
import signal
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, SCENARIOS, SMALL_YAML
from scipy import stats

import simfunnel
from simfunnel.experiments import (
    Experiment,
    ExperimentError,
    ReplicationError,
    replication_seed,
)
from simfunnel.experiments import replicate as experiments
from simfunnel.scenario import (
    load_scenario,
    parse_scenario,
    scenario_from_dict,
    scenario_to_dict,
    with_overrides,
)

Z = 4.0
FORK = multiprocessing.get_start_method() == "fork"
needs_fork = pytest.mark.skipif(
    not FORK, reason="a patched function reaches pool workers only through fork"
)

# A small team with every stage busy: the scenario for executors, resume and failures (the
# shared small team, over three weeks, deal values drawn).
SMALL = with_overrides(
    parse_scenario(SMALL_YAML, "small"),
    {"horizon": "3 weeks", "ae.deal_value": {"dist": "lognormal", "median": 10000, "p90": 40000}},
    source="small",
)

# The MQL count of one week of a 24/7 Poisson source, with almost no SDR work to simulate.
RATE, MEAN, SD = 40.0, 50.0, 20.0
COVER = parse_scenario(
    f"""
name: thresholds
start_date: 2026-01-05
horizon: 1 week
calendar: 24/7
sources:
  - {{name: web, rate_per_week: {RATE}, score: {{mean: {MEAN}, sd: {SD}}}}}
scoring: {{threshold: 40}}
sdr: {{headcount: 1, shrinkage: 0}}
cadence: {{max_attempts: 1, connect_probability: 0, contact_probability: 0}}
speed_to_lead: {{enabled: false}}
outcomes:
  probabilities:
    {{qualified: 1, information_gathering: 0, postponed: 0, no_prospect: 0, do_not_call: 0}}
ae: {{acceptance: {{probability: 1}}, sales_cycle: 30 days, win: {{probability: 1}}, deal_value: 1}}
""",
    "thresholds",
)


def p_mql(threshold: float) -> float:
    """P(score >= threshold) for a clipped N(MEAN, SD) score, 0 < threshold <= 100."""
    return float(stats.norm.sf(threshold, MEAN, SD))


def assert_identical(a: Experiment, b: Experiment) -> None:
    """Same tables, bit for bit (NaN payloads and signed zeros included)."""
    for name in ("long", "totals"):
        x, y = getattr(a, name), getattr(b, name)
        pd.testing.assert_frame_equal(x, y, check_exact=True)
        assert x["value"].to_numpy().tobytes() == y["value"].to_numpy().tobytes(), name
    pd.testing.assert_frame_equal(a.summary(), b.summary(), check_exact=True)
    if len(a.scenarios) > 1:
        pd.testing.assert_frame_equal(a.compare(), b.compare(), check_exact=True)


def kpi(exp: Experiment, metric: str, section: str = "totals") -> pd.DataFrame:
    t = exp.totals
    return t[(t["section"] == section) & (t["metric"] == metric)]


VARIANTS = {"now": {}, "strict": {"scoring.threshold": 60}, "bigger": {"sdr.headcount": 3}}


@pytest.fixture(scope="module")
def reference() -> Experiment:
    """Three variants x 5 replications, run inline: what every executor must reproduce."""
    return simfunnel.run_variants(SMALL, VARIANTS, reps=5, seed=42, workers=1, progress=False)


# ----------------------------------------------------------------------------- scenario as data


@pytest.mark.parametrize(
    "path",
    [*SCENARIOS, *sorted((ROOT / "benchmarks").glob("*.yaml"))],
    ids=lambda p: p.name,
)
def test_a_scenario_dumped_to_data_reads_back_equal(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario_from_dict(scenario_to_dict(scenario), "dump") == scenario


def test_every_duration_form_round_trips() -> None:
    scenario = with_overrides(
        SMALL,
        {
            "cadence.durations.conversation": {"dist": "gamma", "mean": "9 min", "cv": 0.5},
            "cadence.durations.connect": {
                "dist": "empirical",
                "values": ["1 min", "150 s", "0.07 h"],
                "weights": [1, 2, 1],
            },
            "cadence.gaps": ["3 min", "1 day", "36 h", "2 days", "1 week"],
            "speed_to_lead.patience": {"dist": "lognormal", "mean": "7 h", "cv": 1.5},
            "speed_to_lead.contact": {"0 h": 1, "7 min": 0.9, "1 day": 0.2},
            "nurture": {"cool_down": "2 days"},
            "ae.team": {"headcount": 2, "max_open_per_ae": 4, "backfill_after": "3 weeks"},
        },
    )
    assert scenario.cadence.gaps[0] == 3 / 60  # hours, as the file's '3 min'
    assert scenario_from_dict(scenario_to_dict(scenario)) == scenario


def test_plain_model_dump_does_not_round_trip_which_is_why_there_is_a_dump() -> None:
    """Durations are stored in hours and a file must give a unit: '0.05' alone is refused."""
    with pytest.raises(simfunnel.ScenarioError, match="unit"):
        scenario_from_dict(SMALL.model_dump(by_alias=True))


def test_overrides_set_fields_by_dotted_path_and_list_index() -> None:
    changed = with_overrides(
        SMALL,
        {
            "sdr.headcount": 5,
            "sources.0.rate_per_week": 12,
            "sources[1].score.mean": 61,
            "cadence.durations.conversation": "12 min",
        },
    )
    assert changed.sdr.headcount == 5
    assert changed.sources[0].rate_per_week == 12
    assert changed.sources[1].score.mean == 61
    assert changed.cadence.durations.conversation.mean == pytest.approx(0.2)
    assert SMALL.sdr.headcount == 2  # the base is untouched
    assert changed.sources[1].name == "events"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("sdr.headcont", 3, "sdr.headcont: unknown key; did you mean 'headcount'?"),
        ("sdr.headcount", "many", "sdr.headcount: write a plain number"),
        ("cadence.connect_probability", 1.5, "cadence.connect_probability: Input should be"),
        ("cadence.gaps", ["1 fortnight"], "unknown time unit 'fortnight'"),
        ("sources[5].rate_per_week", 1, "sources[5]: sources has 2 item(s), numbered from 0"),
        ("sources.first.rate_per_week", 1, "sources.first: sources is a list; index it by"),
        ("sdr.headcount.x", 1, "sdr.headcount.x: sdr.headcount is a value (2), not a section"),
        ("sdr..headcount", 1, "not a field path"),
    ],
)
def test_a_bad_override_is_one_line_naming_the_variant_and_path(path, value, message) -> None:
    with pytest.raises(simfunnel.ScenarioError) as err:
        simfunnel.run_variants(SMALL, {"now": {}, "bad": {path: value}}, reps=1, workers=1)
    (line,) = err.value.problems
    assert line.startswith("variant 'bad': ")
    assert message in line


def test_an_override_error_reads_like_the_same_error_in_a_file(tmp_path: Path) -> None:
    data = scenario_to_dict(SMALL)
    data["sdr"]["headcount"] = "many"
    import yaml

    file = tmp_path / "bad.yaml"
    file.write_text(yaml.safe_dump(data))
    with pytest.raises(simfunnel.ScenarioError) as from_file:
        load_scenario(file)
    with pytest.raises(simfunnel.ScenarioError) as from_override:
        with_overrides(SMALL, {"sdr.headcount": "many"}, source="x")
    (a,), (b,) = from_file.value.problems, from_override.value.problems
    assert a.removeprefix(f"{file}: ") == b.removeprefix("x: ")


# ----------------------------------------------------------------------------- replications


def test_every_row_can_be_replayed_alone_from_its_seed_and_replication() -> None:
    exp = simfunnel.run(SMALL, reps=3, seed=11, workers=1, progress=False)
    assert exp.complete and set(exp.totals["seed"]) == {11} and set(exp.long["seed"]) == {11}
    for i in range(3):
        alone = simfunnel.simulate(SMALL, seed=np.random.SeedSequence(11, spawn_key=(i,)))
        spawned = np.random.SeedSequence(11).spawn(3)[i]
        assert replication_seed(11, i).spawn_key == spawned.spawn_key == (i,)
        rows = kpi(exp, "leads").set_index("replication")["value"]
        assert rows[i] == alone.totals["leads"]
        mine = exp.totals[(exp.totals["replication"] == i) & (exp.totals["section"] == "totals")]
        assert dict(zip(mine["metric"], mine["value"], strict=True)) == {
            k: float(v) for k, v in alone.totals.items()
        }
        weekly = exp.long[exp.long["replication"] == i]
        table = weekly.pivot(index="week", columns="metric", values="value")
        for column in table.columns:
            assert np.array_equal(
                table[column].to_numpy(), alone.weekly[column].to_numpy(dtype=float), equal_nan=True
            ), column
        assert exp.replay(i).totals == alone.totals


def test_tables_are_tidy_and_generic_over_kpis_and_weekly_columns() -> None:
    exp = simfunnel.run(SMALL, reps=2, seed=1, workers=1, progress=False)
    one = simfunnel.simulate(SMALL, seed=exp.seed_of(0))
    assert list(exp.long.columns) == ["variant", "replication", "seed", "metric", "week", "value"]
    assert list(exp.totals.columns) == [
        "variant",
        "replication",
        "seed",
        "section",
        "metric",
        "value",
    ]
    numeric = [c for c in one.weekly.select_dtypes(include=["number", "bool"]) if c != "week"]
    assert list(dict.fromkeys(exp.long["metric"])) == numeric
    report = one.to_dict()
    sections = [k for k, v in report.items() if isinstance(v, dict) and k != "seed"]
    assert list(dict.fromkeys(exp.totals["section"])) == sections
    assert len(exp.long) == 2 * len(numeric) * SMALL.weeks
    assert set(exp.variants) == {"small team"}


def test_workers_send_back_a_table_that_does_not_grow_with_the_leads() -> None:
    few = experiments.run_replication(with_overrides(SMALL, {"sources.0.rate_per_week": 5}), 0, 0)
    many = experiments.run_replication(
        with_overrides(SMALL, {"sources.0.rate_per_week": 2000}), 0, 0
    )
    assert isinstance(few, pd.DataFrame) and isinstance(many, pd.DataFrame)
    assert len(few) == len(many) < 2000


def test_summary_is_mean_sd_t_interval_and_percentiles_of_the_replications() -> None:
    exp = simfunnel.run(SMALL, reps=6, seed=3, workers=1, progress=False)
    values = kpi(exp, "mqls")["value"].to_numpy()
    row = exp.summary().query("section == 'totals' and metric == 'mqls'").iloc[0]
    half = stats.t.ppf(0.975, 5) * values.std(ddof=1) / math.sqrt(6)
    assert row["n"] == 6
    assert row["mean"] == pytest.approx(values.mean())
    assert row["sd"] == pytest.approx(values.std(ddof=1))
    assert row["ci_low"] == pytest.approx(values.mean() - half)
    assert row["ci_high"] == pytest.approx(values.mean() + half)
    assert [row["p10"], row["p50"], row["p90"]] == pytest.approx(
        np.quantile(values, [0.1, 0.5, 0.9])
    )
    wider = exp.summary(level=0.99).query("section == 'totals' and metric == 'mqls'").iloc[0]
    assert wider["half_width"] > row["half_width"]


def test_undefined_rates_are_left_out_of_the_summary_not_counted_as_zero() -> None:
    nothing = with_overrides(SMALL, {"sources.0.rate_per_week": 0, "sources.1.rate_per_week": 0})
    exp = simfunnel.run(nothing, reps=3, workers=1, progress=False)
    row = exp.summary().query("metric == 'connect_rate'").iloc[0]
    assert row["n"] == 0 and math.isnan(row["mean"])


# ----------------------------------------------------------------------------- variants and CRN


def test_variants_see_the_same_leads_and_carry_their_parameters(reference) -> None:
    leads = kpi(reference, "leads").pivot(index="replication", columns="variant", values="value")
    assert (leads.nunique(axis=1) == 1).all()  # common random numbers: the same arrivals
    assert leads["now"].nunique() > 1  # ... and different ones in each replication
    assert list(reference.params.columns) == ["variant", "scoring.threshold", "sdr.headcount"]
    params = reference.params.set_index("variant")
    assert params.loc["strict", "scoring.threshold"] == 60
    assert params.loc["now", "scoring.threshold"] == 50  # the base value where not overridden
    assert params.loc["bigger", "sdr.headcount"] == 3
    assert {"scoring.threshold", "sdr.headcount"} <= set(reference.totals.columns)


def test_compare_gives_paired_differences_and_the_variance_reduction(reference) -> None:
    comparison = reference.compare()
    assert set(comparison["variant"]) == {"strict", "bigger"}
    assert set(comparison["baseline"]) == {"now"}
    row = comparison.query("variant == 'strict' and section == 'totals' and metric == 'mqls'")
    row = row.iloc[0]
    wide = kpi(reference, "mqls").pivot(index="replication", columns="variant", values="value")
    d = wide["strict"] - wide["now"]
    assert row["diff"] == pytest.approx(d.mean())
    half = stats.t.ppf(0.975, 4) * d.std(ddof=1) / math.sqrt(5)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((d.mean() - half, d.mean() + half))
    unpaired = wide["strict"].var(ddof=1) + wide["now"].var(ddof=1)
    assert row["variance_reduction"] == pytest.approx(unpaired / d.var(ddof=1))
    # A KPI the variant cannot change has no paired variance at all: an infinite reduction.
    same = comparison.query("variant == 'bigger' and metric == 'mqls' and section == 'totals'")
    assert same["diff_sd"].iloc[0] == 0 and same["variance_reduction"].iloc[0] == math.inf
    with pytest.raises(ValueError, match="no variant"):
        reference.compare(baseline="nope")


@pytest.mark.slow  # many runs: CI runs it (make test FULL=1)
def test_paired_intervals_cover_the_known_difference_at_the_nominal_rate() -> None:
    """K independent experiments of n paired replications, thresholds 40 and 60: the 95%
    interval of the MQL difference must cover rate * (P(score >= 40) - P(score >= 60)) in
    95% of them, within Z binomial standard errors of K."""
    k, n = 150, 4
    exp = simfunnel.run_variants(
        COVER,
        {"t40": {}, "t60": {"scoring.threshold": 60}},
        reps=k * n,
        seed=2026,
        workers=2,
        progress=False,
    )
    lam40, lam60 = RATE * p_mql(40), RATE * p_mql(60)  # mean MQLs at each threshold
    between = lam40 - lam60  # leads scoring in [40, 60): the ones the stricter variant drops
    truth = -between  # t60 - t40
    covered = 0
    mqls = (exp.totals["section"] == "totals") & (exp.totals["metric"] == "mqls")
    for g in range(k):
        mine = mqls & (exp.totals["replication"] // n == g)  # experiment g: its own seeds
        part = dataclasses.replace(exp, totals=exp.totals[mine], long=exp.long.iloc[:0], reps=n)
        row = part.compare().query("section == 'totals' and metric == 'mqls'").iloc[0]
        assert row["n"] == n
        covered += row["ci_low"] <= truth <= row["ci_high"]
    se = math.sqrt(k * 0.95 * 0.05)
    assert abs(covered - 0.95 * k) <= Z * se, (covered, k)

    # Over all N = k * n pairs: the mean difference, and the variances behind the reduction.
    N = k * n
    whole = exp.compare().query("section == 'totals' and metric == 'mqls'").iloc[0]
    assert abs(whole["diff"] - truth) <= Z * math.sqrt(between / N)
    wide = kpi(exp, "mqls").pivot(index="replication", columns="variant", values="value")

    def var_se(lam: float) -> float:
        """Standard error of the sample variance of N Poisson(lam) values (kurtosis 3 + 1/lam)."""
        return math.sqrt(lam**2 * (2 / (N - 1) + 1 / (lam * N)))

    for column, lam in (("t40", lam40), ("t60", lam60)):
        assert abs(wide[column].var(ddof=1) - lam) <= Z * var_se(lam), column
    assert abs(whole["diff_sd"] ** 2 - between) <= Z * var_se(between)
    # Pairing removes the shared leads' noise: reduction (lam40 + lam60) / between, about 2.6,
    # within the bounds the variance tolerances above allow.
    low = (lam40 + lam60 - Z * (var_se(lam40) + var_se(lam60))) / (between + Z * var_se(between))
    high = (lam40 + lam60 + Z * (var_se(lam40) + var_se(lam60))) / (between - Z * var_se(between))
    assert low <= whole["variance_reduction"] <= high, (low, whole["variance_reduction"], high)


def test_sweep_runs_the_full_grid_with_one_column_per_path() -> None:
    grid = {"sdr.headcount": [1, 3], "scoring.threshold": [45, 60]}
    exp = simfunnel.sweep(SMALL, grid, reps=2, workers=1, progress=False)
    assert exp.variants == [
        "sdr.headcount=1, scoring.threshold=45",
        "sdr.headcount=1, scoring.threshold=60",
        "sdr.headcount=3, scoring.threshold=45",
        "sdr.headcount=3, scoring.threshold=60",
    ]
    assert exp.baseline == exp.variants[0]
    summary = exp.summary()
    assert {"sdr.headcount", "scoring.threshold"} <= set(summary.columns)
    assert len(exp.compare().drop_duplicates("variant")) == 3
    with pytest.raises(ValueError, match="given twice"):
        simfunnel.sweep(SMALL, {"sdr.headcount": [1, 1]}, reps=1)


# ----------------------------------------------------------------------------- adaptive


def test_adaptive_replications_stop_at_the_first_batch_that_meets_the_target() -> None:
    target, batch = 0.05, 5
    exp = simfunnel.run(
        COVER, reps=batch, precision={"mqls": target}, max_reps=300, workers=1, progress=False
    )
    assert exp.target_reached is True
    (row,) = exp.precision.itertuples()
    assert row.kpi == "totals.mqls" and row.n == exp.reps and row.rel_half_width <= target
    assert exp.reps % batch == 0 and exp.complete

    def rel(values: np.ndarray) -> float:
        half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
        return half / values.mean()

    values = kpi(exp, "mqls").sort_values("replication")["value"].to_numpy()
    assert rel(values) == pytest.approx(row.rel_half_width)
    assert rel(values[:-batch]) > target  # one batch fewer would not have done
    # Theory: n ~ (z * sd / (target * mean))^2 with mean = sd^2 = rate * P(score >= 40).
    lam = RATE * p_mql(40)
    expected = (1.96 / (target * math.sqrt(lam))) ** 2
    assert expected / 2 < exp.reps < expected * 2


def test_adaptive_replications_report_a_target_out_of_reach() -> None:
    exp = simfunnel.run(
        COVER, reps=4, precision={"totals.mqls": 0.001}, max_reps=8, workers=1, progress=False
    )
    assert exp.target_reached is False and exp.reps == 8
    assert kpi(exp, "mqls")["replication"].nunique() == 8


def test_adaptive_replications_name_an_unknown_kpi() -> None:
    with pytest.raises(ValueError, match=r"no KPI 'mql'.*did you mean"):
        simfunnel.run(COVER, reps=2, precision={"mql": 0.1}, workers=1, progress=False)


# ----------------------------------------------------------------------------- executors


def test_arguments_are_checked_before_anything_runs() -> None:
    with pytest.raises(ValueError, match="not both"):
        simfunnel.run(SMALL, reps=2, workers=2, executor=cf.ThreadPoolExecutor(1))
    with pytest.raises(ValueError, match="reps"):
        simfunnel.run(SMALL, reps=0)
    with pytest.raises(ValueError, match="workers"):
        simfunnel.run(SMALL, reps=2, workers=0)
    with pytest.raises(TypeError, match="executor"):
        simfunnel.run(SMALL, reps=2, executor=object())
    with pytest.raises(TypeError, match="Scenario"):
        simfunnel.run({"name": "x"}, reps=2)  # type: ignore[arg-type]


def test_two_worker_processes_give_the_same_tables_bit_for_bit(reference) -> None:
    exp = simfunnel.run_variants(SMALL, VARIANTS, reps=5, seed=42, workers=2, progress=False)
    assert_identical(reference, exp)


def test_a_thread_pool_gives_the_same_tables_bit_for_bit(reference) -> None:
    with cf.ThreadPoolExecutor(max_workers=3) as pool:
        exp = simfunnel.run_variants(SMALL, VARIANTS, reps=5, seed=42, executor=pool)
    assert_identical(reference, exp)


# ----------------------------------------------------------------------------- failures


def fail_at_two(scenario, seed, snapshot=None):
    """Stands in for simulate: replication 2 raises (picklable, so pool workers run it)."""
    if seed.spawn_key == (2,):
        raise ValueError("injected failure")
    return simfunnel.simulate(scenario, seed=seed, snapshot=snapshot)


@pytest.mark.parametrize("workers", [1, pytest.param(2, marks=needs_fork)])
def test_a_failing_replication_is_reported_with_its_seed_and_the_others_go_on(
    monkeypatch, workers
) -> None:
    monkeypatch.setattr(experiments, "_simulate", fail_at_two)
    exp = simfunnel.run(SMALL, reps=4, seed=5, workers=workers, progress=False)
    (failure,) = exp.failures.itertuples()
    assert (failure.variant, failure.replication, failure.seed) == ("small team", 2, 5)
    assert failure.error == "ValueError: injected failure"
    assert "fail_at_two" in failure.traceback and "injected failure" in failure.traceback
    assert "SeedSequence(5, spawn_key=(2,))" in failure.replay
    assert sorted(set(exp.totals["replication"])) == [0, 1, 3]
    assert not exp.complete


def test_fail_fast_raises_naming_the_replication_and_its_seed(monkeypatch) -> None:
    monkeypatch.setattr(experiments, "_simulate", fail_at_two)
    with pytest.raises(ReplicationError) as err:
        simfunnel.run_variants(SMALL, {"a": {}}, reps=4, seed=5, workers=1, fail_fast=True)
    assert (err.value.variant, err.value.replication, err.value.seed) == ("a", 2, 5)
    message = str(err.value)
    assert "replication 2 of variant 'a' failed: ValueError: injected failure" in message
    assert "SeedSequence(5, spawn_key=(2,))" in message


# ----------------------------------------------------------------------------- interrupt, resume


def interrupt_at_three(scenario, seed, snapshot=None):
    """Ctrl-C while replication 3 runs in this process."""
    if seed.spawn_key == (3,):
        raise KeyboardInterrupt
    return simfunnel.simulate(scenario, seed=seed, snapshot=snapshot)


def ctrl_c_at_three(scenario, seed, snapshot=None):
    """In a pool worker: Ctrl-C reaches the parent while replication 3 runs."""
    if seed.spawn_key == (3,):
        os.kill(os.getppid(), signal.SIGINT)
    return simfunnel.simulate(scenario, seed=seed, snapshot=snapshot)


def counting(calls: list[tuple[int, ...]]):
    def simulate(scenario, seed, snapshot=None):
        calls.append(seed.spawn_key)
        return simfunnel.simulate(scenario, seed=seed, snapshot=snapshot)

    return simulate


@pytest.mark.parametrize("parquet", [True, False], ids=["parquet", "csv"])
def test_an_interrupted_run_resumes_to_the_same_tables(
    monkeypatch, tmp_path, reference, parquet
) -> None:
    if parquet:
        pytest.importorskip("pyarrow")
    monkeypatch.setattr(experiments, "_parquet_available", lambda: parquet)
    out = tmp_path / "run"
    monkeypatch.setattr(experiments, "_simulate", interrupt_at_three)
    with pytest.warns(UserWarning, match="interrupted: 3 of 15"):
        first = simfunnel.run_variants(SMALL, VARIANTS, reps=5, seed=42, workers=1, out=out)
    assert first.interrupted and not first.complete
    finished = first.totals[["variant", "replication"]].drop_duplicates()
    assert finished.values.tolist() == [["now", 0], ["now", 1], ["now", 2]]
    suffix = "parquet" if parquet else "csv"
    assert len(list((out / "replications").glob(f"*.{suffix}"))) == 3

    calls: list[tuple[int, ...]] = []
    monkeypatch.setattr(experiments, "_simulate", counting(calls))
    resumed = simfunnel.run_variants(SMALL, VARIANTS, reps=5, seed=42, workers=1, out=out)
    assert len(calls) == 15 - 3  # the finished ones were read back, not rerun
    assert resumed.complete
    assert_identical(reference, resumed)


@pytest.fixture
def sigint_raises():
    """Ctrl-C raises KeyboardInterrupt here, even in a test run a shell started in the
    background (which ignores SIGINT)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@needs_fork
def test_ctrl_c_with_a_process_pool_cancels_pending_work_and_keeps_what_finished(
    monkeypatch, tmp_path, sigint_raises
) -> None:
    full = simfunnel.run(SMALL, reps=12, seed=8, workers=1, progress=False)
    monkeypatch.setattr(experiments, "_simulate", ctrl_c_at_three)
    out = tmp_path / "run"
    with pytest.warns(UserWarning, match="interrupted"):
        part = simfunnel.run(SMALL, reps=12, seed=8, workers=2, out=out, progress=False)
    done = sorted(set(part.totals["replication"]))
    assert part.interrupted and not part.complete
    assert len(done) < 12  # what had not started was cancelled
    same = full.totals[full.totals["replication"].isin(done)].reset_index(drop=True)
    pd.testing.assert_frame_equal(part.totals, same, check_exact=True)
    calls: list[tuple[int, ...]] = []
    monkeypatch.setattr(experiments, "_simulate", counting(calls))
    resumed = simfunnel.run(SMALL, reps=12, seed=8, workers=1, out=out, progress=False)
    assert sorted(calls) == [(i,) for i in range(12) if i not in done]
    assert_identical(full, resumed)


class PressedInAFinaliser:
    """Ctrl-C that lands while a finaliser runs: Python swallows the KeyboardInterrupt there."""

    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10_000):  # the handler runs here, inside __del__
            pass


def swallowed_ctrl_c_at_three(scenario, seed, snapshot=None):
    result = simfunnel.simulate(scenario, seed=seed, snapshot=snapshot)
    if seed.spawn_key == (3,):
        PressedInAFinaliser()  # dropped at once: __del__ runs now
    return result


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_ctrl_c_swallowed_by_a_finaliser_still_stops_the_run(
    monkeypatch, tmp_path, sigint_raises
) -> None:
    monkeypatch.setattr(experiments, "_simulate", swallowed_ctrl_c_at_three)
    with pytest.warns(UserWarning, match="interrupted: 4 of 12"):
        part = simfunnel.run(SMALL, reps=12, seed=8, workers=1, progress=False)
    assert part.interrupted and not part.complete
    assert sorted(set(part.totals["replication"])) == [0, 1, 2, 3]


def test_resuming_with_another_scenario_or_seed_is_refused(tmp_path) -> None:
    out = tmp_path / "run"
    simfunnel.run(COVER, reps=2, seed=1, workers=1, out=out, progress=False)
    with pytest.raises(ExperimentError, match=r"seed 1 \(not 2\)"):
        simfunnel.run(COVER, reps=2, seed=2, workers=1, out=out)
    other = with_overrides(COVER, {"scoring.threshold": 45})
    with pytest.raises(ExperimentError, match=r"differs at scoring\.threshold: 40\.0 there, 45"):
        simfunnel.run(other, reps=2, seed=1, workers=1, out=out)
    more = simfunnel.run(COVER, reps=3, seed=1, workers=1, out=out, progress=False)
    assert more.complete  # more replications of the same experiment: fine
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("x")
    with pytest.raises(ExperimentError, match="not an experiment directory"):
        simfunnel.run(COVER, reps=2, workers=1, out=tmp_path / "notes")


# ----------------------------------------------------------------------------- the docs page

PAGE = (ROOT / "docs" / "experiments.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^ *```{language}\n(.*?)^ *```", PAGE, flags=re.S | re.M)


def test_the_python_examples_of_the_docs_page_run(monkeypatch) -> None:
    """Every ```python block but the cluster one, in order, on 2-week scenarios and 2 reps
    (```py blocks are signatures, not code to run)."""
    load = simfunnel.load_scenario

    def short(path):
        data = scenario_to_dict(load(path))
        data["horizon"] = "2 weeks"
        for source in data["sources"]:
            source["bursts"] = []
        data["sdr"]["plan"] = []
        return scenario_from_dict(data)

    def capped(call):
        def quick(*args, **kwargs):
            kwargs.update(reps=2, workers=1, progress=False)
            if kwargs.get("precision"):
                kwargs["max_reps"] = 4
            return call(*args[:2], **kwargs)

        return quick

    monkeypatch.setattr(simfunnel, "load_scenario", short)
    for name in ("run", "run_variants", "sweep"):
        monkeypatch.setattr(simfunnel, name, capped(getattr(simfunnel, name)))
    namespace: dict[str, object] = {}
    blocks = [b for b in _blocks("python") if "Client(" not in b]
    assert len(blocks) >= 6
    for block in blocks:
        exec(compile(textwrap.dedent(block), "docs/experiments.md", "exec"), namespace)
    assert isinstance(namespace["options"], Experiment)
    assert namespace["result"].totals["leads"] > 0


def test_the_command_lines_of_the_docs_page_parse() -> None:
    from simfunnel.cli import build_parser

    lines = [
        line.split("#")[0].strip()
        for block in _blocks("sh")
        for line in block.replace("\\\n", " ").splitlines()
        if line.strip().startswith("simfunnel ")
    ]
    assert len(lines) >= 5
    for line in lines:
        build_parser().parse_args(shlex.split(line)[1:])


# ----------------------------------------------------------------------------- Dask (last: the
# module-scoped cluster lives until the end of the module, and pools fork no sibling of it)


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",  # loopback, any free port
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_a_dask_cluster_gives_the_same_tables_bit_for_bit(reference, dask_client) -> None:
    exp = simfunnel.run_variants(
        SMALL, VARIANTS, reps=5, seed=42, executor=dask_client, progress=False
    )
    assert_identical(reference, exp)
    assert len(dask_client.scheduler_info()["workers"]) == 2
