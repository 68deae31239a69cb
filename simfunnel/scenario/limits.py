"""How big a run is, before it runs: leads, accounts, reps and the memory they need.

A scenario can be perfectly valid and still far too big for the machine: 100,000 leads a week
over ten years is 52 million leads, about 32 GiB. Nothing would say so until the engine had
allocated its way into swap or a ``MemoryError``. :func:`check_size` estimates the run from the
validated scenario, without allocating anything, and refuses it with one line naming the fields
that drive it when the memory it needs is above the limit.

The figures are the engine's, measured (README, "Performance"): about 550-650 bytes per lead
(``tracemalloc`` peak of a whole ``simulate`` call), about 1,450 with ``trace=True``, and about
100-120 bytes per rep and calendar day for the shifts (on-phone segments of every working day).

The limit is 4 GiB by default; ``simulate(..., max_memory=...)``, or the environment variable
``SIMFUNNEL_MAX_MEMORY`` (which the command line's ``--max-memory`` sets), changes it: a number
of bytes or a size such as ``16GiB``, ``500MB`` or ``unlimited``. The check is per run: an
experiment on a pool of workers needs it once per worker.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
import re
from collections import defaultdict
from dataclasses import dataclass

from ..base.units import DAY, WEEK
from .schema import Scenario, ScenarioError
from .teams import Staffing

MAX_MEMORY_ENV = "SIMFUNNEL_MAX_MEMORY"
"""The environment variable that sets the memory limit of one run, e.g. ``16GiB``."""
GIB = 1024**3
DEFAULT_MAX_MEMORY = 4 * GIB
"""The memory one run may need unless told otherwise: 4 GiB."""
BYTES_PER_LEAD = 650
"""Peak memory per lead or outbound account of a whole run (measured: 417-557 bytes; it was
544-656 before per-lead records became arrays, and the limit keeps that margin)."""
BYTES_PER_TRACED_LEAD = 1500
"""The same with ``trace=True``, which keeps every event (measured: about 1,420 bytes)."""
BYTES_PER_REP_DAY = 128
"""Memory per rep position and calendar day: the shift's segments (measured: 95-117 bytes)."""
BYTES_PER_SPELL = 2048
"""Memory per employment spell beyond its days: the rep's process, streams and record."""

_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "k": 1024,
    "m": 1024**2,
    "g": 1024**3,
    "t": 1024**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-zA-Z]*)\s*$")


@dataclass(frozen=True)
class SizeEstimate:
    """What a run will hold, estimated from the scenario before it runs."""

    leads: float  # inbound leads expected over the warm-up and horizon (and carried-in rows)
    accounts: int  # outbound accounts that join the target list
    spells: float  # rep employment spells, all teams (starts, hires, back-fills)
    rep_days: float  # rep positions x calendar days: what the shifts hold
    tasks: float  # first-cadence touches at most: MQLs x touches, plus accounts x touches
    weeks: float  # warm-up and horizon
    memory: float  # bytes, at the peak of the run
    drivers: tuple[tuple[str, float], ...]  # (field path, bytes it accounts for), largest first


# --------------------------------------------------------------------------- sizes


def parse_size(value: object, what: str = "max_memory") -> float:
    """Bytes from ``16GiB``, ``500MB``, ``4g``, a plain number of bytes, or ``unlimited`` (inf).

    KB, MB, GB and TB are powers of 1000; KiB, MiB, GiB, TiB and the bare K, M, G, T are
    powers of 1024. A bad value raises ScenarioError with one line naming ``what``.
    """
    advice = f"{what}={value!r}: write a size such as 16GiB, 500MB or unlimited"
    if isinstance(value, bool):
        raise ScenarioError([advice])
    if isinstance(value, int | float):
        size = float(value)
    elif isinstance(value, str):
        if value.strip().lower() in {"unlimited", "none", "inf"}:
            return math.inf
        match = _SIZE.match(value)
        factor = _UNITS.get(match.group(2).lower()) if match else None
        if match is None or factor is None:
            raise ScenarioError([advice])
        size = float(match.group(1)) * factor
    else:
        raise ScenarioError([advice])
    if math.isnan(size) or size <= 0:
        raise ScenarioError([f"{what}={value!r}: must be above 0 (or unlimited)"])
    return size


