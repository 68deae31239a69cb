"""Analytic headcount: the fewest reps for a service level, and the SDR work a scenario asks for.

Like the spreadsheet baselines (:mod:`simfunnel.decisions.analytic`) these are computed, not
simulated: Poisson arrivals, exponential handling and a steady state. They are where a sizing
search starts and what the simulation is checked against.

- :func:`erlang_c_staffing` / :func:`erlang_a_staffing`: the fewest reps for a service level.
- :func:`sdr_workload`: the SDR rep-hours a scenario's MQL flow asks for, and the headcount.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.linalg import expm_multiply

from ..base.units import WEEK
from ..model import WorkCalendar
from ..scenario import Cadence, Scenario
from .analytic import spreadsheet_funnel
from .queueing import erlang_a, erlang_c

# --------------------------------------------------------------------------- Erlang staffing


@dataclass(frozen=True)
class StaffingAnswer:
    """The fewest servers (reps on the phones) meeting a service level, and what they achieve.

    Times are in the unit of the rates given. ``table`` has one row per team size tried, from
    the smallest that could work up to the answer, so it shows that one fewer misses.
    """

    servers: int
    load: float  # offered load in Erlangs: arrival_rate x handle_time
    service_level: float  # achieved P(answered within the target)
    target: float  # the service level asked for
    answer_within: float
    occupancy: float  # busy share of the servers
    p_wait: float  # an arrival finds every server busy
    mean_wait: float  # over all arrivals
    p_abandon: float  # share that goes cold before service (0 without patience)
    table: pd.DataFrame = field(repr=False, compare=False)


def _check_staffing(
    arrival_rate: float, handle_time: float, answer_within: float, service_level: float
) -> None:
    if not arrival_rate > 0:
        raise ValueError(f"arrival_rate must be > 0 (got {arrival_rate!r})")
    if not handle_time > 0:
        raise ValueError(f"handle_time must be > 0 (got {handle_time!r})")
    if not answer_within >= 0:
        raise ValueError(f"answer_within must be >= 0 (got {answer_within!r})")
    if not 0.0 < service_level < 1.0:
        raise ValueError(f"service_level must be in (0, 1) (got {service_level!r})")


def erlang_c_service_level(
    servers: int, arrival_rate: float, handle_time: float, answer_within: float
) -> float:
    """P(wait <= t) in M/M/c: 1 - C(c, a) exp(-(c mu - lambda) t); 0 if the queue is unstable."""
    mu = 1.0 / handle_time
    load = arrival_rate * handle_time
    if load >= servers:
        return 0.0
    gap = servers * mu - arrival_rate
    return 1.0 - erlang_c(servers, load) * math.exp(-gap * answer_within)


def erlang_c_staffing(
    arrival_rate: float, handle_time: float, *, answer_within: float, service_level: float
) -> StaffingAnswer:
    """Smallest c with P(wait <= answer_within) >= service_level in M/M/c (Erlang C).

    Why: the classic call-centre sizing. Assumes Poisson arrivals, exponential handling,
    first-come first-served, nobody leaving the queue, and a steady state. Rates and times in
    one unit (for example arrivals per hour and hours per job).
    """
    _check_staffing(arrival_rate, handle_time, answer_within, service_level)
    load = arrival_rate * handle_time
    rows = []
    c = max(1, math.floor(load) + 1)  # the smallest stable team
    while True:
        sl = erlang_c_service_level(c, arrival_rate, handle_time, answer_within)
        p_wait = erlang_c(c, load)
        wait = p_wait / (c / handle_time - arrival_rate)
        rows.append((c, sl, load / c, p_wait, wait, 0.0, sl >= service_level))
        if sl >= service_level:
            break
        c += 1
    return _answer(rows, load, service_level, answer_within)


def _answer(rows: list[tuple], load: float, target: float, answer_within: float) -> StaffingAnswer:
    table = pd.DataFrame(
        rows,
        columns=[
            "servers",
            "service_level",
            "occupancy",
            "p_wait",
            "mean_wait",
            "p_abandon",
            "meets",
        ],
    )
    c, sl, occ, p_wait, wait, p_abandon, _ = rows[-1]
    return StaffingAnswer(
        servers=c,
        load=load,
        service_level=sl,
        target=target,
        answer_within=answer_within,
        occupancy=occ,
        p_wait=p_wait,
        mean_wait=wait,
        p_abandon=p_abandon,
        table=table,
    )


def _queue_positions(
    arrival_rate: float, service_rate: float, servers: int, patience_rate: float
) -> np.ndarray:
    """P(an arrival that waits joins at position m = 1, 2, ...) in M/M/c+M.

    From the birth-death chain, p_{c+m} / p_{c+m-1} = lambda / (c mu + m theta): the positions'
    relative weights are these products, truncated where the rest is below 1e-13.
    """
    lam, c_mu, theta = arrival_rate, servers * service_rate, patience_rate
    logs = [0.0]
    m = 1
    while True:
        ratio = lam / (c_mu + m * theta)
        logs.append(logs[-1] + math.log(ratio))
        m += 1
        if ratio < 1 and logs[-1] - math.log1p(-ratio) < math.log(1e-13):
            break
        if m > 5_000_000:
            raise ValueError("patience too long for this overload: the queue barely drains")
    w = np.exp(np.array(logs) - max(logs))
    return w / w.sum()


def _served_within(
    positions: np.ndarray, service_rate: float, servers: int, patience_rate: float, t: float
) -> float:
    """P(served within t | waits), averaged over the joining position.

    A waiting lead at position i moves to i - 1 at rate c mu + (i - 1) theta (a service ends or
    one ahead goes cold; position 1 -> service) and goes cold itself at rate theta. With u_i(t) =
    P(served within t | position i) and u_0 = 1: du_i/dt = r_i (u_{i-1} - u_i) - theta u_i,
    a linear system solved with a matrix exponential.
    """
    n = len(positions)
    i = np.arange(1, n + 1, dtype=float)
    r = servers * service_rate + (i - 1) * patience_rate
    # State vector x = (u_0, u_1, ..., u_n), u_0 = 1 kept constant (its row is zero).
    diag = np.concatenate([[0.0], -(r + patience_rate)])
    lower = r  # d u_i / dt gets r_i u_{i-1}
    gen = sparse.diags([diag, lower], [0, -1], shape=(n + 1, n + 1), format="csr")
    x0 = np.zeros(n + 1)
    x0[0] = 1.0
    u = expm_multiply(gen * t, x0)
    return float(np.clip(positions @ u[1:], 0.0, 1.0))


def erlang_a_service_level(
    servers: int, arrival_rate: float, handle_time: float, answer_within: float, patience: float
) -> float:
    """P(an arrival is served within t) in M/M/c+M; leads that go cold count as misses.

    Uses :func:`simfunnel.decisions.queueing.erlang_a` for P(wait), then the queue position of a waiting
    arrival and the race between its turn and its own (exponential) patience.
    """
    mu, theta = 1.0 / handle_time, 1.0 / patience
    steady = erlang_a(arrival_rate, mu, servers, theta)
    if steady.p_wait <= 0:
        return 1.0
    positions = _queue_positions(arrival_rate, mu, servers, theta)
    served = _served_within(positions, mu, servers, theta, answer_within)
    return (1.0 - steady.p_wait) + steady.p_wait * served


def erlang_a_staffing(
    arrival_rate: float,
    handle_time: float,
    *,
    answer_within: float,
    service_level: float,
    patience: float,
) -> StaffingAnswer:
    """Smallest c with P(served within answer_within) >= service_level in M/M/c+M (Erlang A).

    Why: MQLs go cold if nobody calls them (``speed_to_lead.patience``); then the queue sheds
    load, so the Erlang C answer overstates the team a service level needs, and the share gone
    cold is the price. ``patience`` is the mean of an exponential patience, in the unit of the
    other times. Leads gone cold count as missing the target. As patience grows the answer
    tends to :func:`erlang_c_staffing`'s. Same assumptions as Erlang C otherwise.
    """
    _check_staffing(arrival_rate, handle_time, answer_within, service_level)
    if not patience > 0:
        raise ValueError(f"patience must be > 0 (got {patience!r})")
    load = arrival_rate * handle_time
    # Whoever is served is served by c reps: the served share is at most c / load, so teams
    # smaller than service_level x load cannot meet the target.
    c = max(1, math.ceil(service_level * load - 1e-9))
    rows = []
    while True:
        sl = erlang_a_service_level(c, arrival_rate, handle_time, answer_within, patience)
        a = erlang_a(arrival_rate, 1.0 / handle_time, c, 1.0 / patience)
        rows.append((c, sl, a.utilisation, a.p_wait, a.mean_wait, a.p_abandon, sl >= service_level))
        if sl >= service_level:
            break
        c += 1
    return _answer(rows, load, service_level, answer_within)


# --------------------------------------------------------------------------- SDR workload


@dataclass(frozen=True)
class SdrWorkload:
    """The SDR work a scenario's MQL flow asks for, and the headcount it implies (hours, weeks)."""

    mqls_per_week: float
    attempts_per_mql: float  # expected touches of one cadence (stops at the first contact)
    hours_per_attempt: float  # mean rep time of a touch, after-call work included
    hours_per_mql: float
    load_hours_per_week: float  # offered load: rep-hours of work per week
    open_hours_per_week: float  # calendar working hours per week (holidays averaged in)
    on_phone_hours_per_rep: float  # per rep per week, after shrinkage and paid leave
    target_occupancy: float
    headcount_by_occupancy: float  # load / (on-phone hours per rep x target occupancy)
    erlang_c: StaffingAnswer  # reps on the phones at once, for the speed-to-lead target
    headcount_by_erlang_c: float  # erlang_c.servers / on-phone share of a rep's open hours
    headcount_now: int  # sdr.headcount at the start, for comparison

    def to_frame(self) -> pd.DataFrame:
        """The figures as a tidy table: quantity, value, unit."""
        rows = [
            ("mqls_per_week", self.mqls_per_week, "MQLs per week"),
            ("attempts_per_mql", self.attempts_per_mql, "touches per MQL"),
            ("hours_per_attempt", self.hours_per_attempt, "hours"),
            ("hours_per_mql", self.hours_per_mql, "hours"),
            ("load_hours_per_week", self.load_hours_per_week, "rep-hours per week"),
            ("open_hours_per_week", self.open_hours_per_week, "hours per week"),
            ("on_phone_hours_per_rep", self.on_phone_hours_per_rep, "hours per rep-week"),
            ("target_occupancy", self.target_occupancy, "share"),
            ("headcount_by_occupancy", self.headcount_by_occupancy, "reps"),
            ("erlang_c_on_phones", float(self.erlang_c.servers), "reps at once"),
            ("erlang_c_service_level", self.erlang_c.service_level, "share"),
            ("headcount_by_erlang_c", self.headcount_by_erlang_c, "reps"),
            ("headcount_now", float(self.headcount_now), "reps"),
        ]
        return pd.DataFrame(rows, columns=["quantity", "value", "unit"])


