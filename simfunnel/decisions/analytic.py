"""Analytic baselines: the answers a leader would compute in a spreadsheet, without simulating.

Every decision report puts one of these beside the simulation. They are deliberately naive:
nominal rates for a lead of average quality, unlimited rep time, no waiting, no speed-to-lead
decay, Poisson arrivals and exponential handling where queueing enters. The gap between a
baseline and the simulation is the point: it is what finite capacity, queues, cadences, decay,
recycling and ramp do to the funnel.

- :func:`reverse_waterfall` / :func:`reverse_waterfall_for`: revenue target back to leads.
- :func:`spreadsheet_funnel`: leads forward to wins, by source, per week.
- :func:`erlang_c_staffing` / :func:`erlang_a_staffing`: the fewest reps for a service level.
- :func:`sdr_workload`: the SDR rep-hours a scenario's MQL flow asks for, and the headcount.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse, stats
from scipy.sparse.linalg import expm_multiply

from ..base.units import WEEK
from ..scenario import Cadence, Outbound, Scenario, ScoreModel, Source
from .queueing import erlang_a, erlang_c

# --------------------------------------------------------------------------- reverse waterfall


@dataclass(frozen=True)
class WaterfallRates:
    """The conversion rates of a spreadsheet funnel (shares 0-1) and the mean deal value."""

    deal_value: float  # currency per won deal
    win_rate: float  # valid opportunity -> won
    valid_rate: float  # SQL -> valid opportunity (accepted by the AE)
    sql_rate: float  # MQL -> SQL
    mql_rate: float  # lead (inquiry) -> MQL


def _check_share(name: str, value: float) -> None:
    if not 0.0 < value <= 1.0:
        raise ValueError(f"{name} must be a share in (0, 1] (got {value!r})")


def reverse_waterfall(
    revenue_target: float,
    *,
    deal_value: float,
    win_rate: float,
    valid_rate: float,
    sql_rate: float,
    mql_rate: float,
    weeks: float | None = None,
) -> pd.DataFrame:
    """Work a revenue target back up the funnel: wins, valid opportunities, SQLs, MQLs, leads.

    Why: this is the first sum every plan starts from ("how many leads does the target take?").
    Each row is a stage with the count ``needed`` and the ``rate`` at which that stage turns into
    the next one (``next_stage``); the count is the next stage's count divided by the rate. The
    ``won`` row turns into revenue at ``deal_value`` each, so its rate is left empty. Counts are
    not rounded (533.3 SQLs is the arithmetic; round up when you plan). With ``weeks``, a
    ``per_week`` column spreads each count evenly over that many weeks.

    Deterministic by design: no variance, no capacity, no delays. The simulation adds all three.
    """
    if revenue_target < 0:
        raise ValueError(f"revenue_target must be >= 0 (got {revenue_target!r})")
    if not deal_value > 0:
        raise ValueError(f"deal_value must be > 0 (got {deal_value!r})")
    for name, rate in (
        ("win_rate", win_rate),
        ("valid_rate", valid_rate),
        ("sql_rate", sql_rate),
        ("mql_rate", mql_rate),
    ):
        _check_share(name, rate)
    if weeks is not None and not weeks > 0:
        raise ValueError(f"weeks must be > 0 (got {weeks!r})")
    won = revenue_target / deal_value
    valid = won / win_rate
    sqls = valid / valid_rate
    mqls = sqls / sql_rate
    leads = mqls / mql_rate
    frame = pd.DataFrame(
        {
            "stage": ["revenue", "won", "valid_opportunities", "sqls", "mqls", "leads"],
            "next_stage": [None, "revenue", "won", "valid_opportunities", "sqls", "mqls"],
            "rate": [math.nan, math.nan, win_rate, valid_rate, sql_rate, mql_rate],
            "needed": [float(revenue_target), won, valid, sqls, mqls, leads],
        }
    )
    if weeks is not None:
        frame["per_week"] = frame["needed"] / weeks
    return frame


def mql_share(score: ScoreModel, threshold: float) -> float:
    """P(clipped normal score >= threshold): the share of a source's leads that are MQLs.

    The score is N(mean, sd) clipped to [min, max] (reliability only mixes quality into it, the
    marginal stays normal), so the share is the normal upper tail, 1 at or below ``min`` (every
    score is at least min) and 0 above ``max``.
    """
    if threshold <= score.min:
        return 1.0
    if threshold > score.max:
        return 0.0
    if score.sd == 0:
        return 1.0 if score.mean >= threshold else 0.0
    return float(stats.norm.sf(threshold, loc=score.mean, scale=score.sd))


def _call_touches(cadence: Cadence) -> int:
    """Touches of a cadence that are calls: only a call can reach the person."""
    return cadence.max_attempts - len(set(cadence.email_touches))


def contact_share(cadence: Cadence) -> float:
    """P(reaching the person within one cadence) = 1 - (1 - connect x contact)^calls.

    Each call touch independently connects and then reaches the person, with no speed-to-lead
    decay; email touches never reach anyone here (their replies are left out).
    """
    p = cadence.connect_probability * cadence.contact_probability
    return 1.0 - (1.0 - p) ** _call_touches(cadence)


def _source_leads_per_week(source: Source, scenario: Scenario) -> float:
    """Expected leads per week over the horizon: the weekly rate times the mean seasonal
    multiplier (each day weighted by its hours inside the horizon), plus bursts spread evenly."""
    n_days = math.ceil(scenario.horizon / 24.0)
    months = source.seasonality.by_month
    iso_weeks = source.seasonality.by_week
    multipliers = []
    for d in range(n_days):
        day = scenario.start_date + dt.timedelta(days=d)
        multipliers.append(months.get(day.month, 1.0) * iso_weeks.get(day.isocalendar().week, 1.0))
    hours = np.clip(scenario.horizon - 24.0 * np.arange(n_days), 0.0, 24.0)
    season = float(np.average(multipliers, weights=hours))
    bursts = sum(b.leads for b in source.bursts) * WEEK / scenario.horizon
    return source.rate_per_week * season + bursts


def scenario_rates(scenario: Scenario) -> WaterfallRates:
    """The nominal rates a spreadsheet would read off a scenario, for a lead of average quality.

    - deal value: the mean of ``ae.deal_value``; win rate ``ae.win.probability``; valid rate
      ``ae.acceptance.probability``;
    - lead -> MQL: each source's normal score tail above ``scoring.threshold``, weighted by its
      expected leads per week;
    - MQL -> SQL: P(contact within the cadence) (:func:`contact_share`) x the ``qualified``
      outcome probability.

    Left out on purpose (this is what the simulation adds): rep capacity and waiting,
    speed-to-lead decay of contact and qualification, lead quality (better MQLs qualify, are
    accepted and win more often), follow-ups, callbacks and re-MQLs from nurture, AE capacity.
    """
    ae = scenario.ae
    weights = [_source_leads_per_week(s, scenario) for s in scenario.sources]
    shares = [mql_share(s.score, scenario.scoring.threshold) for s in scenario.sources]
    total = sum(weights)
    mql = sum(w * s for w, s in zip(weights, shares, strict=True)) / total if total else math.nan
    qualified = scenario.outcomes.probabilities.qualified
    return WaterfallRates(
        deal_value=ae.deal_value.mean,
        win_rate=ae.win.probability,
        valid_rate=ae.acceptance.probability,
        sql_rate=contact_share(scenario.cadence) * qualified,
        mql_rate=mql,
    )


def reverse_waterfall_for(scenario: Scenario, revenue_target: float) -> pd.DataFrame:
    """:func:`reverse_waterfall` with the scenario's nominal rates (:func:`scenario_rates`),
    spread over the scenario's horizon in weeks.

    The spreadsheet's blind spots, which the simulation fills in: it ignores speed-to-lead
    decay and rep capacity (every MQL is called at once, as often as the cadence says), so its
    MQL -> SQL rate is what a team with unlimited time would get; and it uses the rates of an
    average lead, although better leads are the ones that qualify and win.
    """
    r = scenario_rates(scenario)
    return reverse_waterfall(
        revenue_target,
        deal_value=r.deal_value,
        win_rate=r.win_rate,
        valid_rate=r.valid_rate,
        sql_rate=r.sql_rate,
        mql_rate=r.mql_rate,
        weeks=scenario.horizon / WEEK,
    )


# --------------------------------------------------------------------------- forward funnel


def _outbound_row(out: Outbound, scenario: Scenario) -> dict[str, object]:
    """The outbound list as one more source: accounts per week, every one researched and
    worked (no threshold), at the outbound cadence's nominal odds."""
    weeks = scenario.horizon / WEEK
    months = scenario.horizon / WEEK * 7.0 / (365.25 / 12.0)
    accounts = (out.accounts.initial + out.accounts.added_per_month * months) / weeks
    return {
        "source": out.accounts.name,
        "motion": "outbound",
        "leads_per_week": accounts,
        "mql_rate": 1.0,
        "mql_to_sql": contact_share(out.cadence) * out.outcomes.probabilities.qualified,
    }


