"""Queueing theory the simulation must reproduce where its assumptions hold.

Erlang C is M/M/c (leads wait for ever); Erlang A is M/M/c+M (each waiting lead goes cold after
an exponential patience), the model of inbound MQLs that speed-to-lead is about.
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


def erlang_a(
    arrival_rate: float, service_rate: float, servers: int, patience_rate: float
) -> ErlangA:
    """Exact Erlang A from the birth-death chain of the number in system.

    State n has birth rate lambda and death rate min(n, c) mu + max(n - c, 0) theta. The chain
    is solved in log space and truncated where the remaining mass is below 1e-15, so large
    teams and overloads (which Erlang A, unlike Erlang C, allows) neither overflow nor lose mass.
    """
    lam, mu, c, theta = arrival_rate, service_rate, servers, patience_rate
    if lam <= 0 or mu <= 0 or c < 1 or theta <= 0:
        raise ValueError("need arrival_rate > 0, service_rate > 0, servers >= 1, patience_rate > 0")
    logs = [0.0]
    top = 0.0
    n = 0
    while True:
        n += 1
        death = min(n, c) * mu + max(n - c, 0) * theta
        logs.append(logs[-1] + math.log(lam) - math.log(death))
        top = max(top, logs[-1])
        # Once death > birth the ratio r = lambda / death only falls, so the tail beyond this
        # term is at most term / (1 - r): stop when that bound is negligible.
        if death > lam and logs[-1] - math.log1p(-lam / death) - top < math.log(1e-15):
            break
        if n > c + 10_000_000:
            raise ValueError("patience_rate too small for this load: the queue barely drains")
    log_p = np.array(logs)
    p = np.exp(log_p - log_p.max())
    p /= p.sum()
    states = np.arange(len(p))
    waiting = np.maximum(states - c, 0)
    mean_queue = float((waiting * p).sum())
    return ErlangA(
        p_wait=min(1.0, float(p[c:].sum())),
        p_abandon=theta * mean_queue / lam,
        mean_queue=mean_queue,
        mean_wait=mean_queue / lam,
        utilisation=float((np.minimum(states, c) * p).sum()) / c,
    )
