"""Rolling-origin evaluation of the cohort forecast on exports with a known truth and on the
Maven CRM sample (when ../shared/data is beside the project).

    python benchmarks/forecast_eval.py [--reps 200] [--cases regime,thin,no_score_amount]

For each synthetic case (simfunnel.calibration.synthetic: a regime change with five-fold growth, a thin
export of MQL and won dates, an export without score and amount columns) it fits at every
month start from six months in, forecasts three calendar months, and prints per metric the
coverage of the P10-P90 band (with the range a calibrated band shows at 99%), MAPE, CRPS and
the error of the horizon total, for the model and the baselines, then the verdict lines.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

from simfunnel.calibration import rolling_backtest, synthetic_export
from simfunnel.data import read_opportunities

MAVEN = Path(__file__).resolve().parents[1].parent / "shared/data/maven_crm/sales_pipeline.csv"
MAVEN_COLUMNS = {"opportunity_id": "opportunity_id", "created": "engage_date",
                 "close_date": "close_date", "stage": "deal_stage", "amount": "close_value",
                 "owner": "sales_agent"}  # fmt: skip


def show(title: str, rb, seconds: float, start: pd.Timestamp | None = None) -> None:
    print(f"\n## {title} ({len(rb.cutoffs)} cutoffs, {rb.horizon_months} months ahead, "
          f"{seconds:.0f} s)\n")  # fmt: skip
    s = rb.summary()
    cols = ["metric", "method", "months", "coverage", "coverage_low", "coverage_high", "mape",
            "crps", "total_error"]  # fmt: skip
    print(s[cols].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print()
    for line in rb.verdict_lines():
        print("- " + line)
    if start is not None:  # where a yearly cycle can be fitted, against same month last year
        t = rb.totals[rb.totals["cutoff"] >= start + pd.DateOffset(years=2)]
        if len(t):
            e = t.pivot_table(index="metric", columns="method", values="error", sort=False)
            cols = [c for c in ("cohort model", "same month last year", "last month",
                                "naive cohort rate") if c in e]  # fmt: skip
            print(f"\nhorizon-total error from the {t['cutoff'].nunique()} cutoffs with two "
                  "years of history (a yearly cycle fitted):")  # fmt: skip
            print(e[cols].to_string(float_format=lambda x: f"{x:.1%}"))
    split = rb.variance.groupby("metric", sort=False)["parameter_share"].mean()
    print(
        "\nshare of the band's variance from the parameter draws (mean over cutoffs): "
        + ", ".join(f"{m} {v:.0%}" for m, v in split.items())
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cases", default="regime,thin,no_score_amount")
    ap.add_argument("--months", type=int, default=24, help="history of each synthetic export")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    pd.set_option("display.width", 200)
    with tempfile.TemporaryDirectory() as tmp:
        for case in [c for c in args.cases.split(",") if c]:
            ex = synthetic_export(case, seed=args.seed, months=args.months)
            path = ex.write(Path(tmp) / case)
            t = time.perf_counter()
            rb = rolling_backtest(path, every="month", horizon_months=3, reps=args.reps)
            show(f"synthetic case '{case}', {args.months} months", rb, time.perf_counter() - t,
                 ex.truth["start"])  # fmt: skip
    if MAVEN.exists():
        ot = read_opportunities(MAVEN, mapping=MAVEN_COLUMNS)
        t = time.perf_counter()
        rb = rolling_backtest(opportunities=ot, every="month", horizon_months=3, reps=args.reps)
        show("Maven CRM sample (opportunities only)", rb, time.perf_counter() - t)
    else:
        print(f"\n(Maven sample not found at {MAVEN}: skipped)")


if __name__ == "__main__":
    main()
