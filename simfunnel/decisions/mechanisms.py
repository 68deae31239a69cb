"""What a sizing answer pays for, measured: each mechanism a role has beside its headcount
(ramp, learning curve, attrition, leave) taken out at the answer and one fewer, on the same
replications, so that the verdict can name those without which one rep fewer would do.

Every row of one headcount rests on the same runs (the "with" and each "without"), and the
verdict's words come from those rows alone (:func:`explanation_words`): a pass rate it quotes
is the one its judgement reads.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..base.units import WEEK
from ..experiments import Experiment, RunOptions, run
from ..scenario import Scenario, with_overrides
from .levers import ROLE_PATHS, headcount_path, staff_of
from .measures import (
    PassRule,
    Target,
    pass_bounds,
    replication_reports,
    run_mean,
    share_met,
)

__all__ = ["explain_answer", "explanation_words", "mechanisms_of"]


def mechanisms_of(scenario: Scenario, role: str) -> dict[str, dict[str, Any]]:
    """What the role has in this scenario beside its headcount, each as the overrides that take
    it out: ramp and learning curve (only when someone new joins: attrition back-fills, planned
    hires, or a starting team given a tenure), attrition, and leave (AEs have none)."""
    staff = staff_of(scenario, role)
    path = ROLE_PATHS[role]
    newcomers = (
        staff.attrition_per_year > 0
        or any(c.hire for c in staff.plan)
        or getattr(staff, "starting_tenure_months", None) is not None
    )
    found: dict[str, dict[str, Any]] = {}
    if staff.ramp and newcomers:
        found["ramp"] = {f"{path}.ramp": []}
    if getattr(staff, "skill_ramp", ()) and newcomers:
        found["learning curve"] = {f"{path}.skill_ramp": []}
    if staff.attrition_per_year > 0:
        found["attrition"] = {f"{path}.attrition_per_year": 0.0}
    if getattr(staff, "pto_days_per_year", 0.0) > 0:
        found["leave"] = {f"{path}.pto_days_per_year": 0.0}
    return found


def _paired(with_: Sequence[float], without: Sequence[float]) -> tuple[float, float, float]:
    """Mean of the paired differences (without - with) and its 95% t interval; NaN when a
    run has no value (:func:`~simfunnel.decisions.measures.run_mean`)."""
    if len(with_) != len(without):  # a failed replication: no pairs to trust
        return math.nan, math.nan, math.nan
    d = np.asarray(without, dtype=float) - np.asarray(with_, dtype=float)
    if d.size == 0 or np.isnan(d).any():  # a run with no value: n/a, as the table has it
        return math.nan, math.nan, math.nan
    mean = float(d.mean())
    if d.size < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size))
    return mean, mean - half, mean + half


COLUMNS = [
    "mechanism",
    "headcount",
    "p_all_met_with",
    "p_all_met",
    "metric",
    "mean_with",
    "mean_without",
    "diff",
    "diff_low",
    "diff_high",
    "runs",
    "judged",
    "one_fewer_would_do",
]


def _count(experiment: Experiment) -> int:
    return int(experiment.finished(experiment.baseline))


def _judged(p: float, n: int, confidence: float, rule: PassRule | None) -> str:
    """A pass rate of ``n`` runs as the search judges one: on its bounds with a stopping rule
    (passes, fails or on the edge), on the share alone with a fixed count."""
    if rule is None:
        return "passes" if p >= confidence else "fails"
    low, high = pass_bounds(round(p * n), n)
    return "passes" if low >= confidence else "fails" if high < confidence else "on the edge"


def _runs_alike(
    variants: Mapping[tuple[str, int], Scenario],
    first: Mapping[int, int],
    one_fewer: int,
    rule: PassRule | None,
    options: RunOptions,
) -> tuple[dict[tuple[str, int], Experiment], dict[int, int]]:
    """Each variant run on ``first`` runs of its headcount; one fewer than the answer, with a
    stopping rule, on until its pass rate is shown above or below the confidence (as the
    search would judge it: 10 of 11 is neither). Then every variant of a headcount is run on
    to the most any took, so that its rows compare the same runs (the runs already made are
    reused: the decision's memo)."""
    runs: dict[tuple[str, int], Experiment] = {}
    for key, variant in variants.items():
        settle = None
        if rule is not None and key[1] == one_fewer:
            settle = dataclasses.replace(rule, max_reps=max(rule.max_reps, first[key[1]]))
        runs[key] = run(variant, first[key[1]], options=dataclasses.replace(options, settle=settle))
    count = dict(first)
    for (_, k), exp in runs.items():
        count[k] = max(count[k], _count(exp))
    for key, exp in runs.items():
        if _count(exp) < count[key[1]]:
            runs[key] = run(variants[key], count[key[1]], options=options)
    return runs, count


def explain_answer(
    scenario: Scenario,
    role: str,
    answer: int,
    tried: Mapping[int, Experiment],
    goals: Sequence[Target],
    confidence: float,
    options: RunOptions,
    rule: PassRule | None = None,
) -> tuple[pd.DataFrame, dict[tuple[str, int], Experiment]]:
    """Each mechanism removed at the answer and one fewer, on the replications of the search
    (same seed): the pass rate and the binding target's metric with and without it.

    ``rule``: the search's stopping rule, if any. One fewer usually failed on 3 runs, too few to
    say it would pass without a mechanism: it is run on to the rule's first pass (``fewest``,
    11 for an 80% rule) and, without a mechanism, until the rule settles it; "one fewer would
    do" then needs the pass rate without it shown above ``confidence`` (:func:`pass_bounds`),
    as the search would judge it, and ``judged`` says "on the edge" where the most runs could
    not tell. The "with" runs of a headcount are the search's own, run on to the same count."""
    weeks = scenario.horizon / WEEK
    path = headcount_path(scenario, role)
    levels = [answer - 1, answer] if answer > 1 else [answer]
    least = rule.fewest if rule is not None else 0
    first = {k: max(_count(tried[k]), least) for k in levels}
    variants = {
        (name, k): with_overrides(
            scenario, {path: k, **overrides}, source=f"{role} headcount {k} without {name}"
        )
        for name, overrides in mechanisms_of(scenario, role).items()
        for k in levels
    }
    runs, count = _runs_alike(variants, first, answer - 1, rule, options)
    base = {
        k: replication_reports(
            tried[k]
            if _count(tried[k]) == count[k]
            else run(next(iter(tried[k].scenarios.values())), count[k], options=options)
        )
        for k in levels
    }
    # The binding target: the one met least often one below the answer (or at it).
    probe = base[levels[0]]
    binding = min(goals, key=lambda g: np.mean([g.met(g.value_in(r, weeks)) for r in probe]))
    rows = []
    for (name, k), exp in runs.items():
        reports = replication_reports(exp)
        with_, without = ([binding.value_in(r, weeks) for r in rs] for rs in (base[k], reports))
        p_with, p_without = share_met(base[k], goals, weeks), share_met(reports, goals, weeks)
        judged = _judged(p_without, len(reports), confidence, rule) if k == answer - 1 else ""
        rows.append(
            dict(zip(COLUMNS[:4], (name, k, p_with, p_without), strict=True))
            | {"metric": binding.metric, "mean_with": run_mean(with_)}
            | {"mean_without": run_mean(without)}
            | dict(zip(("diff", "diff_low", "diff_high"), _paired(with_, without), strict=True))
            | {"runs": len(reports), "judged": judged}
            | {"one_fewer_would_do": judged == "passes" and p_with < confidence}
        )
    return pd.DataFrame(rows, columns=COLUMNS), runs


def _num(x: float, sign: bool = False) -> str:
    """A metric as the verdict writes it: three significant figures, whole above 1,000."""
    if math.isnan(x):
        return "n/a"
    if x == 0:
        return "0"
    spec = ("+" if sign else "") + (",.0f" if abs(x) >= 1000 else ".3g")
    return format(x, spec)


def _either(names: Sequence[str], word: str = "or") -> str:
    """'ramp', 'ramp or attrition', 'ramp, attrition or leave'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {word} {names[-1]}"


def _part(r: pd.Series) -> str:
    """One mechanism's row in words: the pass rate and the binding metric without it."""
    if r["diff"] == 0 and r["p_all_met"] == r["p_all_met_with"]:
        return f"without {r['mechanism']} no change"
    return (
        f"without {r['mechanism']} {r['p_all_met']:.0%}, {_num(r['mean_without'])} "
        f"({_num(r['diff'], True)}, 95% CI {_num(r['diff_low'], True)} to "
        f"{_num(r['diff_high'], True)})"
    )


def _what_changes(rows: pd.DataFrame, at: int, confidence: float) -> str:
    """Which mechanisms change the answer, from the one-fewer rows' own judgements: shown to
    pass without it (one fewer would do), too close to tell (may do), or not (no change)."""
    n = int(rows["runs"].iloc[0])
    p_with = float(rows["p_all_met_with"].iloc[0])
    if p_with >= confidence:  # these runs contradict the search's look: say so, judge nothing
        return (
            f" On these {n} runs, {at} itself meets every target in {p_with:.0%}: the search "
            f"judged it on fewer, and more runs may show that {at} does."
        )
    drop = [str(m) for m in rows.loc[rows["one_fewer_would_do"].astype(bool), "mechanism"]]
    edge = rows[rows["judged"] == "on the edge"]
    rest = [str(m) for m in rows["mechanism"] if m not in drop and m not in set(edge["mechanism"])]
    text = ""
    if drop:
        who = f"{drop[0]} alone" if len(drop) == 1 else f"any one of {_either(drop)}"
        text += f" Without {who}, {at} would do."
    if not edge.empty:
        said = []
        for _, r in edge.iterrows():
            n, k = int(r["runs"]), round(r["p_all_met"] * r["runs"])
            low, high = pass_bounds(k, n)
            who = "it" if len(edge) == 1 else r["mechanism"]
            said.append(f"{k} of {n} runs pass without {who} ({low:.0%} to {high:.0%})")
        text += (
            f" Without {_either(list(edge['mechanism']))}, {at} may do: {'; '.join(said)}, "
            f"too close to {confidence:.0%} to tell."
        )
    if rest:
        who = rest[0] if len(rest) == 1 else f"any one of {_either(rest)}"
        text += f" Removing {who} alone does not change the answer."
    return text


def explanation_words(
    e: pd.DataFrame, h: int, team: str, searched: Mapping[int, int], confidence: float
) -> str:
    """The measured explanation as the verdict says it: what each mechanism costs one fewer
    than the answer ``h`` (at ``h`` when it is 1), on runs it names (``searched``: the search's
    runs by headcount; the explanation may have run more), and which change the answer.
    ``team``: the role's reps in words ("SDRs"). Empty when nothing was measured."""
    if "mechanism" not in e:
        return ""  # not measured (explain=False)
    if e.empty:
        return (
            f" The {team} have no ramp, attrition or leave in this scenario: the answer is "
            "headcount alone."
        )
    at = h - 1 if (e["headcount"] == h - 1).any() else h
    rows = e[e["headcount"] == at]
    first = rows.iloc[0]
    n, before = int(first["runs"]), int(searched.get(at, first["runs"]))
    met = f"every target met in {first['p_all_met_with']:.0%} of runs"
    if n > before:  # not the table's figure for this headcount: say why
        met = f"the search's {before} and {n - before} more; " + met.replace("of runs", "of them")
    text = (
        f" What the answer pays for, measured at {at} on {n} runs ({met}, {first['metric']} "
        f"{_num(first['mean_with'])}) with each removed on the same runs: "
        + "; ".join(_part(r) for _, r in rows.iterrows())
        + "."
    )
    return text if at == h else text + _what_changes(rows, at, confidence)
