"""What a leader reads first in a decision's report: 3-5 tiles (the figure, and its change
against today or the target) and the verdict as three points (what to do, why, what could go
wrong). The paragraphs of the verdict stay below them as the detail.

Why a module apart from :mod:`.reports`: the tiles pick the few figures that carry the decision
and compare them with today's team and settings, which each decision does in its own terms.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..results.answer import Tile
from .forecast_bands import LABELS
from .levers import role_name
from .measures import pass_interval
from .objective import objective_kpi

if TYPE_CHECKING:  # the answers import their report, which imports this: types only
    from .diagnosis import Diagnosis
    from .forecasting import Forecast
    from .gap import Gap
    from .hiring import HiringPlan
    from .sizing import Sizing
    from .thresholds import ThresholdComparison

__all__ = [
    "diagnosis_tiles",
    "forecast_points",
    "forecast_tiles",
    "gap_points",
    "gap_tiles",
    "hiring_points",
    "hiring_tiles",
    "sizing_points",
    "sizing_tiles",
    "threshold_tiles",
]


def _tone(diff: float, higher_is_better: bool | None) -> str:
    """'good' or 'bad' for a change in the direction that helps or hurts; '' if neither."""
    if higher_is_better is None or math.isnan(diff) or diff == 0:
        return ""
    return "good" if (diff > 0) == higher_is_better else "bad"


def _at(frame: pd.DataFrame, row: str, col: str) -> float:
    """One figure of a table indexed by option or metric."""
    return float(frame.at[row, col])  # type: ignore[arg-type]  # a figure: the stubs allow any scalar


def _count(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:,.0f}"


def _percent(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{100 * x:.0f}%"


def threshold_tiles(c: ThresholdComparison) -> list[Tile]:
    """The recommended option's volumes, money and speed, each against today's option."""
    o = c.overview.set_index("option")
    cur = c.current_option
    shown = c.recommended or cur
    against = "today" if shown == cur else f"vs {cur} today"
    money = c.scenario.currency

    def change(col: str, write: str) -> tuple[str, str]:
        diff = _at(o, shown, col) - _at(o, cur, col)
        if shown == cur:
            return "today's setting", ""
        if write == "pp":
            return f"{100 * diff:+.0f} pp {against}", _tone(diff, col != "sdr_utilisation" or None)
        if write == "money":
            return f"{money.format(diff, signed=True)} {against}", _tone(diff, True)
        return f"{diff:+,.0f} {against}", _tone(diff, True)

    rows = [
        (
            "Valid opportunities",
            _count(_at(o, shown, "valid_opportunities")),
            "count",
            "valid_opportunities",
        ),
        ("Deals won", _count(_at(o, shown, "won")), "count", "won"),
        ("MQLs called within 1 h", _percent(_at(o, shown, "within_1h")), "pp", "within_1h"),
        ("SDR utilisation", _percent(_at(o, shown, "sdr_utilisation")), "pp", "sdr_utilisation"),
    ]
    if c.costed:  # without costs the objective is one of the tiles above, not money
        value = money.format(_at(o, shown, "objective"))
        rows.insert(2, ("Value minus cost", value, "money", "objective"))
    elif objective_kpi(c.costed, c.fallback).money:
        value = money.format(_at(o, shown, "objective"))  # won value: money
        rows.insert(2, (c.objective_name.capitalize(), value, "money", "objective"))
    tiles = []
    for label, value, write, col in rows:
        text, tone = change(col, write)
        tiles.append(Tile(f"{label} at {shown}", value, text, tone))
    return tiles


def sizing_tiles(s: Sizing) -> list[Tile]:
    """The headcount needed against today's, and each target's level at the answer."""
    rows = s.table.set_index("headcount")
    name = s.role.upper() + "s"
    h = s.headcount
    sure = s.sure
    tiles = [
        Tile(
            f"{name} needed",
            "none found" if h is None else str(h) if sure is None else f"{h} or {sure}",
            "" if s.current is None else f"{s.current} today",
            "" if h is None or s.current is None else _tone(s.current - h, True),
        )
    ]
    at = h if h is not None else int(rows.index.max())
    tiles.append(
        Tile(
            f"Runs meeting every target at {at}",
            _percent(float(rows["p_all_met"].loc[at])),
            f"asked: {s.confidence:.0%}",
            "good" if rows["p_all_met"].loc[at] >= s.confidence else "bad",
        )
    )
    for t in s.targets[:3]:
        mean = float(rows[f"{t.metric}_mean"].loc[at])
        tiles.append(Tile(f"{t.label} at {at}", t.figure(mean), f"target: {t.words}"))
    return tiles


def hiring_tiles(p: HiringPlan) -> list[Tile]:
    """Hires, the first hire's month, and the months still short."""
    short = p.months("short")
    first = min((d for d, _ in p.hires), default=None)
    return [
        Tile("Hires", str(sum(n for _, n in p.hires)), f"{p.current} on the team today"),
        Tile("First hire", "none" if first is None else f"{first:%Y-%m}", "to be ramped in time"),
        Tile(
            "Months short",
            str(len(short)),
            ", ".join(short[:3]) or "every month covered",
            "bad" if short else "good",
        ),
    ]


