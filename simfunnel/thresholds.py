"""Compare MQL thresholds before changing the real one.

Lowering the threshold sends more, weaker MQLs to the same SDRs. A spreadsheet scales every
stage by the extra volume; the simulation shows what happens to capacity, speed-to-lead and,
through them, to valid opportunities and wins. Every threshold is run on the same replications
(common random numbers: the same leads arrive), so each difference against the current threshold
is the threshold's, not luck's.

The recommendation rule, in order:

1. drop thresholds at which the SDRs saturate (mean utilisation >= ``saturation``) or that miss
   the speed-to-lead service level (share of MQLs called within an hour >= ``service_level``);
2. drop those that do not supply sales with ``min_valid_per_week`` valid opportunities;
3. of the rest, recommend the one with the most valid opportunities; a higher threshold that is
   not clearly worse (the upper end of the 95% interval of its paired difference from the best
   is at or above 0) ties, and a tie goes to the higher threshold: as many opportunities for
   less rep time and fewer weak leads.

If no threshold passes, none is recommended and the verdict says which condition failed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .analytic import spreadsheet_funnel
from .experiments import Experiment, run_variants, with_overrides
from .gap import Gap, explain_gap
from .scenario import Scenario
from .snapshot import Snapshot

SECTION = "decision"  # the section of the decision KPIs in the experiment's tables


@dataclass(frozen=True)
class Kpi:
    name: str
    label: str
    higher_is_better: bool
    percent: bool = False


KPIS = (
    Kpi("mqls_per_week", "MQLs per week", True),
    Kpi("sdr_utilisation", "SDR utilisation", False, percent=True),
    Kpi("speed_to_lead_median_h", "speed-to-lead, median (h)", False),
    Kpi("within_1h", "MQLs called within 1 h", True, percent=True),
    Kpi("backlog_mean", "untouched MQLs waiting (mean)", False),
    Kpi("sqls", "SQLs", True),
    Kpi("valid_opportunities", "valid opportunities", True),
    Kpi("valid_rate", "valid rate (valid / decided SQLs)", True, percent=True),
    Kpi("won", "wins", True),
    Kpi("won_value", "won value", True),
    Kpi("pipeline_value", "pipeline value", True),
    Kpi("cost_per_valid", "rep cost per valid opportunity", False),
)
_BY_NAME = {k.name: k for k in KPIS}


def decision_kpis(
    experiment: Experiment, weeks: float, costs: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """Per variant and replication, the KPIs a threshold or headcount decision is judged on,
    as rows in the experiment's ``totals`` form (section ``decision``)."""
    t = experiment.totals
    key = t["section"] + "." + t["metric"]
    wide = (
        t.assign(key=key)
        .pivot_table(index=["variant", "replication"], columns="key", values="value", dropna=False)
        .reset_index()
    )

    def col(name: str) -> pd.Series:
        return wide[name] if name in wide else pd.Series(np.nan, index=wide.index)

    out = pd.DataFrame({"variant": wide["variant"], "replication": wide["replication"]})
    out["mqls_per_week"] = col("totals.mqls") / weeks
    out["sdr_utilisation"] = col("utilisation.sdr")
    out["speed_to_lead_median_h"] = col("speed_to_lead.median_h")
    out["within_1h"] = col("speed_to_lead.within_1h")
    out["backlog_mean"] = col("backlog.mean")
    out["sqls"] = col("totals.sqls")
    out["valid_opportunities"] = col("totals.valid_opportunities")
    out["valid_rate"] = col("rates.sql_to_valid")
    out["won"] = col("totals.won")
    out["won_value"] = col("totals.won_value")
    out["pipeline_value"] = col("totals.pipeline_value")
    if costs:
        years = weeks / 52.18
        spend = sum(
            col(f"staffing.{role}_mean_headcount").fillna(0) * cost * years
            for role, cost in costs.items()
            if role != "ae"
        )
        if "ae" in costs:
            spend = spend + col("ae.ae_mean_headcount").fillna(0) * costs["ae"] * years
        out["cost_per_valid"] = spend / out["valid_opportunities"].where(
            out["valid_opportunities"] > 0
        )
    else:
        out["cost_per_valid"] = np.nan
    long = out.melt(id_vars=["variant", "replication"], var_name="metric", value_name="value")
    long.insert(1, "section", SECTION)
    return long


