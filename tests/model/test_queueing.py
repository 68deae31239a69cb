"""Erlang A (M/M/c+M) against independent results: limits, a direct linear solve, and the engine."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from conftest import build
from scipy import stats
from test_theory import Z, batch_means, mmc

import simfunnel
from simfunnel.decisions import erlang_a, erlang_b, erlang_c, mmc_mean_wait


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


def tagged_wait_parts(mu: float, c: int, theta: float, positions: int) -> tuple[np.ndarray, ...]:
    """Per joining position m = 1..positions: P(served), E[W; served], P(cold), E[W; cold].

    Solved as an absorbing Markov chain with a matrix inverse (occupation times), not with the
    telescoped closed forms the module uses. Position i moves to i - 1 at rate c mu + (i - 1)
    theta (position 1 -> served) and goes cold at rate theta.
    """
    size = positions
    g = np.zeros((size, size))
    to_served = np.zeros(size)
    to_cold = np.full(size, theta)
    for k in range(size):  # index k is position k + 1
        forward = c * mu + k * theta
        if k == 0:
            to_served[k] = forward
        else:
            g[k, k - 1] = forward
        g[k, k] = -(forward + theta)
    occupation = np.linalg.inv(-g)  # expected time in position j starting from position i
    p_served = occupation @ to_served
    p_cold = occupation @ to_cold
    return p_served, occupation @ p_served, p_cold, occupation @ p_cold


def test_patience_equal_to_service_time_is_the_infinite_server_queue() -> None:
    """theta = mu: every customer leaves at rate mu wherever it is, so N ~ Poisson(lambda / mu)."""
    lam, mu, c = 6.0, 1.5, 5
    result = erlang_a(lam, mu, c, mu)
    n = stats.poisson(lam / mu)
    k = np.arange(200)
    assert result.p_wait == pytest.approx(n.sf(c - 1), rel=1e-12)
    assert result.mean_queue == pytest.approx(float((np.maximum(k - c, 0) * n.pmf(k)).sum()))
    assert result.utilisation == pytest.approx(float((np.minimum(k, c) * n.pmf(k)).sum()) / c)


def test_patience_equal_to_service_time_with_200_reps_in_overload() -> None:
    """The same Poisson identity at c = 200, load 1.5: deep in the range where naive sums overflow."""
    lam, mu, c = 300.0, 1.0, 200
    result = erlang_a(lam, mu, c, mu)
    n = stats.poisson(lam / mu)
    k = np.arange(1000)
    assert result.p_wait == pytest.approx(n.sf(c - 1), rel=1e-10)
    assert result.mean_queue == pytest.approx(float((np.maximum(k - c, 0) * n.pmf(k)).sum()))


def test_tiny_abandonment_approaches_erlang_c() -> None:
    result = erlang_a(4.0, 1.0, 5, 1e-9)
    assert result.p_wait == pytest.approx(erlang_c(5, 4.0), rel=1e-6)
    assert result.mean_wait == pytest.approx(mmc_mean_wait(4.0, 1.0, 5), rel=1e-6)
    assert result.mean_wait_served == pytest.approx(mmc_mean_wait(4.0, 1.0, 5), rel=1e-6)
    # A lead goes cold with chance ~ theta V given virtual wait V, at a time ~ uniform on (0, V):
    # E[W | cold] -> E[V^2] / (2 E[V]) = 1 / (c mu - lambda) for M/M/c waits (exponential tail).
    assert result.mean_wait_abandoned == pytest.approx(1 / (5 * 1.0 - 4.0), rel=1e-6)


def test_tiny_abandonment_reproduces_the_published_erlang_c_value() -> None:
    """C(c = 11, A = 10 Erlangs) = 0.6821 in Erlang C tables; also checked by a direct sum below."""
    assert erlang_a(10.0, 1.0, 11, 1e-10).p_wait == pytest.approx(0.6821, abs=5e-5)


@pytest.mark.parametrize(("lam", "mu", "c", "theta"), [(3.0, 1.0, 2, 0.5), (1.0, 1.0, 1, 2.0)])
def test_matches_a_direct_solve_of_the_generator(lam, mu, c, theta) -> None:
    pi = generator_solution(lam, mu, c, theta)
    n = np.arange(len(pi))
    result = erlang_a(lam, mu, c, theta)
    assert result.p_wait == pytest.approx(pi[c:].sum(), abs=1e-10)
    assert result.mean_queue == pytest.approx((np.maximum(n - c, 0) * pi).sum(), abs=1e-10)
    assert result.utilisation == pytest.approx((np.minimum(n, c) * pi).sum() / c, abs=1e-10)


@pytest.mark.parametrize(
    ("lam", "mu", "c", "theta"),
    [(1.0, 1.0, 1, 2.0), (0.7, 1.0, 1, 0.3), (3.0, 1.0, 2, 0.5), (6.0, 1.0, 3, 1.5)],
)
def test_waits_by_outcome_match_a_generator_solve_and_an_absorbing_chain(lam, mu, c, theta) -> None:
    """Stationary law from a linear solve, each arrival's fate from a matrix inverse: no shared code."""
    pi = generator_solution(lam, mu, c, theta, size=120)
    waiting = pi[c:]
    p_served, w_served, p_cold, w_cold = tagged_wait_parts(mu, c, theta, len(waiting))
    served = pi[:c].sum() + (waiting * p_served).sum()
    cold = (waiting * p_cold).sum()
    result = erlang_a(lam, mu, c, theta)
    assert served + cold == pytest.approx(1.0, abs=1e-10)
    assert result.p_abandon == pytest.approx(cold, abs=1e-10)
    assert result.mean_wait_served == pytest.approx((waiting * w_served).sum() / served, abs=1e-10)
    assert result.mean_wait_abandoned == pytest.approx((waiting * w_cold).sum() / cold, abs=1e-10)
    assert result.mean_wait == pytest.approx((waiting * (w_served + w_cold)).sum(), abs=1e-10)


