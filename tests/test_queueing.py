"""Erlang A (M/M/c+M) against independent results: limits, a direct linear solve, and the engine."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import build
from scipy import stats
from test_theory import Z, batch_means, mmc

import simfunnel
from simfunnel.queueing import erlang_a, erlang_c, mmc_mean_wait


def generator_solution(lam: float, mu: float, c: int, theta: float, size: int = 80) -> np.ndarray:
    """Stationary distribution by solving pi Q = 0 on a truncated generator: a different method."""
    q = np.zeros((size, size))
    for n in range(size):
        if n + 1 < size:
            q[n, n + 1] = lam
        if n > 0:
            q[n, n - 1] = min(n, c) * mu + max(n - c, 0) * theta
        q[n, n] = -q[n].sum()
    a = np.vstack([q.T, np.ones(size)])
    b = np.zeros(size + 1)
    b[-1] = 1.0
    return np.linalg.lstsq(a, b, rcond=None)[0]


def test_patience_equal_to_service_time_is_the_infinite_server_queue() -> None:
    """theta = mu: every customer leaves at rate mu wherever it is, so N ~ Poisson(lambda / mu)."""
    lam, mu, c = 6.0, 1.5, 5
    result = erlang_a(lam, mu, c, mu)
    n = stats.poisson(lam / mu)
    k = np.arange(200)
    assert result.p_wait == pytest.approx(n.sf(c - 1), rel=1e-12)
    assert result.mean_queue == pytest.approx(float((np.maximum(k - c, 0) * n.pmf(k)).sum()))


def test_tiny_abandonment_approaches_erlang_c() -> None:
    result = erlang_a(4.0, 1.0, 5, 1e-9)
    assert result.p_wait == pytest.approx(erlang_c(5, 4.0), rel=1e-6)
    assert result.mean_wait == pytest.approx(mmc_mean_wait(4.0, 1.0, 5), rel=1e-6)


@pytest.mark.parametrize(("lam", "mu", "c", "theta"), [(3.0, 1.0, 2, 0.5), (1.0, 1.0, 1, 2.0)])
def test_matches_a_direct_solve_of_the_generator(lam, mu, c, theta) -> None:
    pi = generator_solution(lam, mu, c, theta)
    n = np.arange(len(pi))
    result = erlang_a(lam, mu, c, theta)
    assert result.p_wait == pytest.approx(pi[c:].sum(), abs=1e-10)
    assert result.mean_queue == pytest.approx((np.maximum(n - c, 0) * pi).sum(), abs=1e-10)
    assert result.utilisation == pytest.approx((np.minimum(n, c) * pi).sum() / c, abs=1e-10)


@pytest.mark.parametrize(("lam", "c", "theta"), [(4.0, 5, 1.0), (12.0, 8, 0.2), (300.0, 200, 0.5)])
def test_flow_balance_arrivals_are_served_or_go_cold(lam, c, theta) -> None:
    """lambda (1 - P(abandon)) = c mu utilisation: computed from different sums of the chain."""
    mu = 1.0
    result = erlang_a(lam, mu, c, theta)
    assert lam * (1 - result.p_abandon) == pytest.approx(c * mu * result.utilisation, rel=1e-9)
    assert 0 <= result.p_abandon <= result.p_wait <= 1


def test_heavy_overload_sheds_the_excess() -> None:
    """Far beyond capacity every server is busy and the excess goes cold: 1 - c mu / lambda."""
    result = erlang_a(300.0, 1.0, 200, 0.5)
    assert result.p_abandon == pytest.approx(1 - 200 / 300, abs=1e-6)


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        erlang_a(1.0, 1.0, 0, 1.0)


@pytest.fixture(scope="module")
def mmcm_run() -> simfunnel.SimulationResult:
    """M/M/4+M at load 4 (rho = 1, stable only because leads go cold): 40 weeks, ~27,000 MQLs."""
    scenario = mmc(
        4.0, 1.0, 4, weeks=40, speed_to_lead__patience={"dist": "exponential", "mean": "1 h"}
    )
    return simfunnel.simulate(scenario, seed=13)


def _in_window(result: simfunnel.SimulationResult) -> np.ndarray:
    arrival = result.data.leads.arrival
    return (arrival > 168.0) & (arrival < result.scenario.horizon - 48.0)


def test_engine_share_gone_cold_matches_erlang_a(mmcm_run) -> None:
    keep = _in_window(mmcm_run)
    cold = (~np.isnan(mmcm_run.data.cold_at))[keep].astype(float)
    share, se = batch_means(cold)
    theory = erlang_a(4.0, 1.0, 4, 1.0).p_abandon
    assert len(cold) > 20_000
    assert abs(share - theory) < Z * se, (share, theory, se)


def test_engine_mean_wait_matches_erlang_a(mmcm_run) -> None:
    """Time waiting until the first attempt or going cold, over all MQLs: E[Q] / lambda."""
    d = mmcm_run.data
    keep = _in_window(mmcm_run)
    until = np.where(np.isnan(d.first_attempt), d.cold_at, d.first_attempt)
    waits = (until - d.leads.arrival)[keep]
    assert not np.isnan(waits).any()
    mean, se = batch_means(waits)
    theory = erlang_a(4.0, 1.0, 4, 1.0).mean_wait
    assert abs(mean - theory) < Z * se, (mean, theory, se)


def test_leads_gone_cold_are_never_called_and_are_counted(mmcm_run) -> None:
    d = mmcm_run.data
    cold = ~np.isnan(d.cold_at)
    assert (d.attempts[cold] == 0).all()
    assert mmcm_run.end_states["cold"] == cold.sum() == mmcm_run.totals["cold"]
    assert math.isclose(mmcm_run.weekly["cold"].sum(), cold.sum())


def test_a_night_mql_goes_cold_at_arrival_plus_patience_and_is_never_called() -> None:
    """Exact log: MQL at 02:00, patience 3 h, office opens 09:00: cold at 05:00, no attempt."""
    scenario = build(
        sources__0__bursts__0__start="2026-01-06 02:00",
        speed_to_lead__patience="3 h",
    )
    result = simfunnel.simulate(scenario, seed=0, trace=True)
    log = [(e.time_h, e.event) for e in result.events.itertuples()]
    assert log == [(24 + 2.0, "mql"), (24 + 5.0, "cold")]
    assert result.end_states["cold"] == 1
    assert result.backlog["at_end"] == 0