def with_decision_kpis(
    experiment: Experiment, weeks: float, costs: Mapping[str, float] | None = None
) -> Experiment:
    """The experiment with its decision KPIs added to ``totals`` (so summary and compare,
    with their intervals, cover them too)."""
    extra = decision_kpis(experiment, weeks, costs)
    params = experiment.params
    extra = extra.merge(params, on="variant", how="left") if params.shape[1] > 1 else extra
    extra["seed"] = experiment.seed
    totals = pd.concat([experiment.totals, extra[experiment.totals.columns]], ignore_index=True)
    return dataclasses.replace(experiment, totals=totals)


@dataclass(frozen=True)
class ThresholdComparison:
    """Thresholds side by side: KPIs with intervals, differences against the current one,
    flags, the Pareto set and a recommendation (rule in :mod:`simfunnel.thresholds`)."""

    experiment: Experiment
    thresholds: tuple[float, ...]
    current: float
    table: pd.DataFrame  # threshold, kpi, mean, ci_low, ci_high, diff, diff_low, diff_high
    overview: pd.DataFrame  # one row per threshold: KPI means and flags
    recommended: float | None
    reason: str
    gap: Gap | None = None  # spreadsheet vs simulation at the current threshold

    def kpi(self, name: str) -> pd.DataFrame:
        """One KPI across thresholds."""
        return self.table[self.table["kpi"] == name].reset_index(drop=True)

    @property
    def pareto(self) -> list[float]:
        """Thresholds no other beats on valid opportunities, speed-to-lead and valid rate."""
        return self.overview.loc[self.overview["pareto"], "threshold"].tolist()

    @property
    def verdict(self) -> str:
        o = self.overview.set_index("threshold")
        cur = o.loc[self.current]
        parts = []
        for t in self.thresholds:
            if t == self.current:
                continue
            row = o.loc[t]
            d = self.kpi("valid_opportunities").set_index("threshold").loc[t]
            change = "raising" if t > self.current else "lowering"
            parts.append(
                f"{change.capitalize()} the threshold from {_num(self.current)} to {_num(t)} "
                f"changes MQLs per week by {_pct(row['mqls_per_week'], cur['mqls_per_week'])} and "
                f"valid opportunities by {d['diff']:+.0f} (95% CI {d['diff_low']:+.0f} to "
                f"{d['diff_high']:+.0f}); SDR utilisation {row['sdr_utilisation']:.0%}, "
                f"{row['within_1h']:.0%} of MQLs called within an hour"
                + (" (the SDRs saturate)." if row["saturated"] else ".")
            )
        head = (
            f"Recommended threshold: {_num(self.recommended)}. {self.reason}"
            if self.recommended is not None
            else f"No threshold meets the conditions: {self.reason}"
        )
        tail = [] if self.gap is None else [f"At the current threshold: {self.gap.verdict}"]
        return " ".join([head, *parts, *tail])

    def plot(self, kpi: str = "valid_opportunities", ax: Any = None) -> Any:
        """A KPI against the threshold, mean and 95% interval; saturated thresholds marked."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        rows = self.kpi(kpi)
        spec = _BY_NAME[kpi]
        scale = 100.0 if spec.percent else 1.0
        x = rows["threshold"].to_numpy(dtype=float)
        ax.fill_between(x, rows["ci_low"] * scale, rows["ci_high"] * scale, alpha=0.25, lw=0)
        ax.plot(x, rows["mean"] * scale, marker="o", label="mean, 95% interval")
        sat = self.overview.set_index("threshold").loc[x, "saturated"].to_numpy(dtype=bool)
        if sat.any():
            ax.scatter(
                x[sat],
                rows["mean"].to_numpy()[sat] * scale,
                s=90,
                marker="x",
                color="tab:red",
                zorder=3,
                label="SDRs saturated",
            )
        ax.axvline(self.current, color="grey", ls=":", label="current threshold")
        if self.recommended is not None:
            ax.axvline(self.recommended, color="tab:green", ls="--", label="recommended")
        ax.set_xlabel("MQL threshold (score points)")
        ax.set_ylabel(spec.label + (" (%)" if spec.percent else ""))
        ax.set_title(f"{spec.label[0].upper()}{spec.label[1:]} by MQL threshold")
        ax.legend(fontsize="small")
        return ax

    def plot_tradeoff(
        self, x: str = "within_1h", y: str = "valid_opportunities", ax: Any = None
    ) -> Any:
        """The trade-off plane: each threshold a point, the Pareto set joined up."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        o = self.overview
        sx, sy = _BY_NAME[x], _BY_NAME[y]
        fx, fy = (100.0 if sx.percent else 1.0), (100.0 if sy.percent else 1.0)
        ax.scatter(o[x] * fx, o[y] * fy, color="tab:blue", zorder=2)
        front = o[o["pareto"]].sort_values(x)
        ax.plot(front[x] * fx, front[y] * fy, color="tab:blue", alpha=0.5, label="Pareto set")
        for row in o.itertuples(index=False):
            ax.annotate(
                _num(row.threshold),
                (getattr(row, x) * fx, getattr(row, y) * fy),
                textcoords="offset points",
                xytext=(4, 4),
                fontsize="small",
            )
        ax.set_xlabel(sx.label + (" (%)" if sx.percent else ""))
        ax.set_ylabel(sy.label + (" (%)" if sy.percent else ""))
        ax.set_title("Threshold trade-off (labels: threshold)")
        ax.legend(fontsize="small")
        return ax


