"""Sequential replications: the paired-precision rule (Settle) stops each option for the reason
it gives, its half-widths are the t intervals of the paired differences, the runs it makes are
the same whatever the number of workers, and a decision's experiments share one pool."""

from __future__ import annotations

import concurrent.futures as cf
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import SMALL_YAML
from scipy import stats

import simfunnel
from simfunnel.experiments import Settle, decision_pool, options, settle_plan
from simfunnel.experiments.settle import LIMIT, OUT, RUNNING, SETTLED, settle_state
from simfunnel.scenario import parse_scenario


def _totals(values: dict[str, np.ndarray]) -> pd.DataFrame:
    """A ``totals`` frame holding one KPI per variant and replication."""
    rows = [
        {"variant": v, "replication": r, "section": "totals", "metric": "valid_opportunities"}
        | {"value": float(x)}
        for v, xs in values.items()
        for r, x in enumerate(xs)
    ]
    return pd.DataFrame(rows)


def _half(d: np.ndarray) -> float:
    """The 95% t half-width of the mean of ``d``: what the rule must compare with its target."""
    return float(stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size))


def test_each_option_stops_for_its_own_reason() -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(1000, 50, 6)  # the shared luck of each replication
    values = {
        "today": base,
        "close": base + 30 + rng.normal(0, 2, 6),  # paired noise 2: known to well under 2%
        "far_below": base - 400 + rng.normal(0, 60, 6),  # noisy, but clearly below the best
        "noisy": base + rng.normal(0, 60, 6),  # +/-6% after six pairs: goes on
    }
    rule = Settle(relative=0.02, max_reps=40)
    state = settle_state(_totals(values), list(values), "today", rule).set_index("variant")
    level = float(np.mean(base))
    for v in ("close", "far_below", "noisy"):
        d = values[v] - base
        assert state.loc[v, "half_width"] == pytest.approx(_half(d), rel=1e-12)
        assert state.loc[v, "diff"] == pytest.approx(float(d.mean()), rel=1e-12)
    assert _half(values["close"] - base) <= 0.02 * level
    assert state.loc["close", "status"] == SETTLED
    # "far_below" is not known to 2% but is clearly below the leader, so it is out.
    leader = max(values, key=lambda v: float(np.mean(values[v])))
    assert _half(values["far_below"] - base) > 0.02 * level
    far = values["far_below"] - values[leader]
    assert far.mean() + _half(far) < 0
    assert state.loc["far_below", "status"] == OUT
    assert _half(values["noisy"] - base) > 0.02 * level
    near = values["noisy"] - values["close"]
    assert abs(near.mean()) < _half(near)  # not clearly below (or above) the other
    assert state.loc["noisy", "status"] == RUNNING
    assert state.loc["today", "status"] == RUNNING  # as long as an option needs its pairs


def test_a_stopped_option_keeps_its_state_and_the_limit_stops_the_rest() -> None:
    rng = np.random.default_rng(2)
    base = rng.normal(1000, 50, 4)
    values = {"today": base, "noisy": base + rng.normal(0, 80, 4)}
    rule = Settle(max_reps=4, batch=2)
    state = settle_state(_totals(values), list(values), "today", rule).set_index("variant")
    assert state.loc["noisy", "status"] == LIMIT
    assert state.loc["today", "status"] == SETTLED


def test_plan_fixed_reps_or_settle() -> None:
    assert settle_plan(12, None, None, "won") == (12, None)
    first, rule = settle_plan(None, None, None, "won")
    assert first == 4 and rule is not None and rule.relative == 0.02 and rule.max_reps == 40
    first, rule = settle_plan(6, 0.05, 20, "won")
    assert first == 6 and rule is not None and (rule.relative, rule.max_reps) == (0.05, 20)
    with pytest.raises(ValueError, match="precision"):
        Settle(relative=1.5)


def test_plan_max_reps_with_reps_settles_from_reps_and_never_below_it() -> None:
    """--reps with --max-reps: --reps is the first batch (docs/cli.md), not a fixed count that
    drops the limit; a limit below the first batch is refused, not silently ignored."""
    first, rule = settle_plan(3, None, 10, "won")
    assert first == 3 and rule is not None and rule.max_reps == 10
    with pytest.raises(ValueError, match=r"max_reps \(2\) is below reps \(3\)"):
        settle_plan(3, None, 2, "won")


@pytest.fixture(scope="module")
def small() -> simfunnel.Scenario:
    return parse_scenario(SMALL_YAML, "small")


