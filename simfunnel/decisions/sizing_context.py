"""What a sizing answer rests on besides its targets, in words: where each run starts (after a
warm-up that fills the funnel, from a snapshot, or from an empty funnel), the staffing plan
kept on top of every headcount tried, and what the answer does to output against today's team.

A headcount judged on a funnel that starts empty carries less follow-up work and fewer open
deals than the team will meet, and a target on utilisation alone can be met by cutting output:
the verdict says both, so that an answer is never read as more than it is.
"""

from __future__ import annotations

import math

from ..experiments import Experiment
from ..scenario import Scenario
from .levers import role_name, staff_of
from .measures import WEEKS_PER_MONTH

__all__ = ["output_words", "plan_words", "start_words"]

OUTPUT = "valid_opportunities"  # the output a headcount is weighed by
SATURATED = 0.9  # a calling team this busy or more is saturated (as `thresholds` flags it)
LOST_OUTPUT = -0.02  # output this much below today's is named as the answer's cost


def start_words(warm_weeks: int, basis: str, snapshot: bool) -> str:
    """Where each run starts, and so what load the team is judged on."""
    if snapshot:
        return " Each run starts from the snapshot of today's funnel."
    if warm_weeks:
        return f" Each run starts after a {warm_weeks}-week warm-up ({basis})."
    return (
        " Each run starts from an empty funnel (no warm-up): follow-ups and open deals build "
        "up inside the period, so the load is lighter than a full funnel gives."
    )


def plan_words(scenario: Scenario, role: str) -> str:
    """The role's planned hires and exits, kept on top of every headcount tried."""
    plan = staff_of(scenario, role).plan
    if not plan:
        return ""
    changes = []
    for c in plan:
        moves = ([f"+{c.hire}"] if c.hire else []) + ([f"-{c.leave}"] if c.leave else [])
        changes.append(f"{' '.join(moves)} on {c.date:%Y-%m-%d}")
    return (
        f" Each headcount tried is the team at the start: the plan's changes "
        f"({', '.join(changes)}) stay on top of it."
    )


def _mean(experiment: Experiment, section: str, metric: str) -> float:
    t = experiment.totals
    values = t.loc[(t["section"] == section) & (t["metric"] == metric), "value"].dropna()
    return float(values.mean()) if len(values) else math.nan


def output_words(
    experiments: dict[int, Experiment],
    answer: int | None,
    current: int | None,
    role: str,
    weeks: float,
) -> str:
    """What the answer does to valid opportunities against today's headcount, and whether the
    calling team is saturated at the answer: a target on utilisation or speed alone is met by
    a smaller team that produces less, which the targets never see."""
    if answer is None or current is None or answer == current:
        return ""
    if answer not in experiments or current not in experiments:
        return ""
    at, now = (_mean(experiments[h], "totals", OUTPUT) for h in (answer, current))
    if not (math.isfinite(at) and math.isfinite(now)) or now <= 0:
        return ""
    change = at / now - 1
    text = (
        f" With {answer} {role_name(role, answer)} instead of today's {current}, valid "
        f"opportunities come to {at:,.0f} against {now:,.0f} "
        + ("(about the same)" if abs(change) < 0.005 else f"({change:+.0%})")
    )
    busy = _mean(experiments[answer], "utilisation", role) if role != "ae" else math.nan
    if math.isfinite(busy) and busy >= SATURATED:
        text += f", with the {role.upper()}s {busy:.0%} busy: saturated"
    if change <= LOST_OUTPUT:
        per_month = now / weeks * WEEKS_PER_MONTH
        text += (
            "; the targets do not count output: to keep today's, add a target on it, "
            f"e.g. 'valid_opps_per_month>={math.floor(per_month):.0f}'"
        )
    return text + "."