def _touch_reach(cadence: Cadence) -> np.ndarray:
    """P(touch k of a cadence happens), k = 1..max_attempts: no contact on the calls before it."""
    p = cadence.connect_probability * cadence.contact_probability
    emails = set(cadence.email_touches)
    reach = []
    alive = 1.0
    for k in range(1, cadence.max_attempts + 1):
        reach.append(alive)
        if k not in emails:
            alive *= 1.0 - p
    return np.array(reach)


def _call_hours(cadence: Cadence) -> float:
    """Mean rep time of one call attempt: by how far it got, plus after-call work."""
    d = cadence.durations
    pc, pk = cadence.connect_probability, cadence.contact_probability
    talk = (1 - pc) * d.no_connect.mean + pc * (1 - pk) * d.connect.mean
    talk += pc * pk * d.conversation.mean
    return talk + d.after_call_work.mean


def _hours(scenario: Scenario) -> tuple[float, float]:
    """Calendar open hours per week (holidays averaged over the horizon), and the on-phone
    share of them for one rep: 1 - shrinkage, less paid leave."""
    cal = WorkCalendar(scenario)
    hours = np.minimum(cal.close, scenario.horizon) - cal.open
    worked = float(np.clip(hours, 0.0, None)[cal.working].sum())
    open_per_week = worked / (scenario.horizon / WEEK)
    days_per_year = float(cal.working.sum()) * (365.25 * 24.0 / scenario.horizon)
    leave = min(1.0, scenario.sdr.pto_days_per_year / days_per_year) if days_per_year else 0.0
    return open_per_week, (1.0 - scenario.sdr.shrinkage) * (1.0 - leave)


