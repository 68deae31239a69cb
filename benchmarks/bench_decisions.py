"""Time to a decision at a stated precision, against today's fixed count of replications.

Why: a leader waits for the decisions, not for one run. ``compare_thresholds`` and
``size_team`` (and ``forecast``) now run until their answer is settled (the paired difference of the ranking KPI
known to +/-2% of today's level, options clearly below the best dropped; a headcount's pass
rate settled on one side of the confidence asked) instead of a fixed count. This benchmark runs
both ways in one process, on the same machine a moment apart, and prints:

- thresholds: wall time and replications of the settled comparison against ``--fixed``
  replications of every option (the engine time is in proportion to the replications: every
  run of the same scenario costs about the same), the precision each reached, the variance
  reduction that common random numbers bought, and the time against N x one ``simulate``;
- sizing: the answer for several seeds (it must not move), with the replications each took,
  against ``--fixed`` replications per headcount;
- forecast: a forecast settled on its band (P10, P50 and P90 known to +/-2% of the P50)
  against ``--fixed`` replications, with the precision each reached;
- pools: the start-up of a process pool under fork and under spawn (what one pool per
  decision saves at each headcount a search tries).

Run with ``python benchmarks/bench_decisions.py`` (reference.yaml, about 10 minutes on two
cores) or ``--quick`` (inbound_saas over 16 weeks, about 2 minutes).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing as mp
import platform
import sys
import time
from pathlib import Path
from typing import Any

import simfunnel
from simfunnel.scenario import with_overrides

HERE = Path(__file__).parent
REFERENCE = HERE / "reference.yaml"
SAAS = HERE.parent / "scenarios" / "inbound_saas.yaml"
TARGETS = ["speed_to_lead_1h>=0.7", "sdr_utilisation<=0.85"]


def _timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def _runs(experiment: Any) -> int:
    """Replications run over every variant."""
    return int(experiment.totals.groupby("variant")["replication"].nunique().sum())


def _precision(comparison: Any, kpi: str = "valid_opportunities") -> dict[str, float]:
    """Per option, the paired 95% half-width against today, as a share of today's level."""
    c = comparison.experiment.compare()
    c = c[(c["section"] == "totals") & (c["metric"] == kpi)]
    return {str(r.variant): float(r.half_width / abs(r.baseline_mean)) for r in c.itertuples()}


def thresholds(scenario: Any, values: list[float], fixed: int, workers: int) -> None:
    one, result = _timed(lambda: simfunnel.simulate(scenario, seed=0))
    print(f"one simulate: {one:.2f} s ({result.totals['leads']:,} leads)")
    common = {"workers": workers, "progress": False, "explain": False}
    t_fixed, fixed_run = _timed(
        lambda: simfunnel.compare_thresholds(scenario, values, fixed, **common)
    )
    t_settled, settled = _timed(lambda: simfunnel.compare_thresholds(scenario, values, **common))
    n_fixed, n_settled = _runs(fixed_run.experiment), _runs(settled.experiment)
    print(f"\nthresholds {values} (today {scenario.scoring.threshold:g}), {workers} workers")
    print(f"  fixed   {fixed} each: {n_fixed:>4} runs, {t_fixed:7.1f} s wall")
    print(f"  settled +/-2%:   {n_settled:>4} runs, {t_settled:7.1f} s wall")
    print(
        f"  settled / fixed: runs {n_settled / n_fixed:.2f}x (engine time), "
        f"wall {t_settled / t_fixed:.2f}x"
    )
    print(
        f"  against N x one simulate on {workers} cores: fixed "
        f"{t_fixed / (n_fixed * one / workers):.2f}x, settled "
        f"{t_settled / (n_settled * one / workers):.2f}x"
    )
    print("  each option's replications and why it stopped:")
    for r in settled.experiment.settled.itertuples():
        print(f"    {r.variant:<10} {r.replications:>3}  {r.why}")
    fixed_p, settled_p = _precision(fixed_run), _precision(settled)
    print("  paired 95% half-width of valid opportunities, share of today's level:")
    for option in settled_p:
        print(f"    {option:<10} fixed {fixed_p[option]:6.2%}   settled {settled_p[option]:6.2%}")
    c = fixed_run.experiment.compare()
    c = c[(c["section"] == "totals") & (c["metric"] == "valid_opportunities")]
    reductions = ", ".join(f"{r.variant} {r.variance_reduction:.1f}x" for r in c.itertuples())
    print(f"  variance reduction of common random numbers (fixed run): {reductions}")
    print(f"  recommendation: fixed {fixed_run.recommended}, settled {settled.recommended}")


