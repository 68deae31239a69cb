"""When to hire: a monthly lead-volume plan turned into dated hires.

``hiring_plan`` sizes the team each month needs at that month's volume (fully ramped reps,
:func:`simfunnel.decisions.sizing.size_team`), then places hires, earliest shortfall first, so that the
team's *expected effective headcount* (ramp, attrition with back-fill after the hiring delay,
paid leave: the staffing model the engine runs) keeps up. A month counts as covered when the
expected effective headcount is at least the requirement minus ``SLACK`` (half a rep): expected
headcounts are fractional under attrition and leave, and a whole hire to cover a tenth of a rep
would overshoot. The table and the chart show that tolerance, the shortfall of every month and
today's team without new hires; the verdict names each month below its requirement, within the
tolerance or beyond it. What ramp, attrition and leave cost is measured, not asserted: the
hires are placed again with each removed, on the same simulated rosters.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Unpack

import numpy as np
import pandas as pd

from ..experiments import RunnerKeywords, RunOptions, decision_pool, runner_keywords
from ..model import Streams, WorkCalendar, build_roster
from ..results.answer import AnswerBase, Report
from ..scenario import CallingStaff, Scenario, scenario_from_dict, scenario_to_dict, with_overrides
from . import charts, reports
from .forecast_start import default_warm_up
from .levers import ROLE_PATHS, headcount_path, role_name, staff_of
from .measures import Target, check_confidence
from .sizing import size_team

__all__ = ["SLACK", "HiringPlan", "NoHeadcount", "expected_effective", "hiring_plan"]

SLACK = 0.5  # a month is covered when the expected effective headcount is within half a rep
MAX_HIRES = 200  # hires placed at most, and at most 100 on one day
DRAWS = 50  # rosters averaged into the expected effective headcount


class NoHeadcount(ValueError):
    """No headcount meets the targets at a month's volume: no plan, and not a bad input (the
    command line exits 1, as `size` does when it finds none, not 2)."""


# What the staffing model counts, and how to take it out of a team (scenario field: value).
_MECHANISMS: dict[str, tuple[str, Any]] = {
    "ramp": ("ramp", []),
    "attrition": ("attrition_per_year", 0.0),
    "leave": ("pto_days_per_year", 0.0),
}


@dataclass(frozen=True, repr=False)
class HiringPlan(AnswerBase):
    """Dated hires for one role, month by month, and the check that they keep up.

    ``table``: one row per month: ``month``, ``volume``, ``required`` (fully ramped reps that
    month's volume needs), ``expected_effective`` (with the hires), ``shortfall`` (required
    minus expected effective, at least 0), ``status`` (``covered``: at or above the requirement;
    ``within tolerance``: below it by at most ``SLACK``; ``short``: below it by more),
    ``hires`` (dated in that month), ``today_team`` (expected effective headcount of today's
    team without the new hires) and ``to_be_sure`` (the headcount sure to meet the targets:
    ``required``, one more where the requirement is on the edge of them, empty where one more
    is on the edge too). ``explanation``: per mechanism the scenario has (ramp,
    attrition, leave), the hires and first hire date the same placement gives without it.
    """

    role: str
    table: pd.DataFrame
    hires: tuple[tuple[dt.date, int], ...]
    scenario: Scenario  # the input scenario with the volume plan and the hires in it
    current: int = 0  # today's headcount (the scenario's starting team)
    slack: float = SLACK
    explanation: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    idle_months: tuple[str, ...] = ()  # months of the period without a working day: not staffed
    sized_on: str = ""  # how each month's requirement was sized, in words

    def months(self, status: str) -> list[str]:
        """The months of one ``status``: 'covered', 'within tolerance' or 'short'."""
        return [str(m) for m in self.table.loc[self.table["status"] == status, "month"]]

    def peak(self) -> tuple[int, str, str]:
        """The peak requirement, its months in words (a long run as its span), and today's
        team there without hires ('5.7 effective at the lowest, in 2026-08')."""
        t = self.table
        peak = int(t["required"].max())
        peaks = t.loc[t["required"] == peak]
        months = [str(m) for m in peaks["month"]]
        at_peak = ", ".join(months)
        if len(months) > 3 and len(peaks) == peaks.index[-1] - peaks.index[0] + 1:
            at_peak = f"every month from {months[0]} to {months[-1]}"  # a run: its span
        lowest = peaks.iloc[int(np.argmin(peaks["today_team"].to_numpy()))]
        month = lowest["month"]
        where = f"in {month}" if len(peaks) == 1 else f"at the lowest, in {month}"
        return peak, at_peak, f"{lowest['today_team']:.1f} effective {where}"

    @property
    def verdict(self) -> str:
        t = self.table
        total = sum(n for _, n in self.hires)
        peak, at_peak, today = self.peak()
        text = (
            f"You have {self.current} {role_name(self.role, self.current)}, you need up to "
            f"{peak} effective (fully ramped, in {at_peak}); without new hires, today's team is "
            f"expected at {today}. "
        )
        when = ", ".join(f"{n} on {d:%Y-%m-%d}" for d, n in self.hires)
        text += f"Hire {total} {role_name(self.role, total)}" + (
            f": {when}." if when else ": today's team keeps up."
        )
        text += (
            f" The rule: a month is covered when the expected effective headcount (ramp, "
            f"attrition, leave) is at least the requirement minus {self.slack:g} rep."
        ) + (f" {self.sized_on}" if self.sized_on else "")
        rows = t.set_index("month")

        def listed(months: list[str]) -> str:
            return ", ".join(
                f"{m} ({rows['expected_effective'].loc[m]:.2f} of {rows['required'].loc[m]})"
                for m in months
            )

        within, short = self.months("within tolerance"), self.months("short")
        if within:
            text += f" Below the requirement but within that tolerance: {listed(within)}."
        if short:
            text += (
                f" Short by more than the tolerance even so: {listed(short)}: a hire cannot "
                "ramp in time (start hiring earlier, or plan for a gap)."
            )
        if not within and not short:
            text += " Every month meets its requirement in full."
        if self.idle_months:
            idle = ", ".join(self.idle_months)
            verb = "has" if len(self.idle_months) == 1 else "have"
            text += f" {idle} {verb} no working day in the period: nothing to staff there."
        return text + self._surplus() + self._edge() + self._explained()

    def _surplus(self) -> str:
        """The months after the peak where the hires leave the team a rep or more above what
        the month needs: hires are permanent, so a one-month spike staffs the months after."""
        if not self.hires:
            return ""
        t = self.table
        peak = int(t["required"].max())
        after = t.index > t.index[t["required"] == peak].max()
        over = t[after & (t["expected_effective"] - t["required"] >= 1)]
        if over.empty:
            return ""
        months, eff, need = over["month"], over["expected_effective"], over["required"]
        if len(over) <= 3:
            said = ", ".join(
                f"{m} ({e:.1f} effective for {r} needed)"
                for m, e, r in zip(months, eff, need, strict=True)
            )
        else:  # a long tail: its span and range, not one entry a month
            needed = (
                f"{need.min()}" if need.min() == need.max() else f"{need.min()} to {need.max()}"
            )
            said = (
                f"{len(over)} months from {months.iloc[0]} to {months.iloc[-1]} ({eff.min():.1f} "
                f"to {eff.max():.1f} effective for {needed} needed)"
            )
        return (
            f" After the peak the team stays above what the month needs: {said}. Hires are "
            "permanent here; only attrition (or planned exits) brings it down."
        )

    def _edge(self) -> str:
        """Months whose requirement sits on the edge of the targets, and what is sure there."""
        t = self.table
        if "to_be_sure" not in t:
            return ""
        edge = t[t["to_be_sure"].isna() | (t["to_be_sure"] != t["required"])]
        if edge.empty:
            return ""
        said = [
            f"{month} ({need}; "
            + (f"{int(sure)} sure" if sure > 0 else "one more is on the edge too")
            + ")"
            for month, need, sure in zip(
                edge["month"], edge["required"], edge["to_be_sure"].fillna(0), strict=True
            )
        ]
        return (
            " On the edge of the targets, too close to tell in the runs made: "
            + ", ".join(said)
            + ". The hires above cover the smaller number; plan on the larger where a short "
            "month costs more than a spare rep."
        )

    def _explained(self) -> str:
        e = self.explanation
        if e.empty:
            return ""
        total = sum(n for _, n in self.hires)
        first = self.hires[0][0] if self.hires else None
        parts = []
        for _, r in e.iterrows():
            n = int(r["hires"])
            if n != total:
                parts.append(
                    f"without {r['mechanism']} you would hire {n} ({r['mechanism']} costs "
                    f"{total - n} {'hire' if total - n == 1 else 'hires'})"
                )
            elif n and r["first_hire"] != first:
                parts.append(
                    f"without {r['mechanism']} the same {n}, first on {r['first_hire']:%Y-%m-%d}"
                )
            else:
                parts.append(f"without {r['mechanism']} the same")
        return " Measured by placing the hires again on the same rosters: " + "; ".join(parts) + "."

    def plot(self, what: str | None = None, *, ax: Any = None) -> Any:
        """The one chart, ``what`` ``None`` or ``"hiring_plan"``: required (with its tolerance
        band) against expected effective headcount by month, today's team without hires,
        today's headcount, hires as bars, months below the requirement marked."""
        if what not in (None, "hiring_plan"):
            raise ValueError(f"a hiring plan has one chart, 'hiring_plan' (got {what!r})")
        return charts.hiring_chart(self, ax=ax)

    def tables(self) -> Mapping[str, pd.DataFrame]:
        return {"hiring_plan": self.table}

    def charts(self) -> Mapping[str, str | None]:
        return {"hiring_plan": None}

    def text(self) -> str:
        """The verdict, the plan month by month, and the explanation if measured."""
        na = "n/a"
        parts = [
            self.verdict,
            self.table.to_string(index=False, float_format=lambda v: f"{v:,.2f}", na_rep=na),
        ]
        if not self.explanation.empty:
            parts.append(self.explanation.to_string(index=False, na_rep=na))
        return "\n\n".join(parts)

    def report(self) -> Report:
        return reports.hiring_report(self)