def test_single_rep_patience_equal_to_service_by_hand() -> None:
    """c = 1, lambda = mu = theta = 1: N ~ Poisson(1), so p0 = 1/e and E[N] = 1 by hand.

    P(wait) = 1 - 1/e = utilisation; E[Q] = E[N] - P(N >= 1) = 1/e; E[W] = E[Q] / lambda = 1/e;
    P(cold) = theta E[Q] / lambda = 1/e.
    """
    result = erlang_a(1.0, 1.0, 1, 1.0)
    e = math.e
    assert result.p_wait == pytest.approx(1 - 1 / e, rel=1e-13)
    assert result.utilisation == pytest.approx(1 - 1 / e, rel=1e-13)
    assert result.mean_queue == pytest.approx(1 / e, rel=1e-13)
    assert result.mean_wait == pytest.approx(1 / e, rel=1e-13)
    assert result.p_abandon == pytest.approx(1 / e, rel=1e-13)


def test_single_rep_with_impatient_leads_by_a_three_state_chain_by_hand() -> None:
    """c = 1, lambda = mu = 1, theta = 1e6: states 0, 1, 2 hold all but ~1e-12 of the mass.

    Balance: p1 = p0 lambda / mu, p2 = p1 lambda / (mu + theta). An arrival finding n = 1 is at
    position 1: served w.p. mu / (mu + theta) after Exp(mu + theta), otherwise cold after the same
    time. Finding n = 2 (mass ~1e-6) it waits r2 = mu + 2 theta then r1 = mu + theta, and is served
    w.p. (mu + theta) / r2 * mu / r1. State 3 and beyond (mass ~5e-13) are dropped.
    """
    lam, mu, theta = 1.0, 1.0, 1e6
    r1, r2 = mu + theta, mu + 2 * theta
    p0 = 1.0
    p1 = p0 * lam / mu
    p2 = p1 * lam / r1
    total = p0 + p1 + p2
    p0, p1, p2 = p0 / total, p1 / total, p2 / total
    s1 = mu / r1  # P(served | n = 1)
    s2 = (r1 / r2) * (mu / r1)  # P(served | n = 2)
    served = p0 + p1 * s1 + p2 * s2
    wait_served = p1 * s1 / r1 + p2 * s2 * (1 / r2 + 1 / r1)
    cold_1 = theta / r1  # goes cold from position 1 having waited 1 / r1 on average
    cold_2_now = theta / r2  # from position 2 before moving up: waited 1 / r2
    cold_2_later = (r1 / r2) * (theta / r1)  # after moving up: waited 1 / r2 + 1 / r1
    cold = p1 * cold_1 + p2 * (cold_2_now + cold_2_later)
    wait_cold = p1 * cold_1 / r1 + p2 * (cold_2_now / r2 + cold_2_later * (1 / r2 + 1 / r1))
    result = erlang_a(lam, mu, 1, theta)
    assert result.p_wait == pytest.approx(p1 + p2, rel=1e-11)
    assert result.mean_queue == pytest.approx(p2, rel=1e-6)  # state 3 is ~5e-7 of state 2
    assert result.p_abandon == pytest.approx(cold, rel=1e-11)
    assert result.mean_wait_served == pytest.approx(wait_served / served, rel=1e-6)
    assert result.mean_wait_abandoned == pytest.approx(wait_cold / cold, rel=1e-11)


def _erlang_b_direct(servers: int, load: Fraction) -> Fraction:
    """Erlang B from its defining ratio of Poisson terms, in exact rational arithmetic."""
    terms = [load**k / math.factorial(k) for k in range(servers + 1)]
    return terms[-1] / sum(terms)