def forecast_tiles(fc: Forecast) -> list[Tile]:
    """The P50 of each headline figure with its P10-P90 band (the band the leader plans on)."""
    t = fc.totals_table().set_index("metric")
    low, mid, high = fc.quantile_columns
    money = fc.scenario.currency

    def tile(metric: str, label: str, is_money: bool = False) -> Tile:
        write = money.format if is_money else (lambda v: f"{v:,.0f}")
        lo, hi = write(_at(t, metric, low)), write(_at(t, metric, high))
        band = f"{low.upper()} {lo} to {high.upper()} {hi}"
        return Tile(f"{label}, {fc.weeks} weeks", write(_at(t, metric, mid)), band)

    tiles = [
        tile("valid_opportunities", "Valid opportunities"),
        tile("pipeline_value", "Pipeline value", True),
        tile("won", "Deals won"),
        tile("won_value", "Won value", True),
    ]
    for r in fc.targets_table(fc.targets).to_dict("records")[:2]:
        m = str(r["metric"])
        goal = (
            money.format(r["target"])
            if m in ("pipeline_value", "won_value")
            else _count(r["target"])
        )
        tiles.insert(
            0,
            Tile(
                f"Chance of {goal} {LABELS[m][0]}",
                _percent(float(r["chance"])),
                f"95%: {_percent(r['chance_low'])} to {_percent(r['chance_high'])}; median "
                f"{r['coverage']:.1f}x the target",
                "good" if r["chance"] >= 0.5 else "bad",
            ),
        )
    return tiles[:5]


def forecast_points(fc: Forecast) -> list[tuple[str, str]]:
    """The band in the words a forecast call uses: P50 most likely, P10 floor, P90 best case."""
    t = fc.totals_table().set_index("metric")
    low, mid, high = fc.quantile_columns
    money = fc.scenario.currency

    def said(col: str) -> str:
        return (
            f"{_at(t, 'valid_opportunities', col):,.0f} valid opportunities, "
            f"{money.format(_at(t, 'pipeline_value', col))} of pipeline, "
            f"{_at(t, 'won', col):,.0f} deals won worth {money.format(_at(t, 'won_value', col))}"
        )

    worse = round(100 * (1 - fc.level) / 2)
    return [
        ("Most likely (P50)", said(mid)),
        (f"Floor ({low.upper()}: {100 - worse} in 100 runs do better)", said(low)),
        (f"Best case ({high.upper()}: {worse} in 100 runs do better)", said(high)),
    ]


def gap_tiles(gap: Gap) -> list[Tile]:
    """The spreadsheet's figure, the simulation's, and the mechanism that moves it most."""
    t = gap.table
    name = gap.metric.replace("_", " ")
    last = t.iloc[-1]
    steps = t.iloc[1:]
    biggest = steps.iloc[int(steps["change"].abs().to_numpy().argmax())] if len(steps) else None
    tiles = [
        Tile(f"Spreadsheet: {name}", _count(gap.spreadsheet), "rates times volume"),
        Tile(
            f"Simulation: {name}",
            _count(float(last["mean"])),
            f"{float(last['mean']) - gap.spreadsheet:+,.0f} against the spreadsheet",
        ),
    ]
    if biggest is not None:
        tiles.append(
            Tile("Moves it most", str(biggest["step"]), f"{float(biggest['change']):+,.0f}")
        )
    return tiles


def diagnosis_tiles(d: Diagnosis) -> list[Tile]:
    """Where the funnel leaks, what capacity binds, and the lever that buys most."""
    t = d.table
    leak = t[t["key"] == d.bottleneck] if d.bottleneck is not None else t.iloc[0:0]
    tiles = [
        Tile(
            "Leaks most at",
            str(leak["stage"].iloc[0]) if not leak.empty else "no stage out of range",
            f"{d.phase} phase",
            "bad" if not leak.empty else "good",
        ),
        Tile(
            "Capacity that binds",
            "none" if d.binding is None else d.binding.upper(),
            f"utilisation at or above {d.busy:.0%}",
            "bad" if d.binding is not None else "good",
        ),
    ]
    if d.experiment is not None:
        tiles.append(Tile("Lever that buys most", d.constraint or "none clearly", "one more unit"))
    return tiles


def sizing_points(s: Sizing) -> list[tuple[str, str]]:
    """What to do about headcount, why (the pass rate at the answer and one fewer), and what
    could go wrong (how sure a pass rate from this many runs is)."""
    rows = s.table.set_index("headcount")
    role = s.role.upper() + "s"
    h, now = s.headcount, s.current
    if h is None:
        top = int(rows.index.max())
        return [
            ("What to do", f"more {role} alone will not meet the targets (tried up to {top})"),
            ("Why", f"at {top} every target is met in {_percent(rows['p_all_met'].loc[top])}"),
        ]
    sure = s.sure
    do = _sizing_move(s.role, now, h) if sure is None else _edge_move(s.role, now, h, sure)
    why = f"with {h}, every target is met in {_percent(rows['p_all_met'].loc[h])} of runs"
    if h - 1 in rows.index:
        why += f"; with {h - 1}, in {_percent(rows['p_all_met'].loc[h - 1])}"
    return [("What to do", do), ("Why", why), ("What could go wrong", _sizing_risk(s, rows, h))]