def _num(value: float | None) -> str:
    return "none" if value is None else f"{value:g}"


def _pct(new: float, old: float) -> str:
    return f"{(new - old) / old:+.0%}" if old else "n/a"


def compare_thresholds(
    scenario: Scenario,
    thresholds: Sequence[float],
    reps: int = 10,
    *,
    seed: int | None = 0,
    workers: int | None = None,
    executor: Any = None,
    progress: bool = True,
    snapshot: Snapshot | None = None,
    costs: Mapping[str, float] | None = None,
    service_level: float = 0.5,
    saturation: float = 0.9,
    min_valid_per_week: float = 0.0,
    explain: bool = True,
) -> ThresholdComparison:
    """Run every threshold (and the current one) on common random numbers and compare.

    ``costs``: yearly cost per rep by role (``{"sdr": 90000, "ae": 150000}``) for the cost per
    valid opportunity. ``service_level``: least share of MQLs called within an hour.
    ``saturation``: SDR utilisation from which the team counts as saturated.
    ``explain``: also measure why the current threshold's valid opportunities differ from the
    spreadsheet's (:func:`simfunnel.gap.explain_gap`, on the same seeds).
    """
    if not thresholds:
        raise ValueError("give at least one threshold to compare with the current one")
    current = float(scenario.scoring.threshold)
    values = sorted({float(t) for t in thresholds} | {current})
    names = {t: f"threshold={_num(t)}" for t in values}
    experiment = run_variants(
        scenario,
        {names[t]: {"scoring.threshold": t} for t in values},
        reps,
        baseline=names[current],
        seed=seed,
        workers=workers,
        executor=executor,
        progress=progress,
        snapshot=snapshot,
    )
    weeks = scenario.horizon / 168.0
    experiment = with_decision_kpis(experiment, weeks, costs)
    summary = experiment.summary()
    summary = summary[summary["section"] == SECTION]
    diffs = experiment.compare()
    diffs = diffs[diffs["section"] == SECTION]
    by_name = {v: t for t, v in names.items()}
    table = summary[["variant", "metric", "mean", "ci_low", "ci_high"]].rename(
        columns={"metric": "kpi"}
    )
    d = diffs[["variant", "metric", "diff", "ci_low", "ci_high"]].rename(
        columns={"metric": "kpi", "ci_low": "diff_low", "ci_high": "diff_high"}
    )
    table = table.merge(d, on=["variant", "kpi"], how="left")
    table.loc[table["variant"] == names[current], ["diff", "diff_low", "diff_high"]] = 0.0
    table.insert(0, "threshold", table["variant"].map(by_name))
    table = table.drop(columns="variant").sort_values(["kpi", "threshold"], kind="stable")
    table = table.reset_index(drop=True)
    overview = table.pivot(index="threshold", columns="kpi", values="mean").reset_index()
    overview = overview[["threshold", *[k.name for k in KPIS if k.name in overview]]]
    overview["saturated"] = overview["sdr_utilisation"] >= saturation
    overview["meets_service_level"] = overview["within_1h"] >= service_level
    overview["enough_supply"] = overview["valid_opportunities"] / weeks >= min_valid_per_week
    overview["spreadsheet_valid"] = [
        _sheet_valid(with_overrides(scenario, {"scoring.threshold": t}), weeks)
        for t in overview["threshold"]
    ]
    overview["pareto"] = _pareto(overview, ("valid_opportunities", "within_1h", "valid_rate"))
    recommended, reason = _recommend(experiment, names, overview, service_level, saturation)
    overview["recommended"] = overview["threshold"] == recommended
    gap = (
        explain_gap(
            scenario,
            "valid_opportunities",
            reps,
            seed=seed,
            workers=workers,
            executor=executor,
            snapshot=snapshot,
        )
        if explain
        else None
    )
    return ThresholdComparison(
        experiment=experiment,
        thresholds=tuple(values),
        current=current,
        table=table,
        overview=overview,
        recommended=recommended,
        reason=reason,
        gap=gap,
    )