def _erlang_c_direct(servers: int, load: Fraction) -> Fraction:
    """Erlang C from its textbook sum, exact: (A^c/c! c/(c-A)) / (sum_{k<c} A^k/k! + same)."""
    top = load**servers / math.factorial(servers) * servers / (servers - load)
    return top / (sum(load**k / math.factorial(k) for k in range(servers)) + top)


def test_published_erlang_b_and_c_values_checked_by_direct_sums() -> None:
    """Tables: B(10 reps, 10 Erlangs) = 0.2146, C(11 reps, 10 Erlangs) = 0.6821; neither trusted."""
    b = _erlang_b_direct(10, Fraction(10))
    c = _erlang_c_direct(11, Fraction(10))
    assert float(b) == pytest.approx(0.2146, abs=5e-5)
    assert float(c) == pytest.approx(0.6821, abs=5e-5)
    assert erlang_b(10, 10.0) == pytest.approx(float(b), rel=1e-13)
    assert erlang_c(11, 10.0) == pytest.approx(float(c), rel=1e-13)


@pytest.mark.parametrize(("servers", "load"), [(50, 45.0), (200, 190.0), (200, 150.5)])
def test_erlang_c_is_exact_for_large_teams(servers, load) -> None:
    """The recursion against the exact rational sum where A^c / c! alone overflows a float."""
    exact = _erlang_c_direct(servers, Fraction(load))
    assert erlang_c(servers, load) == pytest.approx(float(exact), rel=1e-12)


@pytest.mark.parametrize(("lam", "c", "theta"), [(4.0, 5, 1.0), (12.0, 8, 0.2), (300.0, 200, 0.5)])
def test_flow_balance_arrivals_are_served_or_go_cold(lam, c, theta) -> None:
    """lambda (1 - P(abandon)) = c mu utilisation: computed from different sums of the chain."""
    mu = 1.0
    result = erlang_a(lam, mu, c, theta)
    assert lam * (1 - result.p_abandon) == pytest.approx(c * mu * result.utilisation, rel=1e-9)
    assert 0 <= result.p_abandon <= result.p_wait <= 1


@pytest.mark.parametrize(
    ("lam", "mu", "c", "theta"),
    [(4.0, 1.0, 4, 1.0), (0.5, 2.0, 1, 0.1), (12.0, 1.0, 8, 0.2), (30.0, 1.0, 10, 3.0)],
)
def test_little_and_the_split_of_waits_by_outcome(lam, mu, c, theta) -> None:
    """E[W] = E[Q]/lambda; P(cold) = theta E[Q]/lambda; served and cold waits add up to E[W].

    The split uses per-state sums (positions in the queue), E[W] and P(cold) the queue length, so
    the last identity is the balance equations at work, not arithmetic restated.
    """
    r = erlang_a(lam, mu, c, theta)
    assert r.mean_wait == pytest.approx(r.mean_queue / lam, rel=1e-12)
    assert r.p_abandon == pytest.approx(theta * r.mean_queue / lam, rel=1e-12)
    total = r.mean_wait_served * (1 - r.p_abandon) + r.mean_wait_abandoned * r.p_abandon
    assert total == pytest.approx(r.mean_wait, rel=1e-10)
    assert r.mean_wait_served >= 0
    assert r.mean_wait_abandoned > 0


@pytest.mark.parametrize(
    ("lam", "theta"), [(300.0, 0.5), (300.0, 0.02), (600.0, 0.1), (600.0, 5.0), (20.0, 1.0)]
)
def test_two_hundred_reps_light_to_triple_load_stay_finite_and_in_range(lam, theta) -> None:
    result = erlang_a(lam, 1.0, 200, theta)
    values = [getattr(result, f) for f in result.__dataclass_fields__]
    assert all(math.isfinite(v) and v >= 0 for v in values)
    for prob in (result.p_wait, result.p_abandon, result.utilisation):
        assert 0 <= prob <= 1
    total = result.mean_wait_served * (1 - result.p_abandon)
    total += result.mean_wait_abandoned * result.p_abandon
    assert total == pytest.approx(result.mean_wait, rel=1e-9, abs=1e-300)


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


def test_engine_waits_of_called_and_cold_leads_match_erlang_a(mmcm_run) -> None:
    """Served: arrival to first attempt (0 if a rep was free); cold: arrival to going cold."""
    d = mmcm_run.data
    keep = _in_window(mmcm_run)
    cold = ~np.isnan(d.cold_at)
    theory = erlang_a(4.0, 1.0, 4, 1.0)
    served_waits = (d.first_attempt - d.leads.arrival)[keep & ~cold]
    cold_waits = (d.cold_at - d.leads.arrival)[keep & cold]
    for waits, expected in [
        (served_waits, theory.mean_wait_served),
        (cold_waits, theory.mean_wait_abandoned),
    ]:
        mean, se = batch_means(np.asarray(waits, dtype=float))
        assert abs(mean - expected) < Z * se, (mean, expected, se)


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
