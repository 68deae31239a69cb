"""Bottleneck diagnosis of one run: where the funnel leaks, and which team's capacity binds.

Two questions leaders ask of a run (DOMAIN.md, question 4):

1. *Where does the funnel leak?* Each stage's conversion against a benchmark range (defaults:
   the published waterfall ranges and connect rates in DOMAIN.md; ``ranges=`` overrides). The
   stages are serial, so lifting one stage to the low end of its range multiplies the output by
   low / rate whatever the others do: the stage with the largest such factor is the bottleneck.
   Per-team connect and contact rates, and the share of MQLs ever attempted, are detail rows
   that say *why* the contact stage leaks (list quality, opening talk, or no time to call).
2. *Which capacity binds, and when?* Week by week from ``result.weekly``: SDRs or BDRs at or
   above 90% utilisation, the untouched MQL backlog growing past a week's intake, AEs at or above
   90% occupancy or tossed-up leads waiting for an AE.
3. *What does one more unit of each lever buy?* Utilisation alone misleads (a team at 75% can
   still be what limits the output: leads wait in office-hour peaks, retries crowd out new
   MQLs), so the binding constraint is measured: one more rep of each calling role (SDR, BDR),
   one more AE (with a finite AE team) and each other queue rule run on common random numbers
   against the scenario as it is; the lever whose gain in valid opportunities is largest, and
   significant (its 95% interval above 0), is the binding constraint.

**Phase.** A newly launched team is judged on activity, a mature one on results (seed 004,
Shigeno: at launch, count the "moves": dials and connects, not opportunities). A launch-phase
verdict leads with dials, connects and contacts per rep-day and the dials goal, and names the
activity lever (list quality, opening talk, call volume) that falls shortest
(:func:`launch_phase` gives the criterion).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Unpack

import numpy as np
import pandas as pd

from ..base.formatting import share
from ..experiments import Experiment, RunnerKeywords, run_variants, runner_keywords
from ..model import WorkCalendar
from ..results import SimulationResult, plots
from ..results.answer import AnswerBase, Report
from ..scenario import Scenario
from . import charts, reports
from .levers import ROLE_NAME as _ROLE_NAME
from .levers import lever_sentence as _lever_sentence
from .levers import lever_table, lever_variants
from .stages import Range, stage_table

BUSY = 0.9  # utilisation or occupancy at which a team counts as full
LEVER_REPS = 5  # replications per lever: a few, on common random numbers
LAUNCH_MONTHS = 3  # a new SDR ramps about 3 months (DOMAIN.md): the shortest launch curve
PHASES = ("auto", "launch", "mature")


# --------------------------------------------------------------------------- capacity


def capacity_weeks(result: SimulationResult, busy: float = BUSY) -> pd.DataFrame:
    """Week by week, which team is at capacity (columns are ``result.weekly``'s):

    - ``sdr_full``: SDR ``utilisation`` >= busy; ``sdr_backlog_grows``: the untouched backlog
      at the week's end (``backlog_end``) rose and exceeds the week's MQLs (more than a week of
      intake waiting for a first call, which weekend arrivals alone never make);
    - ``bdr_full``: ``bdr_utilisation`` >= busy (BDRs research when nothing is due, so this
      means the target list outruns the team), only with an outbound section;
    - ``ae_full``: ``ae_occupancy`` >= busy; ``ae_queue``: ``ae_queue_mean`` > 0 (tossed-up
      leads waited for an AE with room), only with an AE team;
    - ``sdr_binds``, ``bdr_binds``, ``ae_binds``: any of the role's signs.
    """
    w = result.weekly
    out = pd.DataFrame({"week": w["week"], "week_start": w["week_start"]})
    out["sdr_utilisation"] = w["utilisation"]
    out["sdr_full"] = w["utilisation"].fillna(0.0) >= busy
    end = w["backlog_end"].to_numpy(dtype=float)
    rose = np.diff(end, prepend=0.0) > 0
    out["backlog_end"] = w["backlog_end"]
    out["sdr_backlog_grows"] = rose & (end > w["mqls"].to_numpy(dtype=float))
    out["sdr_binds"] = out["sdr_full"] | out["sdr_backlog_grows"]
    if "bdr_utilisation" in w:
        out["bdr_utilisation"] = w["bdr_utilisation"]
        out["bdr_full"] = w["bdr_utilisation"].fillna(0.0) >= busy
        out["bdr_binds"] = out["bdr_full"]
    out["ae_occupancy"] = w["ae_occupancy"]
    out["ae_queue_mean"] = w["ae_queue_mean"]
    out["ae_full"] = w["ae_occupancy"].fillna(0.0) >= busy
    out["ae_queue"] = w["ae_queue_mean"].fillna(0.0) > 0
    out["ae_binds"] = out["ae_full"] | out["ae_queue"]
    return out


_SIGNS = {
    "sdr": (
        ("sdr_full", "utilisation at or above {busy:.0%}"),
        ("sdr_backlog_grows", "the untouched MQL backlog grows"),
    ),
    "bdr": (("bdr_full", "utilisation at or above {busy:.0%}"),),
    "ae": (
        ("ae_full", "occupancy at or above {busy:.0%}"),
        ("ae_queue", "tossed-up leads wait for an AE"),
    ),
}
_LEVEL = {"sdr": "sdr_utilisation", "bdr": "bdr_utilisation", "ae": "ae_occupancy"}


def capacity_table(weeks: pd.DataFrame, busy: float = BUSY) -> pd.DataFrame:
    """One row per role: whether it binds, in how many weeks, from when, and why."""
    records = []
    for role, signs in _SIGNS.items():
        if f"{role}_binds" not in weeks:
            continue
        binds = weeks[f"{role}_binds"].to_numpy(dtype=bool)
        level = weeks[_LEVEL[role]]
        first = int(np.argmax(binds)) if binds.any() else None
        reasons = [
            text.format(busy=busy) for col, text in signs if weeks[col].to_numpy(dtype=bool).any()
        ]
        records.append(
            {
                "role": role,
                "binds": bool(binds.any()),
                "weeks_binding": int(binds.sum()),
                "share_of_weeks": float(binds.mean()) if binds.size else math.nan,
                "first_week": first,
                "first_week_start": weeks["week_start"].iloc[first] if first is not None else None,
                "binding_weeks": [int(x) for x in weeks["week"].to_numpy()[binds]],
                "mean_level": float(level.mean()) if level.notna().any() else math.nan,
                "peak_level": float(level.max()) if level.notna().any() else math.nan,
                "why": " and ".join(reasons),
            }
        )
    table = pd.DataFrame.from_records(records)
    if not table.empty:
        table["first_week"] = table["first_week"].astype("Int64")
    return table


# --------------------------------------------------------------------------- activity


def launch_phase(scenario: Any) -> tuple[bool, str]:
    """Whether the SDR team is in its launch phase at the start, and why: more than half of
    the SDRs are new. The starting team counts as new when ``sdr.starting_tenure_months`` is set
    and below the length of its ramp or learning curve (``ramp``, ``skill_ramp``; at least 3
    months, the usual SDR ramp); hires dated on the start date are new."""
    sdr = scenario.sdr
    tenure = getattr(sdr, "starting_tenure_months", None)
    curve = max(len(sdr.ramp), len(getattr(sdr, "skill_ramp", ())), LAUNCH_MONTHS)
    hired = sum(c.hire for c in sdr.plan if c.date == scenario.start_date)
    starting_new = tenure is not None and tenure < curve
    new = (sdr.headcount if starting_new else 0) + hired
    team = sdr.headcount + hired
    why = (
        f"{new} of {team} SDRs start inside their {curve}-month ramp or learning curve"
        if tenure is not None or hired
        else "the starting SDRs are fully ramped (the scenario gives no starting tenure)"
    )
    return bool(team and new > team / 2), why


def activity_table(result: SimulationResult) -> pd.DataFrame:
    """Activity of each calling team: dials, connects and contacts per rep-day (a working day
    on the payroll: mean headcount x working days), the rates, and the daily dials goal with
    how far the team reached it (``goal_met_share``: rep-days at or above it, when the run
    measures it; ``goal_attainment``: dials per rep-day / goal)."""
    s = result.scenario
    days = int(WorkCalendar(s).working.sum())
    teams, staffing = result.teams, result.staffing
    goals = {"sdr": getattr(getattr(s.sdr, "goals", None), "dials_per_day", 0)}
    if s.outbound is not None:
        goals["bdr"] = s.outbound.goals.dials_per_day
    rows = []
    for role, goal in goals.items():
        rep_days = float(staffing.get(f"{role}_mean_headcount", math.nan)) * days
        per = {k: share(teams[f"{role}_{k}"], rep_days) for k in ("dials", "connects", "contacts")}
        met = teams.get(f"{role}_dials_goal_met", math.nan) if goal else math.nan
        rows.append(
            {
                "role": role,
                "rep_days": rep_days,
                **{f"{k}_per_rep_day": v for k, v in per.items()},
                "connect_rate": teams[f"{role}_connect_rate"],
                "contact_rate": teams[f"{role}_contact_rate"],
                "dials_goal": goal or math.nan,
                "goal_met_share": met,
                "goal_attainment": per["dials"] / goal if goal else math.nan,
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the diagnosis


# The verdict's three sentences, under the headings a report leads with.
POINT_HEADINGS = ("Where it leaks", "What binds", "What one more unit buys")


@dataclass(frozen=True, repr=False)
class Diagnosis(AnswerBase):
    """Where one run's funnel leaks, what binds, and a plain-language verdict.

    ``table`` (:func:`stage_table`), ``capacity`` (:func:`capacity_table`), ``weeks``
    (:func:`capacity_weeks`), ``activity`` (:func:`activity_table`), ``levers``
    (:func:`lever_table`, empty with ``levers=0``), ``phase`` and ``phase_why``; ``bottleneck``:
    the flagged row's key (an activity row for a launch team) or None; ``binding``: the role at
    capacity in most weeks by utilisation, or None; ``constraint``: the lever that buys most
    (a role or ``queue_rule:<rule>``), or None; ``result``: the run diagnosed; ``busy``: the
    utilisation at which a team counted as full. Rules: docs/decisions.md.
    """

    table: pd.DataFrame = field(repr=False)
    capacity: pd.DataFrame = field(repr=False)
    weeks: pd.DataFrame = field(repr=False)
    bottleneck: str | None
    binding: str | None
    verdict: str
    activity: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    levers: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    phase: str = "mature"
    phase_why: str = ""
    constraint: str | None = None
    experiment: Experiment | None = field(default=None, repr=False)
    result: SimulationResult | None = field(default=None, repr=False)
    busy: float = BUSY
    points: tuple[tuple[str, str], ...] = ()  # the verdict's sentences under their headings

    @property
    def scenario(self) -> Scenario:
        """The scenario of the run diagnosed."""
        if self.result is None:
            raise ValueError("this diagnosis keeps no run (made without result=)")
        return self.result.scenario

    def plot(self, what: str | None = None, *, ax: Any = None) -> Any:
        """One chart. ``what``: ``"stages"`` (``None``) for each stage's conversion against its
        benchmark range, the bottleneck outlined; ``"capacity"`` for each team's weekly
        utilisation against the line at which it counts as full, and the untouched backlog."""
        if what in (None, "stages"):
            return charts.diagnosis_stages(self, ax=ax)
        if what == "capacity":
            if self.result is None:
                raise ValueError("the capacity chart needs the run (made without result=)")
            return plots.capacity(self.result, ax=ax, busy=self.busy)
        raise ValueError(f"a diagnosis draws 'stages' or 'capacity' (got {what!r})")

    def tables(self) -> Mapping[str, pd.DataFrame]:
        """The stage table, capacity by role and by week, activity, and the levers if run."""
        out = {
            "stages": self.table,
            "capacity": self.capacity,
            "capacity_weeks": self.weeks,
            "activity": self.activity,
        }
        return out | ({"levers": self.levers} if not self.levers.empty else {})

    def charts(self) -> Mapping[str, str | None]:
        return {"stages": "stages"} | ({"capacity": "capacity"} if self.result is not None else {})

    def text(self) -> str:
        """The verdict, then the stage, activity, capacity and lever tables ("n/a" where a
        figure is undefined)."""
        na = "n/a"
        parts = [self.verdict, reports.stage_kpis(self).to_string(index=False)]
        if not self.activity.empty:
            a = self.activity.copy()
            for col in a.columns:
                if col.endswith(("_rate", "_share", "attainment")):
                    a[col] = [na if pd.isna(v) else f"{v:.0%}" for v in a[col]]
            if "rep_days" in a:
                a["rep_days"] = [na if pd.isna(v) else f"{v:,.0f}" for v in a["rep_days"]]
            a = a.rename(columns=lambda c: c.replace("_", " "))
            parts.append(a.to_string(index=False, float_format="{:,.1f}".format, na_rep=na))
        cap = ["role", "binds", "weeks_binding", "mean_level", "peak_level"]
        if not self.capacity.empty:
            c = self.capacity[cap].copy()
            for col in ("mean_level", "peak_level"):
                c[col] = [na if pd.isna(v) else f"{v:.0%}" for v in c[col]]
            parts.append(c.rename(columns=lambda x: x.replace("_", " ")).to_string(index=False))
        if not self.levers.empty:
            parts.append(reports.lever_kpis(self).to_string(index=False))
        return "\n\n".join(parts)

    def __str__(self) -> str:
        return self.text()

    def report(self) -> Report:
        return reports.diagnosis_report(self)


def _pct(x: float) -> str:
    return f"{x:.0%}"


def _range_text(row: pd.Series) -> str:
    return f"{_pct(row['low'])}-{_pct(row['high'])}"


def _detail(d: pd.Series) -> str:
    judged = "" if d["status"] == "no range" else f", {d['status']} {_range_text(d)}"
    return f"{d['stage']} {_pct(d['rate'])}{judged} ({d['advice'] or d['lever']})"


def _leak_sentence(table: pd.DataFrame) -> str:
    flagged = table[table["bottleneck"]]
    if flagged.empty:
        judged = table[table["status"] != "no range"]
        names = ", ".join(judged["stage"])
        return f"Every stage with a benchmark ({names}) is within or above its range."
    row = flagged.iloc[0]
    if row["kind"] == "detail":
        return f"The funnel leaks most at {_detail(row)}."
    text = (
        f"The funnel leaks most at {row['stage']} ({row['lever']}): {_pct(row['rate'])} against "
        f"{_range_text(row)}, so reaching the low end would multiply what follows by "
        f"{row['uplift']:.1f}x"
    )
    details = table[(table["parent"] == row["key"]) & table["rate"].notna()]
    if not details.empty:
        text += "; " + ", ".join(_detail(d) for _, d in details.iterrows())
    # Other rows below their range with a known remedy (the seeds' list and opening talk).
    others = table[(table["advice"] != "") & ~table["bottleneck"] & (table["parent"] != row["key"])]
    if not others.empty:
        text += ". Also: " + ", ".join(_detail(d) for _, d in others.iterrows())
    return text + "."


def _launch_bottleneck(table: pd.DataFrame, activity: pd.DataFrame) -> tuple[str | None, float]:
    """The activity row that falls shortest: a connect or contact rate below its range, or a
    dials goal not reached on average; by uplift (low / rate, or goal / dials per rep-day)."""
    rows = table[table["key"].str.endswith(("_connect_rate", "_contact_rate"))]
    options = {r["key"]: r["uplift"] for _, r in rows[rows["status"] == "below"].iterrows()}
    for _, a in activity.iterrows():
        if a["goal_attainment"] < 1:
            options[f"{a['role']}_dials_goal"] = 1 / a["goal_attainment"]
    if not options:
        return None, math.nan
    key = max(options, key=options.__getitem__)
    return key, options[key]


def _activity_sentence(
    table: pd.DataFrame, activity: pd.DataFrame, why: str, key: str | None
) -> str:
    text = f"Launch phase ({why}): judged on activity, not yet on results."
    for _, a in activity.iterrows():
        name = _ROLE_NAME[a["role"]] + "s"
        text += (
            f" {name} make {a['dials_per_rep_day']:.1f} dials, {a['connects_per_rep_day']:.1f} "
            f"connects and {a['contacts_per_rep_day']:.1f} contacts per rep-day"
        )
        if not math.isnan(a["dials_goal"]):
            text += f" against a goal of {a['dials_goal']:.0f} dials ({a['goal_attainment']:.0%}"
            if not math.isnan(a["goal_met_share"]):
                text += f"; reached on {a['goal_met_share']:.0%} of rep-days"
            text += ")"
        text += "."
    rates = table[table["key"].str.endswith(("_connect_rate", "_contact_rate"))]
    judged = [
        _detail(r)
        for _, r in rates.iterrows()
        if r["status"] != "no range" and r["rate"] == r["rate"]
    ]
    if judged:
        text += " " + "; ".join(judged) + "."
    if key is None:
        text += " Activity is on track: no rate below its range and no dials goal missed."
    elif key.endswith("_dials_goal"):
        text += f" First lever: more dials ({_ROLE_NAME[key[:3]]}s are below their goal)."
    else:
        text += f" First lever: {table.set_index('key')['advice'].loc[key]}."
    return text


def _capacity_sentence(capacity: pd.DataFrame, n_weeks: int) -> str:
    binding = capacity[capacity["binds"]] if not capacity.empty else capacity
    if binding.empty:
        peaks = ", ".join(
            f"{_ROLE_NAME[r['role']]} {_pct(r['peak_level'])}"
            for _, r in capacity.iterrows()
            if not math.isnan(r["peak_level"])
        )
        return f"By utilisation no team is at capacity (peak weekly utilisation or occupancy: {peaks})."
    ordered = binding.sort_values(["weeks_binding", "first_week"], ascending=[False, True])
    parts = []
    for i, (_, r) in enumerate(ordered.iterrows()):
        also = " also" if i else ""
        parts.append(
            f"{_ROLE_NAME[r['role']]} capacity{also} binds from week {int(r['first_week'])} "
            f"({r['first_week_start']}), in {r['weeks_binding']} of {n_weeks} weeks: {r['why']}"
        )
    return "By utilisation, " + "; ".join(parts) + "."


def diagnose(
    result: SimulationResult,
    ranges: Mapping[str, Range | None] | None = None,
    *,
    busy: float = BUSY,
    phase: str = "auto",
    levers: int = LEVER_REPS,
    **keywords: Unpack[RunnerKeywords],
) -> Diagnosis:
    """Diagnose one run: the leaking stage against benchmark ranges (activity for a launch-phase
    team), the capacity that binds by utilisation, and what one more unit of each lever buys.

    ``ranges`` overrides :data:`~simfunnel.decisions.stages.DEFAULT_RANGES` by row key (the
    ``key`` column of the stage table, e.g. ``mql_to_sal`` or ``sdr_contact_rate``); a value of
    None drops a default. ``busy`` is the utilisation or occupancy at which a team counts as full.
    ``phase``: "auto" (:func:`launch_phase`), "launch" or "mature". ``levers``: replications
    per lever run on ``result.scenario`` (common random numbers, root ``seed``: by default the
    run's own when it is a number, else 0); 0 skips them. ``workers``, ``executor`` and
    ``progress`` (default off) are those of :func:`simfunnel.run`. Conversions are over the whole run: late
    stages (wins) undercount what was created late; compare runs of the same horizon.
    """
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {', '.join(PHASES)} (got {phase!r})")
    table = stage_table(result, ranges)
    weeks = capacity_weeks(result, busy)
    capacity = capacity_table(weeks, busy)
    activity = activity_table(result)
    launch, why = launch_phase(result.scenario)
    if phase != "auto":
        launch, why = phase == "launch", "as stated"
    binding_rows = capacity[capacity["binds"]] if not capacity.empty else capacity
    binding = None
    if not binding_rows.empty:
        top = binding_rows.sort_values(["weeks_binding", "first_week"], ascending=[False, True])
        binding = str(top.iloc[0]["role"])
    if launch:
        bottleneck, _ = _launch_bottleneck(table, activity)
        table["bottleneck"] = table["key"] == bottleneck
        first = _activity_sentence(table, activity, why, bottleneck)
    else:
        flagged = table.loc[table["bottleneck"], "key"]
        bottleneck = str(flagged.iloc[0]) if not flagged.empty else None
        first = _leak_sentence(table)
    experiment, lever_rows, constraint = None, pd.DataFrame(), None
    own_seed = result.seed if isinstance(result.seed, int) else 0
    runner = runner_keywords({"seed": own_seed, "progress": False}, keywords)
    if levers:
        variants: dict[str, dict[str, Any]] = {"now": {}} | lever_variants(result.scenario)
        experiment = run_variants(result.scenario, variants, levers, **runner)
        lever_rows = lever_table(experiment)
        chosen = lever_rows[lever_rows["binding"]]
        constraint = str(chosen.iloc[0]["lever"]) if not chosen.empty else None
    parts = [first, _capacity_sentence(capacity, len(weeks)), _lever_sentence(lever_rows, levers)]
    return Diagnosis(
        table=table,
        capacity=capacity,
        weeks=weeks,
        bottleneck=bottleneck,
        binding=binding,
        verdict=" ".join(p for p in parts if p),
        activity=activity,
        levers=lever_rows,
        phase="launch" if launch else "mature",
        phase_why=why,
        constraint=constraint,
        experiment=experiment,
        result=result,
        busy=busy,
        points=tuple(
            (heading, said) for heading, said in zip(POINT_HEADINGS, parts, strict=True) if said
        ),
    )