def _months(scenario: Scenario) -> list[dt.date]:
    start = scenario.start_date.replace(day=1)
    end = scenario.start_date + dt.timedelta(hours=scenario.horizon)
    months, m = [], start
    while m < end:
        months.append(m)
        m = (m.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return months


def _idle_months(scenario: Scenario, months: Sequence[dt.date]) -> list[dt.date]:
    """The months of the period without a working day in it (a horizon that ends on the 1st,
    a month of holidays): nobody works there, so there is nothing to staff."""
    cal = WorkCalendar(scenario)
    worked = {d.replace(day=1) for d, w in zip(cal.dates, cal.working, strict=True) if w}
    return [m for m in months if m not in worked]


def expected_effective(
    scenario: Scenario, role: str, *, draws: int = DRAWS, seed: int = 0
) -> pd.Series:
    """Mean effective headcount per calendar month (ramp, attrition, back-fill, leave), over
    ``draws`` rosters from the staffing model the engine uses."""
    staff = staff_of(scenario, role)
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


def _status(expected: float, required: float, slack: float) -> str:
    if expected >= required:
        return "covered"
    return "within tolerance" if expected >= required - slack else "short"


def _place(
    scenario: Scenario, role: str, months: Sequence[dt.date], need: Sequence[int]
) -> tuple[dict[dt.date, int], Scenario]:
    """Hires, earliest shortfall first, until every month is within ``SLACK`` of its need."""
    ramp_months = len(staff_of(scenario, role).ramp)
    plan: dict[dt.date, int] = {}
    planned = scenario
    for _ in range(MAX_HIRES):
        eff = expected_effective(planned, role)
        pairs = zip([float(eff.get(m, 0.0)) for m in months], need, strict=True)
        short = [i for i, (e, r) in enumerate(pairs) if e < r - SLACK]
        if not short:
            break
        hire_month = months[max(0, short[0] - ramp_months)]
        day = max(hire_month, scenario.start_date)
        if plan.get(day, 0) >= 100:
            break
        plan[day] = plan.get(day, 0) + 1
        planned = _with_hires(scenario, role, plan)
    return plan, planned


def mechanisms(scenario: Scenario, role: str) -> dict[str, dict[str, Any]]:
    """The staffing mechanisms the role has in this scenario, each as the overrides that take
    it out: ramp (a non-empty ramp; new hires always ramp), attrition (a rate above 0), and
    leave (paid days off above 0; AEs have none in the model)."""
    staff = staff_of(scenario, role)
    path = ROLE_PATHS[role]
    present = {
        "ramp": bool(staff.ramp),
        "attrition": staff.attrition_per_year > 0,
        "leave": isinstance(staff, CallingStaff) and staff.pto_days_per_year > 0,
    }
    return {
        name: {f"{path}.{fld}": value}
        for name, (fld, value) in _MECHANISMS.items()
        if present[name]
    }


def hiring_plan(
    scenario: Scenario,
    volume: Mapping[str, float],
    role: str = "sdr",
    targets: Sequence[str | Target] = (),
    confidence: float = 0.8,
    reps: int | None = None,
    *,
    max_reps: int | None = None,
    month_weeks: int = 4,
    explain: bool = True,
    **keywords: Unpack[RunnerKeywords],
) -> HiringPlan:
    """Hires by month that keep ``role`` big enough for a lead-volume plan.

    ``volume``: 'YYYY-MM' -> multiplier on every source's rate that month (1 = as in the
    scenario; months not given are 1). Each month's required headcount is sized on a
    ``month_weeks``-week run at that volume (fully ramped reps); hires are then placed, earliest
    month first, so that the expected effective headcount (ramp, attrition with back-fill after
    the hiring delay, leave) comes within ``SLACK`` (half a rep) of it: a hire joins early
    enough to be ramped by the month it is needed when the plan allows, otherwise at the start.
    ``explain``: also place the hires with ramp, attrition and leave removed one at a time (the
    staffing model only: cheap), to measure what each costs. ``reps`` and ``max_reps`` are
    those of :func:`~simfunnel.decisions.sizing.size_team` for each month's sizing (by default
    each headcount runs until its pass rate is settled). ``seed``, ``workers``, ``executor``
    and ``progress`` (default off) are those of :func:`simfunnel.run`.
    """
    check_confidence(confidence)  # before any run: a pass rate is never shown to be 100%
    headcount_path(scenario, role)  # checks the role exists in this scenario
    months = _months(scenario)
    idle = _idle_months(scenario, months)
    given_idle = [_month_key(m) for m in idle if _month_key(m) in volume]
    if given_idle:
        raise ValueError(
            f"volume: {', '.join(given_idle)} has no working day in the scenario's period "
            "(weekends, holidays or the horizon's end): nothing to staff there"
        )
    months = [m for m in months if m not in idle]
    factors = _volume_factors(volume, months)
    # 1. Required (fully ramped) headcount per distinct volume level, each on a full funnel.
    base, sized_on = _month_base(scenario, month_weeks)
    runner = runner_keywords({"progress": False}, keywords)
    with decision_pool(RunOptions().updated(**runner)) as shared:  # one pool for every month
        pooled: RunnerKeywords = {**runner, "workers": shared.workers, "executor": shared.executor}
        required = {
            f: _required_at(
                base, role, f, month_weeks, targets, confidence, (reps, max_reps), pooled
            )
            for f in sorted(set(factors.values()))
        }
    need = [required[factors[_month_key(m)]][0] for m in months]
    # 2. Hires, earliest shortfall first, with the staffing model's own expectation.
    plan, planned = _place(scenario, role, months, need)
    table = _plan_table(scenario, planned, role, months, factors, need, plan)
    sure = [required[factors[_month_key(m)]][1] for m in months]
    table["to_be_sure"] = pd.array(sure, dtype="Int64")  # differs where on the edge
    # 3. What each staffing mechanism costs: the same placement without it.
    rows = []
    for name, overrides in (mechanisms(scenario, role) if explain else {}).items():
        without = with_overrides(scenario, overrides, source=f"{scenario.name} without {name}")
        alt, _ = _place(without, role, months, need)
        rows.append(
            {
                "mechanism": name,
                "hires": sum(alt.values()),
                "first_hire": min(alt) if alt else None,
                "hires_with": sum(plan.values()),
                "first_hire_with": min(plan) if plan else None,
            }
        )
    return HiringPlan(
        role,
        table,
        tuple(sorted(plan.items())),
        _with_volume(planned, factors),
        current=staff_of(scenario, role).headcount,
        explanation=pd.DataFrame(rows),
        idle_months=tuple(_month_key(m) for m in idle),
        sized_on=sized_on,
    )


def _month_base(scenario: Scenario, month_weeks: int) -> tuple[dict[str, Any], str]:
    """The scenario each month is sized from, after the forecast's warm-up (a 2-week one left
    AE books and SDR follow-ups nearly empty), and that, in words."""
    warm, basis = default_warm_up(scenario)
    said = (
        f"Each month's requirement is sized on a {month_weeks}-week run after a {warm}-week "
        f"warm-up ({basis})."
    )
    return scenario_to_dict(scenario) | {"warm_up": f"{warm} weeks"}, said


def _volume_factors(volume: Mapping[str, float], months: Sequence[dt.date]) -> dict[str, float]:
    """The volume multiplier of every month of the period ('YYYY-MM' -> factor, 1 if not
    given); refuses months outside the period, and a period that holds a calendar month twice."""
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
    return factors


def _required_at(
    base: Mapping[str, Any],
    role: str,
    factor: float,
    month_weeks: int,
    targets: Sequence[str | Target],
    confidence: float,
    reps: tuple[int | None, int | None],  # a fixed count, or the most while settling
    runner: RunnerKeywords,
) -> tuple[int, int | None]:
    """The fully ramped headcount a month at ``factor`` times the volume needs, sized on a
    ``month_weeks``-week run of the scenario (``base``, as a mapping) with no ramp, attrition,
    plan or leave; and the headcount sure to meet the targets (the same, one more when the
    requirement is on the edge, None when one more is on the edge too)."""
    data = _scaled(base, factor, month_weeks)
    node = data
    for part in ROLE_PATHS[role].split("."):
        node = node[part]
    # Fully ramped, fully skilled reps with no leave: expected_effective counts ramp,
    # attrition and leave, so they are not counted twice.
    full = {
        "ramp": [],
        "attrition_per_year": 0.0,
        "plan": [],
        "pto_days_per_year": 0.0,
        "skill_ramp": [],
        "starting_tenure_months": None,
    }
    node.update({k: v for k, v in full.items() if k in node})
    month_scenario = scenario_from_dict(data, f"{role} sizing at volume x{factor:g}")
    sizing = size_team(
        month_scenario,
        role,
        targets,
        confidence,
        reps[0],
        max_reps=reps[1],
        explain=False,
        **runner,
    )
    if sizing.headcount is None:
        raise NoHeadcount(f"at volume x{factor:g} no headcount meets the targets: {sizing.verdict}")
    rows = sizing.table.set_index("headcount")
    edge = "edge" in rows and bool(rows["edge"].loc[sizing.headcount])
    return sizing.headcount, (sizing.sure if edge else sizing.headcount)


def _plan_table(
    scenario: Scenario,
    planned: Scenario,
    role: str,
    months: Sequence[dt.date],
    factors: Mapping[str, float],
    need: Sequence[int],
    plan: Mapping[dt.date, int],
) -> pd.DataFrame:
    """One row per month: volume, requirement, expected effective headcount with the hires
    (``planned``) and of today's team without them, shortfall, status and hires."""
    eff = expected_effective(planned, role)
    today = expected_effective(scenario, role)
    expected = [float(eff.get(m, 0.0)) for m in months]
    return pd.DataFrame(
        {
            "month": [_month_key(m) for m in months],
            "volume": [factors[_month_key(m)] for m in months],
            "required": need,
            "expected_effective": expected,
            "shortfall": [max(0.0, r - e) for r, e in zip(need, expected, strict=True)],
            "status": [_status(e, r, SLACK) for r, e in zip(need, expected, strict=True)],
            "hires": [sum(n for d, n in plan.items() if d.replace(day=1) == m) for m in months],
            "today_team": [float(today.get(m, 0.0)) for m in months],
        }
    )


def _month_key(month: dt.date) -> str:
    return f"{month:%Y-%m}"


def _scaled(base: Mapping[str, Any], factor: float, weeks: int) -> dict[str, Any]:
    """The scenario at ``factor`` times its lead volume, run for ``weeks`` after its warm-up."""
    data = copy.deepcopy(dict(base))
    for source in data["sources"]:
        source["rate_per_week"] = source["rate_per_week"] * factor
        source["bursts"] = []
        source["seasonality"] = {}
    data["horizon"] = f"{weeks} weeks"
    for staff in (data["sdr"], (data.get("outbound") or {}).get("bdr"), data["ae"].get("team")):
        if staff:
            staff["plan"] = []
    return data


def _with_hires(scenario: Scenario, role: str, plan: Mapping[dt.date, int]) -> Scenario:
    staff = staff_of(scenario, role)
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
