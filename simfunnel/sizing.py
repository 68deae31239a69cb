"""How many reps, and when to hire them.

``size_team`` finds the smallest headcount of one role that meets every target with a given
probability: each headcount is simulated on the same replications (common random numbers), the
search starts from the analytic estimate (for the targets given), steps down one rep at a time
while the targets still hold, or up in doubling steps and then by bisection, and stops early
when more reps no longer move the targets; the table keeps the headcount one below the answer,
which fails, as the evidence. ``hiring_plan`` turns a monthly
lead-volume plan into dated hires that keep the team big enough, month by month, once ramp,
attrition and the hiring delay are counted, using the same staffing model the engine runs.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .arrivals import Streams
from .experiments import Experiment, run, scenario_to_dict, with_overrides
from .scenario import Scenario, scenario_from_dict
from .snapshot import Snapshot
from .staffing import build_roster
from .worktime import WorkCalendar

WEEKS_PER_MONTH = 52.1775 / 12
SLACK = 0.5  # a month is covered when the expected effective headcount is within half a rep
ROLE_PATHS = {"sdr": "sdr", "bdr": "outbound.bdr", "ae": "ae.team"}
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


@dataclass(frozen=True)
class Measure:
    """A target's metric: how to read it off one replication's KPI report."""

    label: str
    read: Callable[[Mapping[str, float], float], float]  # (report, weeks) -> value


def _per_month(key: str) -> Callable[[Mapping[str, float], float], float]:
    return lambda r, weeks: r.get(key, math.nan) / (weeks / WEEKS_PER_MONTH)


MEASURES: dict[str, Measure] = {
    "speed_to_lead_1h": Measure(
        "share of MQLs called within 1 h", lambda r, w: r.get("speed_to_lead.within_1h", math.nan)
    ),
    "speed_to_lead_24h": Measure(
        "share of MQLs called within 24 h",
        lambda r, w: r.get("speed_to_lead.within_24h", math.nan),
    ),
    "speed_to_lead_median_h": Measure(
        "median hours to first attempt", lambda r, w: r.get("speed_to_lead.median_h", math.nan)
    ),
    "valid_opps_per_month": Measure(
        "valid opportunities per month", _per_month("totals.valid_opportunities")
    ),
    "sqls_per_month": Measure("SQLs per month", _per_month("totals.sqls")),
    "wins_per_month": Measure("wins per month", _per_month("totals.won")),
    "sdr_utilisation": Measure("SDR utilisation", lambda r, w: r.get("utilisation.sdr", math.nan)),
    "bdr_utilisation": Measure("BDR utilisation", lambda r, w: r.get("utilisation.bdr", math.nan)),
    "backlog_mean": Measure("untouched MQLs waiting", lambda r, w: r.get("backlog.mean", math.nan)),
    "ae_wait_h": Measure(
        "hours a tossed-up lead waits for an AE", lambda r, w: r.get("ae.ae_mean_wait_h", math.nan)
    ),
    "ae_occupancy": Measure("AE occupancy", lambda r, w: r.get("ae.ae_occupancy", math.nan)),
}


@dataclass(frozen=True)
class Target:
    """``metric op value``, e.g. ``speed_to_lead_1h >= 0.8``."""

    metric: str
    op: str
    value: float

    @classmethod
    def parse(cls, text: str) -> Target:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.]+)\s*(>=|<=|>|<)\s*([-+0-9.eE]+)\s*", text)
        if match is None:
            raise ValueError(
                f"target {text!r}: write METRIC>=VALUE (or <=, >, <), e.g. 'speed_to_lead_1h>=0.8'"
            )
        metric, op, value = match.groups()
        if metric not in MEASURES and "." not in metric:
            raise ValueError(
                f"target {text!r}: unknown metric {metric!r}; use one of "
                f"{', '.join(MEASURES)}, or a report key such as 'totals.won'"
            )
        return cls(metric, op, float(value))

    def value_in(self, report: Mapping[str, float], weeks: float) -> float:
        if self.metric in MEASURES:
            return MEASURES[self.metric].read(report, weeks)
        return report.get(self.metric, math.nan)

    def met(self, value: float) -> bool:
        return not math.isnan(value) and _OPS[self.op](value, self.value)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


def _targets(targets: Sequence[str | Target]) -> list[Target]:
    if not targets:
        raise ValueError("give at least one target, e.g. ['speed_to_lead_1h>=0.8']")
    return [t if isinstance(t, Target) else Target.parse(t) for t in targets]


def _reports(experiment: Experiment) -> list[dict[str, float]]:
    """One dict per replication: 'section.metric' -> value."""
    t = experiment.totals
    out = []
    for _, rows in t.groupby("replication", sort=True):
        out.append(dict(zip(rows["section"] + "." + rows["metric"], rows["value"], strict=True)))
    return out


def _headcount_path(scenario: Scenario, role: str) -> str:
    if role not in ROLE_PATHS:
        raise ValueError(f"role must be one of {', '.join(ROLE_PATHS)} (got {role!r})")
    if role == "bdr" and scenario.outbound is None:
        raise ValueError("role 'bdr' needs an outbound section in the scenario")
    if role == "ae" and scenario.ae.team is None:
        raise ValueError("role 'ae' needs ae.team in the scenario (otherwise AEs are unlimited)")
    return ROLE_PATHS[role] + ".headcount"


def _staff(scenario: Scenario, role: str) -> Any:
    return {
        "sdr": scenario.sdr,
        "bdr": getattr(scenario.outbound, "bdr", None),
        "ae": scenario.ae.team,
    }[role]


def analytic_start(scenario: Scenario, role: str, targets: Sequence[Target] = ()) -> int:
    """Where the search starts: for SDRs the analytic estimate (offered load over on-phone
    hours, and Erlang C, :func:`simfunnel.analytic.sdr_workload`) at the targets' own service
    level and occupancy where they give one; the current headcount otherwise."""
    from .analytic import sdr_workload

    current = _staff(scenario, role).headcount
    if role != "sdr":
        return max(1, current)
    options: dict[str, float] = {}
    for t in targets:
        if t.metric == "speed_to_lead_1h" and t.op in (">=", ">") and 0 < t.value < 1:
            options["service_level"] = t.value
        if t.metric == "sdr_utilisation" and t.op in ("<=", "<") and 0 < t.value <= 1:
            options["target_occupancy"] = t.value
    estimate = sdr_workload(scenario, **options)
    best = max(estimate.headcount_by_occupancy, estimate.headcount_by_erlang_c)
    return max(1, math.ceil(best)) if math.isfinite(best) else max(1, current)


@dataclass(frozen=True)
class Sizing:
    """The answer of :func:`size_team`: the headcount, and the table that shows it."""

    role: str
    targets: tuple[Target, ...]
    confidence: float
    headcount: int | None  # None: no headcount up to the limit meets the targets
    start: int  # where the search started (the analytic estimate)
    table: pd.DataFrame  # one row per headcount tried: P(all met) and each target's metric
    experiments: dict[int, Experiment]

    @property
    def verdict(self) -> str:
        rows = self.table.set_index("headcount")
        name = self.role.upper() + "s"
        goals = "; ".join(str(t) for t in self.targets)
        if self.headcount is None:
            top = int(rows.index.max())
            best = "; ".join(
                f"{t.metric} reaches {rows.loc[top, f'{t.metric}_mean']:.3g} at {top}"
                for t in self.targets
            )
            return (
                f"No {self.role.upper()} headcount up to {top} meets every target ({goals}) in "
                f"{self.confidence:.0%} of simulated runs; at {top} they are met in "
                f"{rows.loc[top, 'p_all_met']:.0%} ({best}). Where more reps stop helping, the "
                "limit is not headcount: for speed-to-lead, leads that arrive outside working "
                "hours wait for the morning whatever the team's size."
            )
        h = self.headcount
        name = self.role.upper() + ("" if h == 1 else "s")
        text = (
            f"You need {h} {name}: with {h}, every target ({goals}) is met in "
            f"{rows.loc[h, 'p_all_met']:.0%} of simulated runs (asked: {self.confidence:.0%})"
        )
        if h - 1 in rows.index:
            text += f"; with {h - 1}, in only {rows.loc[h - 1, 'p_all_met']:.0%}"
            failing = [
                str(t) for t in self.targets if rows.loc[h - 1, f"p_met: {t}"] < self.confidence
            ]
            if failing:
                text += f" ({' and '.join(failing)} is what fails)"
        text += f". The analytic estimate was {self.start}"
        if self.start != h:
            text += (
                f": the simulation needs {abs(h - self.start)} "
                f"{'more' if h > self.start else 'fewer'}, because "
                + (
                    "leads arrive in office-hour peaks and overnight, cadence retries and "
                    "follow-ups add load, and the queue order matters, which the analytic "
                    "model (a steady flow of independent jobs) leaves out"
                    if h > self.start
                    else "the analytic model counts every touch as a job waiting its turn, "
                    "while the queue rule lets new MQLs jump ahead of retries"
                )
            )
        return text + "."

    def plot(self, target: int = 0, ax: Any = None) -> Any:
        """One target's metric against headcount (mean, P10-P90), the target line, the answer."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        t = self.targets[target]
        rows = self.table.sort_values("headcount")
        x = rows["headcount"].to_numpy(dtype=float)
        ax.fill_between(
            x,
            rows[f"{t.metric}_p10"],
            rows[f"{t.metric}_p90"],
            alpha=0.25,
            lw=0,
            label="P10-P90 of runs",
        )
        ax.plot(x, rows[f"{t.metric}_mean"], marker="o", label="mean")
        ax.axhline(t.value, color="tab:red", ls="--", label=f"target {t.op} {t.value:g}")
        if self.headcount is not None:
            ax.axvline(self.headcount, color="tab:green", ls=":", label="smallest that meets all")
        label = MEASURES[t.metric].label if t.metric in MEASURES else t.metric
        ax.set_xlabel(f"{self.role.upper()} headcount (reps)")
        ax.set_ylabel(label)
        ax.set_title(f"{label} by {self.role.upper()} headcount")
        ax.legend(fontsize="small")
        return ax


