"""Engine speed and memory on the one-year reference scenario, against bare simpy.

Why a baseline in the same run: benchmark machines are shared and noisy, so absolute rates mean
little; the ratio to a bare-simpy M/M/c model (c server processes pulling customers from a
``simpy.Store``, nothing else) timed on the same machine a moment later is what we track.

Targets (issue 2): engine rep tasks (call attempts, email touches, account research) per second
>= 0.5x bare-simpy customers per second, and peak memory <= 1 KB per lead (or account). Run with ``make bench`` or ``python benchmarks/bench_engine.py``.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import simpy

import simfunnel

REFERENCE = Path(__file__).with_name("reference.yaml")
RATIO_TARGET = 0.5
BYTES_PER_LEAD_TARGET = 1024


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall time of one call; the best of several is the one least disturbed by other load."""
    gc.collect()
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def bare_mmc(customers: int, servers: int = 12, utilisation: float = 0.65, seed: int = 0) -> int:
    """The leanest M/M/c a simpy user would write: returns the number of customers served.

    Random numbers are drawn up front in numpy so that the baseline measures simpy itself.
    """
    rng = np.random.default_rng(seed)
    service = rng.exponential(1.0, customers).tolist()
    gaps = rng.exponential(1.0 / (servers * utilisation), customers).tolist()
    env = simpy.Environment()
    store = simpy.Store(env)
    served = [0]

    def source():
        for i, gap in enumerate(gaps):
            yield env.timeout(gap)
            store.put(i)

    def server():
        while True:
            i = yield store.get()
            yield env.timeout(service[i])
            served[0] += 1

    env.process(source())
    for _ in range(servers):
        env.process(server())
    env.run()
    return served[0]


def peak_bytes(scenario: simfunnel.Scenario, seed: int) -> int:
    """Peak Python heap of one run (tracemalloc), taken apart from the timed runs it would slow."""
    gc.collect()
    tracemalloc.start()
    try:
        simfunnel.simulate(scenario, seed=seed)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=REFERENCE)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best counts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    scenario = simfunnel.load_scenario(args.scenario)
    result = simfunnel.simulate(scenario, seed=args.seed)  # warm-up, and the counts
    totals = result.totals
    # Every rep task is one simpy timeout: call attempts, email touches and account research.
    attempts = int(totals["dials"] + totals["emails"] + totals["accounts_researched"])
    leads = int(totals["leads"] + totals["accounts"])
    servers = scenario.sdr.headcount + (
        scenario.outbound.bdr.headcount if scenario.outbound is not None else 0
    )
    # Interleaved, so that a burst of load on the machine hits both sides alike.
    engine_s = bare_s = float("inf")
    served = 0
    for _ in range(args.repeat):
        seconds, _ = timed(lambda: simfunnel.simulate(scenario, seed=args.seed))
        engine_s = min(engine_s, seconds)
        seconds, served = timed(lambda: bare_mmc(attempts, servers=servers))
        bare_s = min(bare_s, seconds)
    peak = peak_bytes(scenario, args.seed)

    engine_rate = attempts / engine_s
    bare_rate = served / bare_s
    figures = {
        "scenario": str(args.scenario),
        "python": platform.python_version(),
        "simpy": simpy.__version__,
        "leads": leads,
        "mqls": int(totals["mqls"]),
        "attempts": attempts,
        "utilisation": {k: round(v, 3) for k, v in result.utilisations.items() if v == v},
        "engine_seconds": round(engine_s, 3),
        "engine_attempts_per_s": round(engine_rate),
        "bare_simpy_customers": served,
        "bare_simpy_seconds": round(bare_s, 3),
        "bare_simpy_customers_per_s": round(bare_rate),
        "ratio": round(engine_rate / bare_rate, 2),
        "peak_memory_mb": round(peak / 2**20, 1),
        "bytes_per_lead": round(peak / leads),
        # Whole process, interpreter and libraries included: context for the figure above.
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "ratio_target": RATIO_TARGET,
        "bytes_per_lead_target": BYTES_PER_LEAD_TARGET,
    }
    figures["meets_targets"] = bool(
        figures["ratio"] >= RATIO_TARGET and figures["bytes_per_lead"] <= BYTES_PER_LEAD_TARGET
    )
    if args.json:
        print(json.dumps(figures))
    else:
        print(
            f"reference scenario   {leads:,} leads, {figures['mqls']:,} MQLs, "
            f"{attempts:,} rep tasks, utilisation "
            + ", ".join(f"{k.upper()} {v:.0%}" for k, v in figures["utilisation"].items())
        )
        print(
            f"simfunnel engine     {engine_s:6.2f} s   {engine_rate:10,.0f} tasks/s     "
            f"(best of {args.repeat})"
        )
        print(
            f"bare simpy M/M/{servers:<4}  {bare_s:6.2f} s   {bare_rate:10,.0f} customers/s "
            f"(best of {args.repeat})"
        )
        print(f"ratio                {figures['ratio']:.2f}x   (target >= {RATIO_TARGET}x)")
        print(
            f"peak memory          {figures['peak_memory_mb']:.1f} MB = "
            f"{figures['bytes_per_lead']} bytes per lead (target <= {BYTES_PER_LEAD_TARGET}); "
            f"process max RSS {figures['max_rss_mb']:.0f} MB"
        )
        print("targets met" if figures["meets_targets"] else "TARGETS MISSED")
    return 0 if figures["meets_targets"] else 1


if __name__ == "__main__":
    sys.exit(main())