def _settled(small: simfunnel.Scenario, workers: int) -> Any:
    variants = {"now": {}, "lower": {"scoring.threshold": 40}, "higher": {"scoring.threshold": 65}}
    rule = Settle(relative=0.05, batch=3, max_reps=12)
    return simfunnel.run_variants(
        small, variants, 3, baseline="now", settle=rule, workers=workers, progress=False
    )


def test_a_settled_experiment_is_the_same_on_one_or_two_workers(small: simfunnel.Scenario) -> None:
    one, two = _settled(small, 1), _settled(small, 2)
    pd.testing.assert_frame_equal(one.totals, two.totals)
    pd.testing.assert_frame_equal(one.settled, two.settled)
    state = one.settled.set_index("variant")
    assert not (state["status"] == RUNNING).any()
    for v, row in state.iterrows():  # the table holds exactly the replications the rule ran
        assert one.finished(str(v)) == row["replications"]
    # What pairing bought is what the comparison reports for the same pairs.
    c = one.compare().set_index(["variant", "section", "metric"])["variance_reduction"]
    for v in ("lower", "higher"):
        expected = c.loc[(v, "totals", "valid_opportunities")]
        assert state.loc[v, "variance_reduction"] == pytest.approx(expected, rel=1e-9)
    print(one.settled.to_string())


def test_a_decision_starts_one_pool_for_all_its_experiments(
    small: simfunnel.Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[int] = []
    real = cf.ProcessPoolExecutor

    class Counted(real):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            started.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(options.cf, "ProcessPoolExecutor", Counted)
    with decision_pool(options.RunOptions(workers=2, progress=False)) as shared:
        for _ in range(3):
            simfunnel.run(small, 2, options=shared)
    assert len(started) == 1
    with decision_pool(options.RunOptions(workers=1)) as inline:
        assert inline.executor is None  # one worker: nothing to start
    assert len(started) == 1


def test_a_run_two_experiments_of_a_decision_share_is_made_once(
    small: simfunnel.Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gap explanation's full model is today's option of the threshold comparison: with
    the decision's memo it is taken from the comparison, not run again, and the explanation is
    the same, number for number, as one made on its own."""
    from simfunnel.decisions import explain_gap
    from simfunnel.experiments import executors

    made: list[int] = []
    real = executors.run_replication

    def counted(*args: Any, **kwargs: Any) -> Any:
        made.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(executors, "run_replication", counted)
    c = simfunnel.compare_thresholds(small, [40], 3, workers=1, progress=False, explain=True)
    assert len(made) == 2 * 3 + (4 - 1) * 3  # two options, and three of the four gap steps
    alone = explain_gap(small, "valid_opportunities", 3, workers=1)
    assert c.gap is not None
    pd.testing.assert_frame_equal(c.gap.table, alone.table)


def test_failed_replications_do_not_keep_a_rule_waiting(
    small: simfunnel.Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replication that fails never counts, so a variant can stay short of the most allowed:
    the rounds stop when every replication allowed was tried, and say that some failed."""
    from simfunnel.experiments import executors
    from simfunnel.experiments.replicate import Failed

    real = executors.run_replication

    def flaky(scenario: Any, seed: int, replication: int, *rest: Any) -> Any:
        if replication == 1 and scenario.scoring.threshold == 40:
            return Failed("RuntimeError: injected", "")
        return real(scenario, seed, replication, *rest)

    monkeypatch.setattr(executors, "run_replication", flaky)
    variants = {"now": {}, "lower": {"scoring.threshold": 40}}
    rule = Settle(relative=0.0001, batch=2, max_reps=5)  # never reached: runs to the limit
    e = simfunnel.run_variants(
        small, variants, 3, baseline="now", settle=rule, workers=1, progress=False
    )
    state = e.settled.set_index("variant")
    assert state.loc["lower", "replications"] == 4 and len(e.failures) == 1
    assert state.loc["lower", "status"] == LIMIT and "some failed" in state.loc["lower", "why"]


def test_a_settled_experiment_is_complete_and_says_how_far_each_ran(
    small: simfunnel.Scenario,
) -> None:
    e = _settled(small, 1)
    counts = e.settled["replications"]
    assert counts.nunique() > 1  # unequal, and still complete: each ran as far as the rule asked
    assert e.complete
    assert e.runs_text() == f"{counts.min()} to {counts.max()} (until settled)"
    assert e.verdict.startswith(f"{counts.min()} to {counts.max()} (until settled) replications")
    assert e.verdict.endswith("complete.")