def size_team(
    scenario: Scenario,
    role: str = "sdr",
    targets: Sequence[str | Target] = (),
    confidence: float = 0.8,
    reps: int = 10,
    *,
    start: int | None = None,
    max_headcount: int = 200,
    seed: int | None = 0,
    workers: int | None = None,
    executor: Any = None,
    progress: bool = False,
    snapshot: Snapshot | None = None,
) -> Sizing:
    """The smallest headcount of ``role`` whose runs meet every target with probability at
    least ``confidence`` (the share of ``reps`` replications in which all are met)."""
    if not 0 < confidence <= 1:
        raise ValueError(f"confidence must be in (0, 1] (got {confidence})")
    goals = _targets(targets)
    path = _headcount_path(scenario, role)
    weeks = scenario.horizon / 168.0
    first = start if start is not None else analytic_start(scenario, role, goals)
    first = max(1, min(first, max_headcount))
    tried: dict[int, Experiment] = {}
    share: dict[int, float] = {}
    level: dict[int, list[float]] = {}  # each target's mean metric, per headcount

    def meets(h: int) -> bool:
        if h not in tried:
            tried[h] = run(
                with_overrides(scenario, {path: h}, source=f"{role} headcount {h}"),
                reps,
                seed=seed,
                workers=workers,
                executor=executor,
                progress=progress,
                snapshot=snapshot,
            )
            reports = _reports(tried[h])
            for g in goals:
                if g.metric not in MEASURES and g.metric not in reports[0]:
                    known = ", ".join(sorted(k for k in reports[0] if k.startswith("totals.")))
                    raise ValueError(f"target {g}: no KPI {g.metric!r} in the report; e.g. {known}")
            share[h] = float(
                np.mean([all(g.met(g.value_in(r, weeks)) for g in goals) for r in reports])
            )
            level[h] = [float(np.nanmean([g.value_in(r, weeks) for r in reports])) for g in goals]
        return share[h] >= confidence

    def flat(a: int, b: int) -> bool:
        """More reps changed nothing: every target's metric moved less than 0.5%."""
        return all(
            abs(y - x) <= 0.005 * max(abs(x), abs(y), 1e-9)
            for x, y in zip(level[a], level[b], strict=True)
        )

    answer: int | None
    if meets(first):
        h = first
        while h > 1 and meets(h - 1):
            h -= 1
        answer = h
    else:
        low, high = first, None  # low fails
        step = 1
        while high is None:
            nxt = min(max_headcount, low + step)
            if meets(nxt):
                high = nxt
            elif nxt == max_headcount or (share[nxt] == 0 and step > 1 and flat(low, nxt)):
                break  # the limit, or a plateau: headcount no longer moves the targets
            else:
                low, step = nxt, step * 2
        if high is None:
            answer = None
        else:
            while high - low > 1:  # the first that meets lies in (low, high]
                mid = (low + high) // 2
                if meets(mid):
                    high = mid
                else:
                    low = mid
            answer = high
    if answer is not None and answer > 1:
        meets(answer - 1)  # the evidence: one fewer fails
    table = _sizing_table(tried, share, goals, weeks)
    return Sizing(role, tuple(goals), confidence, answer, first, table, dict(sorted(tried.items())))


