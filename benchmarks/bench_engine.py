"""Engine speed and memory on the one-year reference scenario, against bare simpy.

Why a baseline in the same run: benchmark machines are shared and noisy, so absolute rates mean
little; the ratio to a bare-simpy M/M/c model (c server processes pulling customers from a
``simpy.Store``, nothing else) timed on the same machine a moment later is what we track. A
hand-written heapq event loop on the same customers shows the pure-Python limit.

Targets: engine rep tasks (call attempts, email touches, account research) per second >= 1.2x
bare-simpy customers per second on ``reference.yaml`` and >= 1.0x on ``reference_full.yaml``
(issue 17; 0.5x for other scenarios, issue 2), peak memory <= 1 KB per lead (or account), and
an engine cost per task at 2M leads within 1.3x of its cost at 100k (copies of
``reference.yaml`` scaled in code; ``--no-scaling`` skips them). Run with ``make bench`` or
``python benchmarks/bench_engine.py``.
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
from collections import deque
from collections.abc import Callable
from heapq import heappop, heappush
from pathlib import Path
from typing import Any

import numpy as np
import simpy
import yaml

import simfunnel
from simfunnel.scenario import scenario_from_dict

REFERENCE = Path(__file__).with_name("reference.yaml")
FULL = Path(__file__).with_name("reference_full.yaml")
RATIO_TARGETS = {REFERENCE.name: 1.2, FULL.name: 1.0}
RATIO_TARGET = 0.5  # any other scenario
BYTES_PER_LEAD_TARGET = 1024
SCALING_TARGET = 1.3  # cost per task at 2M leads over its cost at 100k
# Copies of reference.yaml: (label, arrivals and SDRs multiplied by, horizon).
SCALES = (("10k", 1, "5 weeks"), ("100k", 1, None), ("2M", 20, None))


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


def heapq_mmc(customers: int, servers: int = 12, utilisation: float = 0.65, seed: int = 0) -> int:
    """The same M/M/c as a hand-written heapq event loop, no simpy: the pure-Python limit."""
    rng = np.random.default_rng(seed)
    service = rng.exponential(1.0, customers).tolist()
    gaps = rng.exponential(1.0 / (servers * utilisation), customers).tolist()
    heap: list[tuple[float, int, int]] = [(gaps[0], 0, 0)]  # (time, seq, customer or -1-customer)
    waiting: deque[int] = deque()
    free, served, seq = servers, 0, 0
    while heap:
        now, _, who = heappop(heap)
        if who >= 0:  # an arrival
            if who + 1 < customers:
                seq += 1
                heappush(heap, (now + gaps[who + 1], seq, who + 1))
            if free:
                free -= 1
                seq += 1
                heappush(heap, (now + service[who], seq, -1 - who))
            else:
                waiting.append(who)
        else:  # a service ends
            served += 1
            if waiting:
                nxt = waiting.popleft()
                seq += 1
                heappush(heap, (now + service[nxt], seq, -1 - nxt))
            else:
                free += 1
    return served


def scaled(factor: int, horizon: str | None) -> simfunnel.Scenario:
    """reference.yaml with ``factor`` times the arrivals (bursts too) and SDRs, so that the
    reps stay as busy; over ``horizon`` if given (without the bursts it would miss)."""
    data = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    for source in data["sources"]:
        source["rate_per_week"] *= factor
        for burst in source.get("bursts", []):
            burst["leads"] *= factor
    data["sdr"]["headcount"] *= factor
    if horizon is not None:  # a short run, before the spring trade show
        data["horizon"] = horizon
        for source in data["sources"]:
            source.pop("bursts", None)
    return scenario_from_dict(data, f"reference.yaml x{factor}")


def tasks_of(result: Any) -> tuple[int, int]:
    """Rep tasks (every one a simpy timeout: call attempts, email touches, account research)
    and leads (with accounts) of a run."""
    totals = result.totals
    tasks = int(totals["dials"] + totals["emails"] + totals["accounts_researched"])
    return tasks, int(totals["leads"] + totals["accounts"])


def servers_of(scenario: simfunnel.Scenario) -> int:
    return scenario.sdr.headcount + (
        scenario.outbound.bdr.headcount if scenario.outbound is not None else 0
    )


def compare(scenario: simfunnel.Scenario, seed: int, repeat: int) -> dict[str, Any]:
    """Engine, bare simpy and the heapq loop on the same number of tasks, interleaved (so that
    a burst of load on the machine hits all alike); the best of ``repeat`` runs each."""
    result = simfunnel.simulate(scenario, seed=seed)  # warm-up, and the counts
    tasks, leads = tasks_of(result)
    servers = servers_of(scenario)
    engine_s = bare_s = loop_s = float("inf")
    served = 0
    for _ in range(repeat):
        seconds, _ = timed(lambda: simfunnel.simulate(scenario, seed=seed))
        engine_s = min(engine_s, seconds)
        seconds, served = timed(lambda: bare_mmc(tasks, servers=servers))
        bare_s = min(bare_s, seconds)
        seconds, _ = timed(lambda: heapq_mmc(tasks, servers=servers))
        loop_s = min(loop_s, seconds)
    return {
        "result": result,
        "leads": leads,
        "attempts": tasks,
        "servers": servers,
        "served": served,
        "engine_s": engine_s,
        "bare_s": bare_s,
        "loop_s": loop_s,
        "us_per_task": 1e6 * engine_s / tasks,
        "ratio": (tasks / engine_s) / (served / bare_s),
        "ratio_heapq": (tasks / engine_s) / (served / loop_s),
    }


def scaling(seed: int, repeat: int) -> dict[str, Any]:
    """Engine cost per task on copies of reference.yaml from about 10k to 2M leads."""
    points = {}
    for label, factor, horizon in SCALES:
        run = compare(scaled(factor, horizon), seed, repeat)
        run.pop("result")
        points[label] = {k: round(v, 3) if isinstance(v, float) else v for k, v in run.items()}
    growth = points["2M"]["us_per_task"] / points["100k"]["us_per_task"]
    return {"points": points, "cost_2m_over_100k": round(growth, 2), "target": SCALING_TARGET}


def print_scaling(figures: dict[str, Any]) -> None:
    print(
        "scaling (reference.yaml scaled in code; engine cost per task, and ratios on as many tasks)"
    )
    for label, p in figures["points"].items():
        print(
            f"  {label:>4} {p['leads']:>10,} leads {p['attempts']:>10,} tasks  "
            f"{p['us_per_task']:6.2f} us/task   vs bare simpy {p['ratio']:.2f}x   "
            f"vs heapq loop {p['ratio_heapq']:.2f}x"
        )
    print(
        f"  cost per task at 2M / at 100k: {figures['cost_2m_over_100k']:.2f}x "
        f"(target <= {figures['target']}x)"
    )


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
    parser.add_argument(
        "--no-scaling",
        dest="scaling",
        action="store_false",
        help="skip the cost per task on reference.yaml scaled from 10k to 2M leads",
    )
    parser.add_argument(
        "--scaled-repeat", type=int, default=3, help="timed runs per scaled copy; the best counts"
    )
    args = parser.parse_args(argv)

    scenario = simfunnel.load_scenario(args.scenario)
    run = compare(scenario, args.seed, args.repeat)
    result, attempts, leads, servers = run["result"], run["attempts"], run["leads"], run["servers"]
    engine_s, bare_s, loop_s, served = run["engine_s"], run["bare_s"], run["loop_s"], run["served"]
    peak = peak_bytes(scenario, args.seed)
    target = RATIO_TARGETS.get(args.scenario.name, RATIO_TARGET)

    engine_rate = attempts / engine_s
    bare_rate = served / bare_s
    loop_rate = served / loop_s
    figures = {
        "scenario": str(args.scenario),
        "python": platform.python_version(),
        "simpy": simpy.__version__,
        "leads": leads,
        "mqls": int(result.totals["mqls"]),
        "attempts": attempts,
        "utilisation": {k: round(v, 3) for k, v in result.utilisations.items() if v == v},
        "engine_seconds": round(engine_s, 3),
        "engine_attempts_per_s": round(engine_rate),
        "engine_us_per_task": round(run["us_per_task"], 3),
        "bare_simpy_customers": served,
        "bare_simpy_seconds": round(bare_s, 3),
        "bare_simpy_customers_per_s": round(bare_rate),
        "heapq_loop_seconds": round(loop_s, 3),
        "heapq_loop_customers_per_s": round(loop_rate),
        "ratio": round(run["ratio"], 2),
        "ratio_heapq": round(run["ratio_heapq"], 2),
        "peak_memory_mb": round(peak / 2**20, 1),
        "bytes_per_lead": round(peak / leads),
        # Whole process, interpreter and libraries included: context for the figure above.
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "ratio_target": target,
        "bytes_per_lead_target": BYTES_PER_LEAD_TARGET,
    }
    met = figures["ratio"] >= target and figures["bytes_per_lead"] <= BYTES_PER_LEAD_TARGET
    if args.scaling:
        figures["scaling"] = scaling(args.seed, args.scaled_repeat)
        met = met and figures["scaling"]["cost_2m_over_100k"] <= SCALING_TARGET
    figures["meets_targets"] = bool(met)
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
        print(
            f"heapq loop M/M/{servers:<4}  {loop_s:6.2f} s   {loop_rate:10,.0f} customers/s "
            f"(best of {args.repeat})"
        )
        print(
            f"ratio                {figures['ratio']:.2f}x   (target >= {target}x); "
            f"vs the heapq loop {figures['ratio_heapq']:.2f}x"
        )
        print(
            f"peak memory          {figures['peak_memory_mb']:.1f} MB = "
            f"{figures['bytes_per_lead']} bytes per lead (target <= {BYTES_PER_LEAD_TARGET}); "
            f"process max RSS {figures['max_rss_mb']:.0f} MB"
        )
        if args.scaling:
            print_scaling(figures["scaling"])
        print("targets met" if figures["meets_targets"] else "TARGETS MISSED")
    return 0 if figures["meets_targets"] else 1


if __name__ == "__main__":
    sys.exit(main())
