"""Parallel replications: 2 worker processes against 1, and a Dask cluster against the pool.

Why: a sweep of options times replications must finish while a notebook user waits, so the
replications must spread over the cores with little lost to coordination. Targets (issue 4):
20 replications of the one-year reference scenario run at least 1.8x faster on 2 worker
processes than in 1; and the cost of a Dask LocalCluster (2 worker processes) over the local
process pool is measured twice: its start-up, and the time per replication that the scheduler
adds, on tasks so small (a one-week scenario) that little else is measured.

Every way of running must give the same tables bit for bit; the benchmark checks that too.
Run with ``make bench-parallel`` or ``python benchmarks/bench_parallel.py [--json]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import simfunnel
from simfunnel.experiments import Experiment
from simfunnel.scenario import with_overrides

REFERENCE = Path(__file__).with_name("reference.yaml")
SPEEDUP_TARGET = 1.8


def timed(fn: Callable[[], Experiment]) -> tuple[float, Experiment]:
    gc.collect()
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def same(a: Experiment, b: Experiment) -> bool:
    """Bit-for-bit equal tables."""
    return all(
        getattr(a, t).equals(getattr(b, t))
        and getattr(a, t)["value"].to_numpy().tobytes()
        == getattr(b, t)["value"].to_numpy().tobytes()
        for t in ("long", "totals")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=REFERENCE)
    parser.add_argument("--reps", type=int, default=20, help="replications (default 20)")
    parser.add_argument("--small-reps", type=int, default=200, help="tiny tasks for overhead")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs; the best counts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    from dask.distributed import Client, LocalCluster

    scenario = simfunnel.load_scenario(args.scenario)
    # The same team for one week: a replication small enough that coordination shows.
    small = with_overrides(
        scenario,
        {"horizon": "1 week"} | {f"sources.{i}.bursts": [] for i, _ in enumerate(scenario.sources)},
    )
    common = {"seed": args.seed, "progress": False}
    simfunnel.run(small, 2, workers=1, **common)  # warm-up: imports and caches, then forked

    # Interleaved repeats, best of each: a burst of load on a shared machine hits both alike.
    serial_s = pool_s = small_pool_s = float("inf")
    for _ in range(args.repeat):
        seconds, serial = timed(lambda: simfunnel.run(scenario, args.reps, workers=1, **common))
        serial_s = min(serial_s, seconds)
        seconds, pool = timed(lambda: simfunnel.run(scenario, args.reps, workers=2, **common))
        pool_s = min(pool_s, seconds)
        seconds, small_pool = timed(
            lambda: simfunnel.run(small, args.small_reps, workers=2, **common)
        )
        small_pool_s = min(small_pool_s, seconds)

    start = time.perf_counter()
    cluster = LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",  # loopback, any free port
        silence_logs=logging.ERROR,
    )
    client = Client(cluster)
    dask_start_s = time.perf_counter() - start
    try:
        # The first tasks import simfunnel in each worker: paid once, counted in start-up.
        start = time.perf_counter()
        simfunnel.run(small, 4, executor=client, **common)
        dask_start_s += time.perf_counter() - start
        dask_s = small_dask_s = float("inf")
        for _ in range(args.repeat):
            seconds, dask = timed(
                lambda: simfunnel.run(scenario, args.reps, executor=client, **common)
            )
            dask_s = min(dask_s, seconds)
            seconds, small_dask = timed(
                lambda: simfunnel.run(small, args.small_reps, executor=client, **common)
            )
            small_dask_s = min(small_dask_s, seconds)
    finally:
        client.close()
        cluster.close()

    runs = {"pool": pool, "dask": dask, "small pool": small_pool, "small dask": small_dask}
    for name, exp in runs.items():
        for failure in exp.failures.itertuples():
            print(f"{name}: replication {failure.replication}: {failure.error}", file=sys.stderr)
    identical = same(serial, pool) and same(serial, dask) and same(small_pool, small_dask)
    totals = serial.summary().set_index(["section", "metric"])["mean"]
    speedup = serial_s / pool_s
    figures: dict[str, Any] = {
        "scenario": str(args.scenario),
        "python": platform.python_version(),
        "cores": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "reps": args.reps,
        "repeat": args.repeat,
        "leads_per_rep": round(float(totals[("totals", "leads")])),
        "serial_seconds": round(serial_s, 2),
        "pool_2_seconds": round(pool_s, 2),
        "speedup_2_vs_1": round(speedup, 2),
        "speedup_target": SPEEDUP_TARGET,
        "dask_2_seconds": round(dask_s, 2),
        "dask_vs_pool": round(dask_s / pool_s, 3),
        "dask_startup_seconds": round(dask_start_s, 2),
        "small_reps": args.small_reps,
        "small_pool_ms_per_rep": round(1000 * small_pool_s / args.small_reps, 2),
        "small_dask_ms_per_rep": round(1000 * small_dask_s / args.small_reps, 2),
        "dask_overhead_ms_per_rep": round(
            1000 * (small_dask_s - small_pool_s) / args.small_reps, 2
        ),
        "identical_results": identical,
    }
    figures["meets_targets"] = bool(speedup >= SPEEDUP_TARGET and identical)
    if args.json:
        print(json.dumps(figures))
    else:
        print(
            f"{args.reps} replications of {args.scenario.name} (best of {args.repeat}) "
            f"(about {figures['leads_per_rep']:,} leads each), {figures['cores']} cores"
        )
        print(f"1 worker (in process)     {serial_s:7.2f} s")
        print(
            f"2 worker processes        {pool_s:7.2f} s   speed-up {speedup:.2f}x "
            f"(target >= {SPEEDUP_TARGET}x)"
        )
        print(
            f"Dask LocalCluster, 2      {dask_s:7.2f} s   "
            f"{figures['dask_vs_pool']:.3f}x the pool's time"
        )
        print(f"Dask cluster start-up     {dask_start_s:7.2f} s   (once per session)")
        print(
            f"{args.small_reps} one-week replications: pool "
            f"{figures['small_pool_ms_per_rep']:.1f} ms each, Dask "
            f"{figures['small_dask_ms_per_rep']:.1f} ms each "
            f"({figures['dask_overhead_ms_per_rep']:+.1f} ms per replication)"
        )
        print("results identical bit for bit" if identical else "RESULTS DIFFER")
        print("targets met" if figures["meets_targets"] else "TARGETS MISSED")
    return 0 if figures["meets_targets"] else 1


if __name__ == "__main__":
    sys.exit(main())
