"""When a comparison has run enough: sequential replications until the decision KPI's paired
differences are known to a stated precision, dropping options that are clearly out.

Why: a fixed count of replications is too many for a clear answer and too few for a close one.
Each option is run in batches on common random numbers with the baseline (today's setting);
after each batch, an option stops when its paired difference against the baseline is known to
``relative`` of the baseline's level (the half-width of its ``level`` interval), or when it is
clearly below the leader (its paired interval against the best option lies wholly on the worse
side: the ranking is settled without it). The baseline runs as long as any option does, so
every option keeps its pairs. Stopping on the data makes the intervals slightly optimistic
(optional stopping); the minimum of three replications and the t quantile keep that small.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from .intervals import kpi_key, t_half_width

__all__ = [
    "DEFAULT_PRECISION",
    "Settle",
    "StoppingRule",
    "check_rule",
    "settle_plan",
    "settle_state",
    "settle_text",
]

RUNNING, SETTLED, OUT, LIMIT = "running", "settled", "out", "limit"
MIN_REPS = 3  # an interval needs a spread, and t with two degrees of freedom is already wide


class StoppingRule(Protocol):
    """When an experiment's variants have run enough: after each round, ``state`` gives one row
    per variant (``variant``, ``replications``, ``status``: running, settled, out or limit,
    and ``why``); the running ones get more, up to ``next_count`` of the replications run so
    far and at most ``max_reps``. :class:`Settle` is the paired-precision rule; a decision may
    bring its own (a sizing pass rate)."""

    @property
    def batch(self) -> int: ...

    def next_count(self, n: int) -> int: ...

    @property
    def max_reps(self) -> int: ...

    def state(
        self,
        totals: pd.DataFrame,
        names: Sequence[str],
        baseline: str,
        previous: pd.DataFrame | None,
    ) -> pd.DataFrame: ...


def check_rule(relative: float, max_reps: int, least: int) -> None:
    """A stopping rule's precision (a share of a level, between 0 and 1) and its most
    replications (a whole number, at least what the rule needs to judge), refused if not."""
    if not (isinstance(relative, int | float) and 0 < relative < 1):
        raise ValueError(f"precision must be between 0 and 1 (got {relative!r})")
    if not (isinstance(max_reps, int) and max_reps >= least):
        raise ValueError(f"max_reps must be a whole number >= {least} (got {max_reps!r})")


@dataclass(frozen=True)
class Settle:
    """The stopping rule: ``kpi`` (``valid_opportunities`` or ``section.metric``), its paired
    difference against the baseline known to ``relative`` of the baseline's mean at ``level``;
    ``higher``: more is better (for the leader); ``drop``: stop an option clearly below the
    best on ``kpi`` (only right when ``kpi`` is what the options are ranked on); ``batch``
    replications are added per round (the first round is the experiment's ``reps``), up to
    ``max_reps`` per option. ``baseline`` and ``base_level``: what the stopping reasons call
    the baseline and its level."""

    kpi: str = "valid_opportunities"
    relative: float = 0.02
    higher: bool = True
    drop: bool = True
    level: float = 0.95
    batch: int = 4
    max_reps: int = 40
    baseline: str = "today's option"
    base_level: str = "today's level"

    def __post_init__(self) -> None:
        check_rule(self.relative, self.max_reps, MIN_REPS)
        if not (isinstance(self.batch, int) and self.batch >= 1):
            raise ValueError(f"batch must be a whole number >= 1 (got {self.batch!r})")

    def next_count(self, n: int) -> int:
        """One more batch."""
        return n + self.batch

    def state(
        self,
        totals: pd.DataFrame,
        names: Sequence[str],
        baseline: str,
        previous: pd.DataFrame | None,
    ) -> pd.DataFrame:
        return settle_state(totals, names, baseline, self, previous)


def _values(totals: pd.DataFrame, rule: Settle) -> pd.DataFrame:
    """The decision KPI per replication (rows) and variant (columns)."""
    section, metric = kpi_key(rule.kpi, totals)
    rows = totals[(totals["section"] == section) & (totals["metric"] == metric)]
    return rows.pivot_table(index="replication", columns="variant", values="value", dropna=False)


def _paired(values: pd.DataFrame, a: str, b: str, level: float) -> tuple[float, float, int]:
    """Mean and half-width of the paired difference a - b over the replications both have."""
    d = (values[a] - values[b]).dropna()
    n = len(d)
    if n < 2:
        return math.nan, math.nan, n
    half = t_half_width(pd.Series([d.std(ddof=1)]), pd.Series([n]), level).iloc[0]
    return float(d.mean()), float(half), n


def _reduction(values: pd.DataFrame, a: str, b: str) -> float:
    """What pairing on common random numbers bought: the variance of a difference of
    independent runs over that of the paired one (NaN for the baseline, or too few pairs)."""
    pairs = values[[a, b]].dropna()
    if a == b or len(pairs) < 2:
        return math.nan
    paired = float((pairs[a] - pairs[b]).var(ddof=1))
    unpaired = float(pairs[a].var(ddof=1) + pairs[b].var(ddof=1))
    return unpaired / paired if paired > 0 else math.inf


def settle_state(
    totals: pd.DataFrame,
    names: Sequence[str],
    baseline: str,
    rule: Settle,
    previous: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per variant: replications so far, the paired difference against the baseline with its
    half-width (and relative to the baseline's level), and whether it goes on (``running``) or
    stopped, and why. Those stopped in ``previous`` keep their state."""
    before: dict[str, tuple[str, str]] = (
        {}
        if previous is None
        else {str(r.variant): (str(r.status), str(r.why)) for r in previous.itertuples()}
    )
    running = [v for v in names if before.get(v, (RUNNING, ""))[0] == RUNNING]
    values = _values(totals, rule)
    level = abs(float(values[baseline].mean())) if baseline in values else math.nan
    target = rule.relative * level
    sign = 1.0 if rule.higher else -1.0
    means = values.mean()
    leader = str((sign * means).idxmax()) if not means.dropna().empty else baseline
    rows = []
    for v in names:
        n = int(values[v].notna().sum()) if v in values else 0
        if v == baseline:
            diff, half = 0.0, 0.0
            if len(names) == 1:  # one option: its own mean to the precision
                sd = values[v].std(ddof=1) if n > 1 else math.nan
                half = float(t_half_width(pd.Series([sd]), pd.Series([n]), rule.level).iloc[0])
        else:
            diff, half, _ = _paired(values, v, baseline, rule.level)
        status, why = RUNNING, "more replications needed"
        if v not in running:
            status, why = before[v]
        elif v == baseline and len(names) > 1:
            pass  # judged last: it runs as long as any option needs its pairs
        elif n >= MIN_REPS and half <= target:
            status, why = SETTLED, f"known to +/-{rule.relative:.0%} of {rule.base_level}"
        elif rule.drop and n >= MIN_REPS and v not in (baseline, leader):
            gap, gap_half, _ = _paired(values, v, leader, rule.level)
            if sign * gap + gap_half < 0:
                status, why = OUT, f"clearly below {leader}"
        if status == RUNNING and n >= rule.max_reps:
            status, why = LIMIT, f"stopped at the most replications allowed ({rule.max_reps})"
        rows.append(
            {
                "variant": v,
                "replications": n,
                "diff": diff,
                "half_width": half,
                "relative_half_width": half / level if level else math.nan,
                "variance_reduction": _reduction(values, v, baseline),
                "status": status,
                "why": why,
            }
        )
    state = pd.DataFrame(rows)
    others = state[state["variant"] != baseline]
    is_base = state["variant"] == baseline
    if len(names) > 1 and not (others["status"] == RUNNING).any():
        state.loc[is_base, ["status", "why"]] = [
            SETTLED,
            f"{rule.baseline}: run as long as the others",
        ]
    return state


DEFAULT_PRECISION = 0.02  # the paired difference known to +/-2% of today's level


def settle_plan(
    reps: int | None,
    precision: float | None,
    max_reps: int | None,
    kpi: str,
    *,
    ranked: bool = True,
    baseline: str = "",
) -> tuple[int, Settle | None]:
    """A decision's replications: ``reps`` alone is that fixed count (as before); otherwise
    batches (the first of ``reps``, default 4) until ``precision`` (default
    :data:`DEFAULT_PRECISION`) is reached on ``kpi``, at most ``max_reps`` (default 40), which
    may not be below ``reps``: the first batch is never cut short without a word.
    ``ranked``: the options are ranked on ``kpi``, so one clearly below the best may stop;
    when they are ranked on something else (value minus cost), every option runs on.
    ``baseline``: what the stopping reasons call the baseline ("the first step"; default
    today's option)."""
    if reps is not None and precision is None and max_reps is None:
        return reps, None
    if reps is not None and max_reps is not None and max_reps < reps:
        raise ValueError(f"max_reps ({max_reps}) is below reps ({reps}), the first batch")
    rule = Settle(
        kpi=kpi,
        relative=DEFAULT_PRECISION if precision is None else precision,
        max_reps=40 if max_reps is None else max_reps,
        drop=ranked,
    )
    if baseline:
        rule = dataclasses.replace(rule, baseline=baseline, base_level=f"{baseline}'s level")
    first = rule.batch if reps is None else reps
    return first, rule


def settle_text(state: pd.DataFrame, rule: Settle, label: str) -> str:
    """How a settled comparison ran, in one sentence: the rule, and each option's count and
    why it stopped."""
    parts = [
        f"{r.variant}: {r.replications} ({r.why})"
        for r in state.itertuples()
        if r.status != SETTLED or not str(r.why).startswith(rule.baseline)
    ]
    base = state[state["why"].astype(str).str.startswith(rule.baseline)]
    head = (
        f"Replications ran until each option's paired difference in {label} against today was "
        f"known to +/-{rule.relative:.0%} of today's level (95% interval)"
        + (
            ", or the option was clearly below the best"
            if rule.drop
            else " (none stopped early for being behind: the options are ranked on another figure)"
        )
        + f", at most {rule.max_reps} each"
    )
    if not base.empty:
        head += f"; today's option ran {int(base['replications'].iloc[0])}"
    text = f"{head}: " + "; ".join(parts) + "." if parts else head + "."
    bought = state["variance_reduction"].replace(math.inf, math.nan).dropna()
    if not bought.empty:
        low, high = float(bought.min()), float(bought.max())
        span = f"{low:.1f}x" if round(low, 1) == round(high, 1) else f"{low:.1f}x to {high:.1f}x"
        text += (
            " Running every option on the same leads (common random numbers) cut the variance "
            f"of the differences {span}: that many times fewer runs for the same precision."
        )
    return text