def _no_sdr_work(scenario: Scenario, leads_per_week: float) -> str:
    """Why a scenario asks no SDR work, in the words of its file: no inbound lead arrives, or
    none scores an MQL."""
    if not leads_per_week > 0:
        return (
            "no leads arrive: every source has rate_per_week 0 and no bursts within the "
            "horizon, so there is no SDR work to size; give a source a rate_per_week above 0"
        )
    return (
        f"no lead scores an MQL at scoring.threshold {scenario.scoring.threshold:g}, so there is "
        "no SDR work to size; lower the threshold or raise the sources' scores"
    )


def sdr_workload(
    scenario: Scenario,
    *,
    target_occupancy: float = 0.85,
    answer_within: float = 1.0,
    service_level: float = 0.8,
) -> SdrWorkload:
    """The analytic SDR headcount: offered load over on-phone hours, and Erlang C for speed.

    Offered load = MQLs per week x expected touches per MQL x mean hours per touch (dial, talk,
    after-call work; email touches at the email duration). Expected touches count the cadence
    until the first contact (calls only reach people; replies, follow-ups and callbacks are
    left out). A rep gives the calendar's open hours x (1 - shrinkage) x (1 - leave share).

    - ``headcount_by_occupancy`` = load / (on-phone hours per rep x ``target_occupancy``).
    - ``erlang_c``: every touch a job, arriving as Poisson over the open hours at the weekly
      volume, exponential handling at the mean touch time: the reps needed *on the phones at
      once* so that ``service_level`` of jobs start within ``answer_within`` hours; divided by
      the on-phone share, the headcount.

    Where this fails, and why the simulation is needed: cadence retries are scheduled, not
    Poisson; leads arriving at night or at the weekend queue until the morning (a spike Erlang C
    never sees); shifts, shrinkage blocks, ramp, attrition and leave move capacity through the
    week and the year; with ``new_first`` the first touch jumps the retries, so the speed-to-lead
    of new MQLs is better than the all-jobs service level; and speed-to-lead decay and nurture
    re-MQLs change the work itself.
    """
    if not 0.0 < target_occupancy <= 1.0:
        raise ValueError(f"target_occupancy must be in (0, 1] (got {target_occupancy!r})")
    funnel = spreadsheet_funnel(scenario)
    inbound = funnel["motion"] == "inbound"
    mqls = float(funnel.loc[inbound, "mqls_per_week"].sum())
    if not mqls > 0:  # Erlang C would refuse a zero arrival rate in its own, internal words
        raise ValueError(_no_sdr_work(scenario, float(funnel.loc[inbound, "leads_per_week"].sum())))
    cadence = scenario.cadence
    reach = _touch_reach(cadence)
    emails = set(cadence.email_touches)
    touch_hours = np.array(
        [
            cadence.durations.email.mean if k in emails else _call_hours(cadence)
            for k in range(1, cadence.max_attempts + 1)
        ]
    )
    attempts = float(reach.sum())
    per_mql = float(reach @ touch_hours)  # E[sum of touch times] over the cadence
    per_attempt = per_mql / attempts
    load = mqls * per_mql
    open_per_week, on_share = _hours(scenario)
    per_rep = open_per_week * on_share
    erl = erlang_c_staffing(
        mqls * attempts / open_per_week,
        per_attempt,
        answer_within=answer_within,
        service_level=service_level,
    )
    return SdrWorkload(
        mqls_per_week=mqls,
        attempts_per_mql=attempts,
        hours_per_attempt=per_attempt,
        hours_per_mql=per_mql,
        load_hours_per_week=load,
        open_hours_per_week=open_per_week,
        on_phone_hours_per_rep=per_rep,
        target_occupancy=target_occupancy,
        headcount_by_occupancy=load / (per_rep * target_occupancy),
        erlang_c=erl,
        headcount_by_erlang_c=erl.servers / on_share,
        headcount_now=scenario.sdr.headcount,
    )