def _edge_move(role: str, now: int | None, h: int, sure: int) -> str:
    """What to do when ``h`` may do and ``sure`` surely does."""
    team = f"{sure} {role_name(role, sure)} to be sure"
    if now is not None and now != sure:
        team += f" ({abs(sure - now)} {'more' if sure > now else 'fewer'} than today's {now})"
    return f"{team}; {h} may do"


def _sizing_move(role: str, now: int | None, h: int) -> str:
    """From today's team to ``h``: keep, add or drop, in words."""
    team = f"{h} {role_name(role, h)}"
    if now is None or h == now:
        return f"keep {team}"
    if h > now:
        return f"go from {now} to {team} ({h - now} more)"
    return f"{team} would do: {now - h} fewer than today's {now}"


def _sizing_risk(s: Sizing, rows: pd.DataFrame, h: int) -> str:
    """How sure the answer's pass rate is: its bounds (a settled search) or its interval."""
    settled = s.experiments[h].settled
    judged = str(rows["judged"].loc[h]) if "judged" in rows else ""
    if settled is not None and judged == "on the edge":
        risk = (
            f"{h} is on the edge ({str(rows['edge'].loc[h]).removeprefix('on the edge: ')}): "
            f"too close to the {s.confidence:.0%} asked to tell"
        )
        if h + 1 in rows.index:
            sure = rows["judged"].loc[h + 1] == "passes"
            risk += f"; {h + 1} " + ("is enough beyond doubt" if sure else "is on the edge too")
        return risk
    if settled is not None and judged == "passes":
        row = settled.iloc[0]
        return (
            f"the pass rate rests on {row['passed']} of {row['replications']} runs passing: "
            f"at least {_percent(row['low'])} (95% bound) against the {s.confidence:.0%} asked, "
            "if volume and the reps' hours hold as the scenario says"
        )
    reps = int(s.experiments[h].finished(s.experiments[h].baseline))
    k = round(float(rows["p_all_met"].loc[h]) * reps)
    low, high = pass_interval(k, reps)
    risk = (
        f"the pass rate rests on {reps} runs: its 95% interval is {_percent(low)} to "
        f"{_percent(high)} against the {s.confidence:.0%} asked"
    )
    if low < s.confidence:
        risk += ", so the answer is on the edge: more runs (--max-reps) would settle it"
    return risk


def hiring_points(p: HiringPlan) -> list[tuple[str, str]]:
    """What to do (the dated hires), why (the peak requirement against today's team), and what
    could go wrong (months still short, or what the expected values hide)."""
    t = p.table
    total = sum(n for _, n in p.hires)
    role = p.role.upper() + "s"
    peak, months, today = p.peak()
    do = (
        f"hire {total} {role}: " + ", ".join(f"{n} in {d:%Y-%m}" for d, n in p.hires)
        if p.hires
        else f"no hires: today's {p.current} {role} keep up"
    )
    why = (
        f"the volume plan needs up to {peak} fully ramped {role} ({months}); without hires "
        f"today's team is expected at {today}"
    )
    short = p.months("short")
    risk = (
        f"still short in {', '.join(short)}: hire earlier or accept a slower speed to lead"
        if short
        else "ramp, attrition and leave are expected values: a slower ramp or an early leaver "
        "leaves a month short; the table below says what each costs"
    )
    if "to_be_sure" in t:
        edge = t[t["to_be_sure"].isna() | (t["to_be_sure"] != t["required"])]
        if not edge.empty:
            risk += (
                f"; the requirement is on the edge of the targets in {', '.join(edge['month'])}"
                ": one more there to be sure"
            )
    return [("What to do", do), ("Why", why), ("What could go wrong", risk)]


def gap_points(gap: Gap) -> list[tuple[str, str]]:
    """How far the simulation is from the spreadsheet, the step that moves it most, and what
    to plan on."""
    t = gap.table
    name = gap.metric.replace("_", " ")
    sim = float(t.iloc[-1]["mean"])
    steps = t.iloc[1:]
    gap_said = (
        f"the simulation gives {_count(sim)} {name} where the spreadsheet expects "
        f"{_count(gap.spreadsheet)} ({sim - gap.spreadsheet:+,.0f})"
    )
    points = [("How far apart", gap_said)]
    if len(steps):
        order = steps.iloc[np.argsort(-steps["change"].abs().to_numpy())]
        said = "; ".join(f"{r['step']} {float(r['change']):+,.0f}" for _, r in order.iterrows())
        points.append(("Why, largest step first", said))
    points.append(
        (
            "What to plan on",
            "the simulation's figure: the spreadsheet multiplies rates and leaves out what the "
            "steps measure",
        )
    )
    return points