def format_size(size: float) -> str:
    """Bytes as people read them: 650 MiB, 31.2 GiB."""
    if math.isinf(size):
        return "unlimited"
    for unit, factor in (("TiB", 1024**4), ("GiB", GIB), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor:
            return f"{size / factor:.3g} {unit}"
    return f"{size:.0f} bytes"


def memory_limit(max_memory: object = None) -> float:
    """The limit of one run: ``max_memory`` if given, else ``$SIMFUNNEL_MAX_MEMORY``, else
    4 GiB."""
    if max_memory is not None:
        return parse_size(max_memory)
    text = os.environ.get(MAX_MEMORY_ENV, "").strip()
    if text:
        return parse_size(text, MAX_MEMORY_ENV)
    return float(DEFAULT_MAX_MEMORY)


# --------------------------------------------------------------------------- the estimate


@functools.lru_cache(maxsize=64)
def _day_kinds(start: dt.date, hours: float) -> tuple[tuple[int, int, float], ...]:
    """(month, ISO week, days) over the period: seasonality multiplies by both."""
    n_days = math.ceil(hours / DAY - 1e-9)
    counts: defaultdict[tuple[int, int], float] = defaultdict(float)
    for d in range(n_days):
        day = start + dt.timedelta(days=d)
        counts[(day.month, day.isocalendar().week)] += 1.0
    last = start + dt.timedelta(days=n_days - 1)
    partial = hours / DAY - (n_days - 1)  # the share of the last day inside the period
    counts[(last.month, last.isocalendar().week)] -= 1.0 - partial
    return tuple((m, w, n) for (m, w), n in counts.items())


def _mql_share(mean: float, sd: float, low: float, high: float, threshold: float) -> float:
    """P(clipped normal score >= threshold)."""
    if threshold <= low:
        return 1.0
    if threshold > high:
        return 0.0
    if sd == 0:
        return 1.0 if min(max(mean, low), high) >= threshold else 0.0
    return 0.5 * math.erfc((threshold - mean) / (sd * math.sqrt(2.0)))


def _months_joined(start: dt.date, hours: float) -> int:
    """First days of a month after the start and inside the period: list replenishments."""
    year, month, count = start.year, start.month, 0
    while True:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        if (dt.date(year, month, 1) - start).days * DAY >= hours:
            return count
        count += 1


def _team(team: Staffing, years: float, n_days: float) -> tuple[float, float]:
    """Spells and rep-days of one team."""
    slots = team.headcount + sum(change.hire for change in team.plan)
    spells = slots * (1.0 + team.attrition_per_year * years)
    return spells, slots * n_days


def estimate(scenario: Scenario, *, snapshot_rows: int = 0, trace: bool = False) -> SizeEstimate:
    """How many leads, accounts, spells and tasks the run will have, and its peak memory."""
    hours = scenario.horizon + scenario.warm_up
    start = scenario.start_date - dt.timedelta(hours=scenario.warm_up)
    n_days = hours / DAY
    years = n_days / 365.25
    per_lead = BYTES_PER_TRACED_LEAD if trace else BYTES_PER_LEAD
    kinds = _day_kinds(start, hours)
    drivers: list[tuple[str, float]] = []
    leads = float(snapshot_rows)
    tasks = 0.0
    threshold = scenario.scoring.threshold
    if snapshot_rows:
        drivers.append(("snapshot", snapshot_rows * per_lead))
    for i, src in enumerate(scenario.sources):
        months, weeks = src.seasonality.by_month, src.seasonality.by_week
        days = sum(n * months.get(m, 1.0) * weeks.get(w, 1.0) for m, w, n in kinds)
        arriving = src.rate_per_week * days / 7.0
        burst = float(sum(b.leads for b in src.bursts))
        leads += arriving + burst
        score = src.score
        share = _mql_share(score.mean, score.sd, score.min, score.max, threshold)
        tasks += (arriving + burst) * share * scenario.cadence.max_attempts
        if arriving:
            drivers.append((f"sources[{i}].rate_per_week", arriving * per_lead))
        if burst:
            drivers.append((f"sources[{i}].bursts", burst * per_lead))
    accounts = 0
    teams: list[tuple[str, Staffing]] = [("sdr", scenario.sdr)]
    if scenario.outbound is not None:
        out = scenario.outbound
        added = out.accounts.added_per_month * _months_joined(start, hours)
        accounts = out.accounts.initial + added
        tasks += accounts * (1 + out.cadence.max_attempts)  # research, then the touches
        if out.accounts.initial:
            drivers.append(("outbound.accounts.initial", out.accounts.initial * per_lead))
        if added:
            drivers.append(("outbound.accounts.added_per_month", added * per_lead))
        teams.append(("outbound.bdr", out.bdr))
    if scenario.ae.team is not None:
        teams.append(("ae.team", scenario.ae.team))
    spells = rep_days = 0.0
    for path, team in teams:
        team_spells, team_days = _team(team, years, n_days)
        spells += team_spells
        rep_days += team_days
        cost = team_days * BYTES_PER_REP_DAY + team_spells * BYTES_PER_SPELL
        field = "plan" if sum(c.hire for c in team.plan) > team.headcount else "headcount"
        drivers.append((f"{path}.{field}", cost))
    memory = (leads + accounts) * per_lead + rep_days * BYTES_PER_REP_DAY
    memory += spells * BYTES_PER_SPELL
    drivers.sort(key=lambda d: -d[1])
    return SizeEstimate(
        leads=leads,
        accounts=accounts,
        spells=spells,
        rep_days=rep_days,
        tasks=tasks,
        weeks=hours / WEEK,
        memory=memory,
        drivers=tuple(drivers),
    )


def check_size(
    scenario: Scenario,
    *,
    max_memory: object = None,
    snapshot_rows: int = 0,
    trace: bool = False,
    source: str | None = None,
) -> SizeEstimate:
    """Refuse, with one line (ScenarioError), a run whose memory would exceed the limit
    (``max_memory``, else ``$SIMFUNNEL_MAX_MEMORY``, else 4 GiB); return the estimate."""
    limit = memory_limit(max_memory)
    size = estimate(scenario, snapshot_rows=snapshot_rows, trace=trace)
    if size.memory <= limit:
        return size
    named: list[str] = []
    covered = 0.0
    for path, cost in size.drivers:
        if covered >= 0.8 * size.memory or len(named) == 3:
            break
        named.append(path)
        covered += cost
    period = ["horizon"] + (["warm_up"] if scenario.warm_up else [])
    where = source if source is not None else f"scenario {scenario.name!r}"
    raise ScenarioError(
        [
            f"{where}: {named[0]}: too large to simulate: about {size.leads:,.0f} leads, "
            f"{size.accounts:,} accounts and {size.spells:,.0f} reps over {size.weeks:,.0f} weeks "
            f"would need about {format_size(size.memory)}, above the limit of "
            f"{format_size(limit)}; driven by {', '.join(named + period)}. Lower them, or raise "
            f"the limit ({MAX_MEMORY_ENV}=16GiB, --max-memory or simulate(max_memory=...))"
        ]
    )
