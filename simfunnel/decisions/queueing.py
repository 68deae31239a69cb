"""Queueing theory the simulation must reproduce where its assumptions hold.

Erlang C is M/M/c (leads wait for ever); Erlang A is M/M/c+M (each waiting lead goes cold after
an exponential patience), the model of inbound MQLs that speed-to-lead is about. The formulas
are written out by hand: they are closed forms or exact recursions, and no library offers
Erlang A and C with patience this directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def erlang_b(servers: int, load: float) -> float:
    """Blocking probability of M/M/c/c, by the stable recursion B(k) = a B(k-1) / (k + a B(k-1))."""
    if servers < 0 or load < 0:
        raise ValueError("servers and load must be >= 0")
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(servers: int, load: float) -> float:
    """Probability that an arrival waits in M/M/c with offered load ``load`` = lambda / mu (Erlangs)."""
    if load >= servers:
        return 1.0
    b = erlang_b(servers, load)
    rho = load / servers
    return b / (1.0 - rho * (1.0 - b))


def mmc_mean_wait(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean time in queue Wq of M/M/c (same time unit as the rates); inf if unstable."""
    load = arrival_rate / service_rate
    if load >= servers:
        return math.inf
    return erlang_c(servers, load) / (servers * service_rate - arrival_rate)


@dataclass(frozen=True)
class ErlangA:
    """Steady state of M/M/c+M; times in the unit of the rates."""

    p_wait: float  # an arrival finds every server busy (PASTA)
    p_abandon: float  # an arrival goes cold before service
    mean_queue: float  # E[number waiting]
    mean_wait: float  # E[time waiting] over all arrivals, served or not (E[Q] / lambda)
    utilisation: float  # E[busy servers] / c
    mean_wait_served: float  # E[wait | served]; arrivals served at once count as 0
    mean_wait_abandoned: float  # E[wait | goes cold]: the patience of those who run out of it


def erlang_a(
    arrival_rate: float, service_rate: float, servers: int, patience_rate: float
) -> ErlangA:
    """Exact Erlang A from the birth-death chain of the number in system.

    State n has birth rate lambda and death rate min(n, c) mu + max(n - c, 0) theta. The chain
    is solved in log space and truncated where the remaining mass is below 1e-15 of the waiting
    states' (so of the whole chain's too), so large teams and overloads (which Erlang A, unlike
    Erlang C, allows) neither overflow nor lose mass, and a near-empty queue keeps its precision.

    Waits split by outcome (FCFS, so who arrives later never matters): an arrival that finds
    n >= c in system joins at position m = n - c + 1. At position i it leaves that position at
    rate r_i = c mu + i theta: a service ends (c mu) or one of the i - 1 ahead goes cold, both
    moving it to i - 1 (position 1 -> service), or its own patience ends (theta). The time at
    each position is Exp(r_i) whatever ends it, and the chance to reach position i from m
    telescopes to r_i / r_m. Hence, given m:

        P(served) = c mu / r_m,            E[W; served]  = (c mu / r_m) sum_{i<=m} 1 / r_i,
        P(cold)   = m theta / r_m,         E[W; cold]    = (theta / r_m) sum_{i<=m} i / r_i,
        E[W] = m / r_m (the two summed).

    Averaging over n with PASTA gives the conditional means. Summed over states, P(cold) and E[W]
    reproduce theta E[Q] / lambda and E[Q] / lambda (balance: lambda p_{n} = r_m p_{n+1}), which
    the tests use as a check. Both parts are sums of positive terms, so no difference cancels
    when theta is tiny.
    """
    lam, mu, c, theta = arrival_rate, service_rate, servers, patience_rate
    if lam <= 0 or mu <= 0 or c < 1 or theta <= 0:
        raise ValueError("need arrival_rate > 0, service_rate > 0, servers >= 1, patience_rate > 0")
    logs = [0.0]
    top_wait = -math.inf  # largest log term among waiting states n >= c
    n = 0
    while True:
        n += 1
        death = min(n, c) * mu + max(n - c, 0) * theta
        logs.append(logs[-1] + math.log(lam) - math.log(death))
        if n >= c:
            top_wait = max(top_wait, logs[-1])
        # Once death > birth the ratio r = lambda / death only falls, so the tail beyond this
        # term is at most term / (1 - r): stop when that bound is negligible against the waiting
        # states (hence against the whole chain too), so that even the conditional means over
        # waiting arrivals lose nothing when a light load leaves them almost no mass.
        if death > lam and logs[-1] - math.log1p(-lam / death) - top_wait < math.log(1e-15):
            break
        if n > c + 10_000_000:
            raise ValueError("patience_rate too small for this load: the queue barely drains")
    log_p = np.array(logs)
    p = np.exp(log_p - log_p.max())
    p /= p.sum()
    states = np.arange(len(p))
    waiting = np.maximum(states - c, 0)
    mean_queue = float((waiting * p).sum())
    p_abandon = theta * mean_queue / lam

    # Per-state pieces for arrivals that must wait (n = c .. N, position m = n - c + 1).
    m = np.arange(1, len(p) - c + 1, dtype=float)
    rate = c * mu + m * theta
    served_wait = c * mu / rate * np.cumsum(1.0 / rate)  # E[W; served | m]
    cold_wait = theta / rate * np.cumsum(m / rate)  # E[W; cold | m]
    mean_wait_served = float((p[c:] * served_wait).sum()) / (1.0 - p_abandon)
    # Conditional on going cold only waiting states matter; weigh them relative to their own
    # largest term so that a vanishing queue (p[c:] underflowing) still gives the right limit.
    w = np.exp(log_p[c:] - log_p[c:].max())
    mean_wait_abandoned = float((w * cold_wait).sum() / (w * m * theta / rate).sum())
    return ErlangA(
        p_wait=min(1.0, float(p[c:].sum())),
        p_abandon=p_abandon,
        mean_queue=mean_queue,
        mean_wait=mean_queue / lam,
        utilisation=float((np.minimum(states, c) * p).sum()) / c,
        mean_wait_served=mean_wait_served,
        mean_wait_abandoned=mean_wait_abandoned,
    )