def spreadsheet_funnel(scenario: Scenario) -> pd.DataFrame:
    """The forward spreadsheet funnel: expected weekly leads, MQLs, SQLs, valid opportunities,
    wins and won value, by source and in total, with unlimited capacity and no decay.

    Why: it is the baseline the simulation is measured against; any gap is the work of what it
    leaves out (see :func:`scenario_rates`: capacity, decay, quality, recycling, ramp). Leads per
    week are the expectation over the horizon (seasonality and bursts included). An outbound
    list, if any, is a row of its own: every account worked (no threshold, no research limit) at
    the outbound cadence's odds, accounts per week spread over the horizon. Rates are the
    nominal ones of an average lead.
    """
    rates = scenario_rates(scenario)
    rows: list[dict[str, object]] = [
        {
            "source": s.name,
            "motion": "inbound",
            "leads_per_week": _source_leads_per_week(s, scenario),
            "mql_rate": mql_share(s.score, scenario.scoring.threshold),
            "mql_to_sql": rates.sql_rate,
        }
        for s in scenario.sources
    ]
    if scenario.outbound is not None:
        rows.append(_outbound_row(scenario.outbound, scenario))
    frame = pd.DataFrame(rows)
    frame["mqls_per_week"] = frame["leads_per_week"] * frame["mql_rate"]
    frame["sqls_per_week"] = frame["mqls_per_week"] * frame["mql_to_sql"]
    frame["sql_to_valid"] = rates.valid_rate
    frame["valid_per_week"] = frame["sqls_per_week"] * rates.valid_rate
    frame["win_rate"] = rates.win_rate
    frame["won_per_week"] = frame["valid_per_week"] * rates.win_rate
    frame["won_value_per_week"] = frame["won_per_week"] * rates.deal_value
    total = {"source": "total", "motion": "all"}
    for col in ("leads_per_week", "mqls_per_week", "sqls_per_week", "valid_per_week"):
        total[col] = frame[col].sum()
    for col in ("won_per_week", "won_value_per_week"):
        total[col] = frame[col].sum()
    frame = pd.concat([frame, pd.DataFrame([total])], ignore_index=True)
    last = frame.index[-1]
    frame.loc[last, "mql_rate"] = _ratio(total["mqls_per_week"], total["leads_per_week"])
    frame.loc[last, "mql_to_sql"] = _ratio(total["sqls_per_week"], total["mqls_per_week"])
    frame.loc[last, "sql_to_valid"] = _ratio(total["valid_per_week"], total["sqls_per_week"])
    frame.loc[last, "win_rate"] = _ratio(total["won_per_week"], total["valid_per_week"])
    return frame[
        [
            "source",
            "motion",
            "leads_per_week",
            "mql_rate",
            "mqls_per_week",
            "mql_to_sql",
            "sqls_per_week",
            "sql_to_valid",
            "valid_per_week",
            "win_rate",
            "won_per_week",
            "won_value_per_week",
        ]
    ]


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator) / float(denominator) if denominator else math.nan


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
    from ..model import WorkCalendar

    cal = WorkCalendar(scenario)
    hours = np.minimum(cal.close, scenario.horizon) - cal.open
    worked = float(np.clip(hours, 0.0, None)[cal.working].sum())
    open_per_week = worked / (scenario.horizon / WEEK)
    days_per_year = float(cal.working.sum()) * (365.25 * 24.0 / scenario.horizon)
    leave = min(1.0, scenario.sdr.pto_days_per_year / days_per_year) if days_per_year else 0.0
    return open_per_week, (1.0 - scenario.sdr.shrinkage) * (1.0 - leave)


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
    mqls = float(funnel.loc[funnel["motion"] == "inbound", "mqls_per_week"].sum())
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