def _sheet_valid(scenario: Scenario, weeks: float) -> float:
    """Valid opportunities a spreadsheet expects over the period (no capacity, no decay)."""
    funnel = spreadsheet_funnel(scenario)
    return float(funnel.loc[funnel["source"] == "total", "valid_per_week"].iloc[0]) * weeks


def _pareto(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """Rows that no other row matches or beats on every column and beats on one."""
    values = frame[list(columns)].to_numpy(dtype=float)
    keep = []
    for i, row in enumerate(values):
        dominated = any(
            np.all(other >= row) and np.any(other > row)
            for j, other in enumerate(values)
            if j != i and not np.isnan(other).any()
        )
        keep.append(not dominated and not np.isnan(row).any())
    return pd.Series(keep, index=frame.index)


def _recommend(
    experiment: Experiment,
    names: Mapping[float, str],
    overview: pd.DataFrame,
    service_level: float,
    saturation: float,
) -> tuple[float | None, str]:
    ok = overview[~overview["saturated"]]
    if ok.empty:
        return None, f"the SDRs saturate (utilisation >= {saturation:.0%}) at every threshold."
    ok = ok[ok["meets_service_level"]]
    if ok.empty:
        return None, (
            f"no threshold has {service_level:.0%} of MQLs called within an hour without "
            "saturating the SDRs."
        )
    ok = ok[ok["enough_supply"]]
    if ok.empty:
        return None, "no threshold that keeps speed-to-lead supplies sales with enough."
    best = float(ok.loc[ok["valid_opportunities"].idxmax(), "threshold"])
    choice = best
    higher = [float(t) for t in ok["threshold"] if t > best]
    if higher:
        # Paired differences against the best: a higher threshold not clearly worse ties.
        diffs = experiment.compare(baseline=names[best])
        valid = diffs[(diffs["section"] == SECTION) & (diffs["metric"] == "valid_opportunities")]
        upper = valid.set_index("variant")["ci_high"]
        ties = [t for t in higher if upper.get(names[t], -math.inf) >= 0]
        choice = max([best, *ties])
    o = overview.set_index("threshold")
    row = o.loc[choice]
    slack = (
        f"the SDRs keep slack (utilisation {row['sdr_utilisation']:.0%}) and "
        f"{row['within_1h']:.0%} of MQLs are called within an hour"
    )
    if choice == best:
        return choice, (
            f"It gives the most valid opportunities ({row['valid_opportunities']:.0f}) among "
            f"thresholds where {slack}."
        )
    return choice, (
        f"It gives {row['valid_opportunities']:.0f} valid opportunities against "
        f"{o.loc[best, 'valid_opportunities']:.0f} at {_num(best)}, which is not clearly more "
        f"(paired 95% interval), for fewer and better MQLs; {slack}."
    )


__all__ = ["KPIS", "ThresholdComparison", "compare_thresholds", "decision_kpis"]