def sizing(scenario: Any, seeds: list[int], fixed: int, workers: int) -> None:
    weeks = scenario.horizon / 168
    print(f"\nsize SDRs for {TARGETS} at 80% over {weeks:.0f} weeks, {workers} workers")
    t_fixed, f = _timed(
        lambda: simfunnel.size_team(
            scenario, "sdr", TARGETS, reps=fixed, seed=seeds[0], workers=workers, explain=False
        )
    )
    fixed_runs = sum(e.finished(e.baseline) for e in f.experiments.values())
    print(
        f"  fixed {fixed} per headcount, seed {seeds[0]}: {f.headcount} SDRs, "
        f"{fixed_runs} runs in {t_fixed:.1f} s"
    )
    answers = []
    for seed in seeds:
        t, s = _timed(
            lambda seed=seed: simfunnel.size_team(
                scenario, "sdr", TARGETS, seed=seed, workers=workers, explain=False
            )
        )
        rows = s.table.set_index("headcount")
        said = ", ".join(f"{h}: {r.runs} {r.judged or 'first look'}" for h, r in rows.iterrows())
        total = int(rows["runs"].sum())
        answers.append(s.headcount)
        print(
            f"  seed {seed}: {s.headcount} SDRs, {total} runs ({total / fixed_runs:.2f}x the "
            f"fixed search's) in {t:5.1f} s ({t / t_fixed:.2f}x); {said}"
        )
    print(f"  the same answer for every seed: {len(set(answers)) == 1} ({answers})")


def forecasting(scenario: Any, weeks: int, fixed: int, workers: int) -> None:
    """A forecast settled on its band against ``fixed`` replications, and the precision of
    the band's edges each reached."""
    from simfunnel.decisions.forecast_bands import band_precision

    common = {"seed": 0, "workers": workers, "progress": False}
    t_fixed, f = _timed(lambda: simfunnel.forecast(scenario, weeks, fixed, **common))
    t_settled, s = _timed(lambda: simfunnel.forecast(scenario, weeks, **common))
    half_f, p50_f = band_precision(_valid(f))
    half_s, p50_s = band_precision(_valid(s))
    print(f"\nforecast of {scenario.name} over {weeks} weeks, {workers} workers")
    print(
        f"  fixed   {fixed}: {t_fixed:6.1f} s wall; P10/P50/P90 of valid opportunities known "
        f"to +/-{half_f / p50_f:.1%} of the P50"
    )
    print(
        f"  settled {s.reps}: {t_settled:6.1f} s wall ({t_settled / t_fixed:.2f}x); known to "
        f"+/-{half_s / p50_s:.1%} ({s.experiment.settled['why'].iloc[0]})"
    )


def _valid(forecast: Any) -> Any:
    """Valid opportunities over the horizon, per replication."""
    totals = forecast.experiment.totals
    return totals.loc[totals["metric"] == "valid_opportunities", "value"].to_numpy(dtype=float)


def pools(workers: int) -> None:
    print("\nstart-up of a process pool (one per decision now, one per headcount before):")
    for method in ("fork", "spawn"):
        if method not in mp.get_all_start_methods():
            continue
        context = mp.get_context(method)
        t, _ = _timed(
            lambda context=context: _first_task(
                cf.ProcessPoolExecutor(max_workers=workers, mp_context=context)
            )
        )
        print(f"  {method:<6} {t:.2f} s to the first result")
    print(f"  this platform's default: {mp.get_start_method()}")


def _first_task(pool: cf.ProcessPoolExecutor) -> None:
    with pool:  # importing simfunnel in the worker is part of what a pool costs
        pool.submit(_load).result()


def _load() -> bool:
    """What a worker does before its first replication: import the engine."""
    import simfunnel.experiments

    return simfunnel.experiments.__name__ != ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="inbound_saas over 16 weeks")
    parser.add_argument("--skip-thresholds", action="store_true")
    parser.add_argument("--values", default="40,50,70,80")
    parser.add_argument("--fixed", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument(
        "--sizing-weeks", type=int, default=16, help="sizing horizon (0: the scenario's year)"
    )
    args = parser.parse_args(argv)
    print(
        f"python {platform.python_version()}, {platform.machine()}, simfunnel {simfunnel.__version__}"
    )
    year = simfunnel.load_scenario(SAAS)
    saas = with_overrides(year, {"horizon": "16 weeks"})
    scenario = saas if args.quick else simfunnel.load_scenario(REFERENCE)
    values = [float(v) for v in args.values.split(",")]
    if not args.skip_thresholds:
        thresholds(scenario, values, args.fixed, args.workers)
    seeds = [int(s) for s in args.seeds.split(",")]
    weeks = args.sizing_weeks
    sized = with_overrides(year, {"horizon": f"{weeks} weeks"}) if weeks else year
    sizing(sized, seeds, args.fixed, args.workers)
    forecasting(saas, 13, args.fixed, args.workers)
    pools(args.workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