def _sizing_table(
    tried: Mapping[int, Experiment],
    share: Mapping[int, float],
    goals: Sequence[Target],
    weeks: float,
) -> pd.DataFrame:
    rows = []
    for h in sorted(tried):
        reports = _reports(tried[h])
        row: dict[str, float] = {"headcount": h, "p_all_met": share[h]}
        for g in goals:
            values = np.array([g.value_in(r, weeks) for r in reports], dtype=float)
            ok = values[~np.isnan(values)]
            row[f"{g.metric}_mean"] = float(ok.mean()) if ok.size else math.nan
            row[f"{g.metric}_p10"] = float(np.quantile(ok, 0.1)) if ok.size else math.nan
            row[f"{g.metric}_p90"] = float(np.quantile(ok, 0.9)) if ok.size else math.nan
            # Per target: two targets may bound the same metric from both sides.
            row[f"p_met: {g}"] = float(np.mean([g.met(v) for v in values]))
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- hiring plan


@dataclass(frozen=True)
class HiringPlan:
    """Dated hires for one role, month by month, and the check that they keep up."""

    role: str
    table: pd.DataFrame  # month, volume, required, expected_effective, hires
    hires: tuple[tuple[dt.date, int], ...]
    scenario: Scenario  # the input scenario with the volume plan and the hires in it

    @property
    def verdict(self) -> str:
        t = self.table
        short = t[t["expected_effective"] < t["required"] - SLACK]
        total = sum(n for _, n in self.hires)
        when = ", ".join(f"{n} on {d:%Y-%m-%d}" for d, n in self.hires)
        role = self.role.upper() + ("" if total == 1 else "s")
        text = f"Hire {total} {role}" + (f": {when}." if when else ": the team is big enough.")
        if not short.empty:
            months = ", ".join(str(m) for m in short["month"])
            text += (
                f" Even so the team is short in {months}: a hire cannot ramp in time "
                "(start hiring earlier, or plan for a gap)."
            )
        return text

    def plot(self, ax: Any = None) -> Any:
        """Required against expected effective headcount by month, hires marked."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        t = self.table
        x = np.arange(len(t))
        ax.step(x, t["required"], where="mid", color="tab:red", label="required (sized)")
        ax.plot(x, t["expected_effective"], marker="o", label="expected effective headcount")
        ax.bar(x, t["hires"], alpha=0.3, color="tab:green", label="hires that month")
        ax.set_xticks(x, [str(m) for m in t["month"]], rotation=45, ha="right")
        ax.set_ylabel(f"{self.role.upper()}s (ramp- and leave-weighted)")
        ax.set_title(f"{self.role.upper()} hiring plan")
        ax.legend(fontsize="small")
        return ax


def _months(scenario: Scenario) -> list[dt.date]:
    start = scenario.start_date.replace(day=1)
    end = scenario.start_date + dt.timedelta(hours=scenario.horizon)
    months, m = [], start
    while m < end:
        months.append(m)
        m = (m.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return months


def expected_effective(
    scenario: Scenario, role: str, *, draws: int = 50, seed: int = 0
) -> pd.Series:
    """Mean effective headcount per calendar month (ramp, attrition, back-fill, leave), over
    ``draws`` rosters from the staffing model the engine uses."""
    staff = _staff(scenario, role)
    cal = WorkCalendar(scenario)
    total = np.zeros(cal.n_days)
    for k in range(draws):
        roster = build_roster(staff, scenario, cal, Streams(seed + k), role)
        total += roster.effective
    per_day = total / draws
    months = pd.Series([d.replace(day=1) for d in cal.dates])
    working = pd.Series(cal.working)
    frame = pd.DataFrame({"month": months, "eff": per_day, "working": working})
    frame = frame[frame["working"]]
    return frame.groupby("month")["eff"].mean()


def hiring_plan(
    scenario: Scenario,
    volume: Mapping[str, float],
    role: str = "sdr",
    targets: Sequence[str | Target] = (),
    confidence: float = 0.8,
    reps: int = 6,
    *,
    month_weeks: int = 4,
    seed: int | None = 0,
    workers: int | None = None,
    progress: bool = False,
) -> HiringPlan:
    """Hires by month that keep ``role`` big enough for a lead-volume plan.

    ``volume``: 'YYYY-MM' -> multiplier on every source's rate that month (1 = as in the
    scenario; months not given are 1). Each month's required headcount is sized on a
    ``month_weeks``-week run at that volume (fully ramped reps); hires are then placed, earliest
    month first, so that the expected effective headcount (ramp, attrition with back-fill after
    the hiring delay, leave) comes within half a rep of it (expected headcounts are fractional
    under attrition; a whole hire more would overshoot): a hire joins early enough to be ramped
    by the month it is needed when the plan allows, otherwise at the start.
    """
    _headcount_path(scenario, role)  # checks the role exists in this scenario
    months = _months(scenario)
    factors = {_month_key(m): float(volume.get(_month_key(m), 1.0)) for m in months}
    repeated = [k for k in volume if sum(_month_key(m)[5:] == k[5:] for m in months) > 1]
    if repeated:
        raise ValueError(
            f"volume: {repeated[0]} is a calendar month the period covers twice; the plan is "
            "applied as seasonality by month, so keep the horizon within a year"
        )
    unknown = sorted(set(volume) - set(factors))
    if unknown:
        raise ValueError(
            f"volume: months {unknown} are outside the scenario's period "
            f"({_month_key(months[0])} to {_month_key(months[-1])})"
        )
    # 1. Required (fully ramped) headcount per distinct volume level.
    required: dict[float, int] = {}
    base = scenario_to_dict(scenario)
    for f in sorted(set(factors.values())):
        data = _scaled(base, f, month_weeks)
        staff_path = ROLE_PATHS[role].split(".")
        node = data
        for part in staff_path:
            node = node[part]
        # Fully ramped reps with no leave: expected_effective counts ramp, attrition and leave.
        node.update({"ramp": [], "attrition_per_year": 0.0, "plan": [], "pto_days_per_year": 0.0})
        month_scenario = scenario_from_dict(data, f"{role} sizing at volume x{f:g}")
        sizing = size_team(
            month_scenario,
            role,
            targets,
            confidence,
            reps,
            seed=seed,
            workers=workers,
            progress=progress,
        )
        if sizing.headcount is None:
            raise ValueError(f"at volume x{f:g} no headcount meets the targets: {sizing.verdict}")
        required[f] = sizing.headcount
    need = [required[factors[_month_key(m)]] for m in months]
    # 2. Hires, earliest shortfall first, with the staffing model's own expectation.
    staff = _staff(scenario, role)
    ramp_months = len(staff.ramp)
    plan: dict[dt.date, int] = {}
    planned = scenario
    for _ in range(200):
        eff = expected_effective(planned, role)
        eff_by_month = [float(eff.get(m, 0.0)) for m in months]
        pairs = zip(eff_by_month, need, strict=True)
        short = [i for i, (e, r) in enumerate(pairs) if e < r - SLACK]
        if not short:
            break
        i = short[0]
        hire_month = months[max(0, i - ramp_months)]
        day = max(hire_month, scenario.start_date)
        if plan.get(day, 0) >= 100:
            break
        plan[day] = plan.get(day, 0) + 1
        planned = _with_hires(scenario, role, plan)
    eff = expected_effective(planned, role)
    table = pd.DataFrame(
        {
            "month": [_month_key(m) for m in months],
            "volume": [factors[_month_key(m)] for m in months],
            "required": need,
            "expected_effective": [float(eff.get(m, 0.0)) for m in months],
            "hires": [sum(n for d, n in plan.items() if d.replace(day=1) == m) for m in months],
        }
    )
    return HiringPlan(role, table, tuple(sorted(plan.items())), _with_volume(planned, factors))


def _month_key(month: dt.date) -> str:
    return f"{month:%Y-%m}"


def _scaled(base: Mapping[str, Any], factor: float, weeks: int) -> dict[str, Any]:
    """The scenario at ``factor`` times its lead volume, run for ``weeks`` after a warm-up."""
    import copy

    data = copy.deepcopy(dict(base))
    for source in data["sources"]:
        source["rate_per_week"] = source["rate_per_week"] * factor
        source["bursts"] = []
        source["seasonality"] = {}
    data["horizon"] = f"{weeks} weeks"
    data["warm_up"] = "2 weeks"
    for staff in (data["sdr"], (data.get("outbound") or {}).get("bdr"), data["ae"].get("team")):
        if staff:
            staff["plan"] = []
    return data


def _with_hires(scenario: Scenario, role: str, plan: Mapping[dt.date, int]) -> Scenario:
    staff = _staff(scenario, role)
    extra = [{"date": d.isoformat(), "hire": n} for d, n in sorted(plan.items())]
    existing = [{"date": c.date.isoformat(), "hire": c.hire, "leave": c.leave} for c in staff.plan]
    return with_overrides(scenario, {ROLE_PATHS[role] + ".plan": existing + extra})


def _with_volume(scenario: Scenario, factors: Mapping[str, float]) -> Scenario:
    """The volume plan as seasonality by month on every source (months repeat each year)."""
    by_month = {int(k[5:]): v for k, v in factors.items() if v != 1.0}
    overrides: dict[str, Any] = {}
    for i, src in enumerate(scenario.sources):
        merged = dict(src.seasonality.by_month)
        for month, v in by_month.items():
            merged[month] = merged.get(month, 1.0) * v
        overrides[f"sources.{i}.seasonality.by_month"] = merged
    return with_overrides(scenario, overrides) if overrides else scenario
