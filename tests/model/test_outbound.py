"""Outbound prospecting: BDRs research target accounts and work them with calls and emails.

Clock: hours from Monday 2026-01-05 00:00; working hours Mon-Fri 09:00-18:00.
"""

from __future__ import annotations

import copy
import math
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from conftest import TINY, build

import simfunnel
from simfunnel.model import account_times

DAY = 24.0
MIN = 1 / 60

OUTBOUND = {
    "accounts": {"initial": 1},
    "bdr": {"headcount": 1, "shrinkage": 0},
    "research": "30 min",
    "goals": {},
    "cadence": {
        "max_attempts": 3,
        "email_touches": [2],
        "gaps": ["1 day"],
        "connect_probability": 0,
        "contact_probability": 0,
        "durations": {"no_connect": "2 min", "after_call_work": "3 min", "email": "5 min"},
    },
    "outcomes": {
        "probabilities": {
            "qualified": 0.2,
            "information_gathering": 0.2,
            "postponed": 0.2,
            "no_prospect": 0.2,
            "do_not_call": 0.2,
        },
        "quality_effect": dict.fromkeys(
            ("qualified", "information_gathering", "postponed", "no_prospect", "do_not_call"), 0
        ),
    },
}


def outbound(**changes) -> simfunnel.Scenario:
    """TINY (one inbound lead) plus an outbound section, with dotted-path changes."""
    data = copy.deepcopy(TINY)
    data["outbound"] = copy.deepcopy(OUTBOUND)
    return build(data, **changes)


def account_log(result: simfunnel.SimulationResult) -> list[tuple]:
    accounts = set(np.flatnonzero(~result.data.inbound).tolist())
    return [
        (round(t, 6), event, detail)
        for t, event, lead, _rep, detail in result.data.trace
        if lead in accounts
    ]


def test_research_then_call_email_call_at_cadence_times_then_recycled() -> None:
    result = simfunnel.simulate(outbound(), seed=1, trace=True)
    assert account_log(result) == [
        (9.0, "research", None),  # Monday 09:00: the BDR's first task
        (9.5, "attempt", "no_connect"),  # research took 30 min: first touch, a call
        (DAY + 9.5, "email", None),  # touch 2, one day later, is an email
        (2 * DAY + 9.5, "attempt", "no_connect"),  # touch 3, a call, the last
        (2 * DAY + 9.5, "recycled", None),
    ]
    t = result.totals
    assert (t["accounts"], t["accounts_researched"], t["emails"]) == (1, 1, 1)
    assert result.teams["bdr_dials"] == 2 and result.teams["sdr_dials"] >= 1
    row = result.leads[~result.data.inbound].iloc[0]
    assert row["source"] == "outbound" and row["end_state"] == "recycled"
    assert row["attempts"] == 3  # touches: two calls and an email
    assert math.isnan(row["score"])  # accounts are not scored against the MQL threshold
    bdr = result.data.desks["bdr"]
    assert bdr.busy_hours == pytest.approx(30 * MIN + 5 * MIN + 5 * MIN + 5 * MIN)


def test_a_reply_to_an_email_brings_a_call_even_where_an_email_was_next() -> None:
    scenario = outbound(
        outbound__cadence__max_attempts=4,
        outbound__cadence__email_touches=[2, 3],
        outbound__cadence__email_reply_probability=1,
        outbound__cadence__email_reply_after="2 h",
    )
    result = simfunnel.simulate(scenario, seed=1, trace=True)
    reply = DAY + 9.5 + 5 * MIN + 2
    assert account_log(result) == [
        (9.0, "research", None),
        (9.5, "attempt", "no_connect"),
        (DAY + 9.5, "email", None),
        (round(reply, 6), "email_reply", None),
        (round(reply, 6), "attempt", "no_connect"),  # touch 3 would be an email: a call instead
        (round(reply + DAY, 6), "attempt", "no_connect"),  # the reply voided the 57.5 h retry
        (round(reply + DAY, 6), "recycled", None),
    ]
    assert result.totals["email_replies"] == 1


def test_accounts_join_the_list_at_the_start_and_on_the_first_of_each_month() -> None:
    scenario = outbound(horizon="13 weeks", outbound__accounts={"initial": 5, "added_per_month": 3})
    times = account_times(scenario)
    # Starts Monday 5 Jan 2026: batches on 1 Feb (day 27), 1 Mar (day 55), 1 Apr (day 86).
    assert times.tolist() == [0.0] * 5 + [27 * DAY] * 3 + [55 * DAY] * 3 + [86 * DAY] * 3
    result = simfunnel.simulate(scenario, seed=2)
    assert result.totals["accounts"] == 14
    assert result.weekly["accounts_added"].tolist() == [5, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 0, 3]


def test_daily_research_quota_comes_before_due_touches() -> None:
    """With a quota of 3, each BDR-day starts with three researches while the list lasts;
    without one, due touches come first and research waits until nothing is due."""
    base = dict(
        horizon="2 weeks",
        outbound__accounts__initial=400,
        outbound__research="20 min",
        outbound__cadence__max_attempts=6,
        outbound__cadence__email_touches=[],
        outbound__cadence__gaps=["2 h"],
    )

    def first_tasks(quota: int) -> dict[int, list[str]]:
        scenario = outbound(**base, outbound__goals__new_accounts_per_day=quota)
        result = simfunnel.simulate(scenario, seed=3, trace=True)
        accounts = set(np.flatnonzero(~result.data.inbound).tolist())
        days: dict[int, list[str]] = {}
        for t, event, lead, _rep, _ in result.data.trace:
            if lead in accounts and event in ("research", "attempt"):
                days.setdefault(int(t // DAY), []).append(event)
        return days

    with_quota = first_tasks(3)
    assert len(with_quota) == 10  # ten working days
    for day, tasks in with_quota.items():
        assert tasks[:3] == ["research"] * 3, day
    without = first_tasks(0)
    assert without[1][0] == "attempt"  # Tuesday 09:00: yesterday's retries are due


def test_dials_goal_attainment_is_the_share_of_bdr_days_that_reached_it() -> None:
    scenario = outbound(
        horizon="2 weeks",
        outbound__accounts__initial=30,
        outbound__research="45 min",
        outbound__cadence__gaps=["3 h"],
        outbound__goals__dials_per_day=6,
    )
    result = simfunnel.simulate(scenario, seed=4, trace=True)
    accounts = set(np.flatnonzero(~result.data.inbound).tolist())
    per_day = Counter(
        int(t // DAY)
        for t, event, lead, _r, _d in result.data.trace
        if event == "attempt" and lead in accounts
    )
    working_days = [d for d in range(14) if d % 7 < 5]
    met = sum(per_day[d] >= 6 for d in working_days)
    assert 0 < met < len(working_days)  # the goal is neither trivial nor out of reach here
    assert result.teams["bdr_dials_goal_met"] == pytest.approx(met / len(working_days))
    assert math.isnan(simfunnel.simulate(outbound(), seed=4).teams["bdr_dials_goal_met"])


def test_bdr_time_never_exceeds_on_phone_hours_and_overtime_is_kept_apart() -> None:
    scenario = outbound(
        horizon="3 weeks",
        outbound__accounts__initial=1000,
        outbound__research={"dist": "exponential", "mean": "25 min"},
        outbound__bdr__headcount=3,
        outbound__bdr__shrinkage=0.3,
    )
    result = simfunnel.simulate(scenario, seed=5)
    reps = result.reps[result.reps["role"] == "bdr"]
    assert (reps["busy_hours"] <= reps["available_hours"] + 1e-9).all()
    assert result.teams["bdr_target_list_at_end"] > 0  # the list never ran dry...
    assert result.utilisations["bdr"] == pytest.approx(1.0)  # ...so BDRs were never idle
    assert result.teams["bdr_overtime_hours"] > 0  # tasks started near closing time ran over


def _z(count: int, n: int, p: float) -> float:
    return (count - n * p) / math.sqrt(n * p * (1 - p))


def test_outbound_connects_contacts_and_qualifications_are_binomial() -> None:
    """No speed-to-lead decay outbound: each dial connects with p, each connect reaches the
    person with q, each conversation qualifies with r (quality effects 0). |z| < 4 at a fixed seed."""
    p, q, r = 0.1, 0.4, 0.2
    scenario = outbound(
        horizon="4 weeks",
        outbound__accounts__initial=4000,
        outbound__bdr__headcount=6,
        outbound__research="5 min",
        outbound__cadence__connect_probability=p,
        outbound__cadence__contact_probability=q,
    )
    teams = simfunnel.simulate(scenario, seed=6).teams
    dials, connects, contacts = teams["bdr_dials"], teams["bdr_connects"], teams["bdr_contacts"]
    assert dials > 5000
    assert abs(_z(connects, dials, p)) < 4
    assert abs(_z(contacts, connects, q)) < 4
    assert abs(_z(teams["bdr_sqls"], contacts, r)) < 4


def test_adding_outbound_leaves_every_inbound_lead_unchanged(saas_dict) -> None:
    """Common random numbers: the SDR streams keep their names, so with unlimited AEs the inbound
    funnel is draw for draw the same with or without a BDR team beside it."""
    inbound = build(saas_dict, horizon="6 weeks", sources__2__bursts=[])
    data = copy.deepcopy(saas_dict)
    data["outbound"] = copy.deepcopy(OUTBOUND)
    data["outbound"]["accounts"] = {"initial": 300, "added_per_month": 100}
    data["outbound"]["bdr"]["headcount"] = 3
    data["outbound"]["cadence"]["connect_probability"] = 0.1
    data["outbound"]["cadence"]["contact_probability"] = 0.5
    both = build(data, horizon="6 weeks", sources__2__bursts=[])
    a = simfunnel.simulate(inbound, seed=7)
    b = simfunnel.simulate(both, seed=7)
    assert b.totals["sgls"] > 0 and b.by_motion["outbound_sqls"] > 0
    cols = ["source", "score", "arrived", "first_attempt", "attempts", "tossed_up", "closed"]
    cols += ["value", "end_state"]
    left = a.leads[cols].reset_index(drop=True)
    right = b.leads.loc[b.data.inbound, cols].reset_index(drop=True)
    left["source"] = left["source"].astype(str)
    right["source"] = right["source"].astype(str)
    pd.testing.assert_frame_equal(left, right)
    assert b.teams["sdr_dials"] == a.totals["dials"]


def test_sal_and_sgl_split_adds_up() -> None:
    scenario = outbound(
        horizon="6 weeks",
        sources__0__rate_per_week=200,
        sources__0__score={"mean": 70, "sd": 10},
        cadence__connect_probability=0.5,
        cadence__contact_probability=0.5,
        outbound__accounts__initial=400,
        outbound__bdr__headcount=2,
        outbound__cadence__connect_probability=0.2,
        outbound__cadence__contact_probability=0.5,
        outbound__cadence__email_touches=[2],
    )
    result = simfunnel.simulate(scenario, seed=8)
    t, m = result.totals, result.by_motion
    assert m["sals"] == t["sals"] > 0 and m["sgls"] == t["sgls"] > 0
    assert m["inbound_sqls"] + m["outbound_sqls"] == t["sqls"]
    assert m["inbound_won"] + m["outbound_won"] == t["won"]
    assert m["outbound_sqls"] == result.weekly["sqls_outbound"].sum()
    assert m["inbound_leads"] == t["leads"] and m["outbound_accounts"] == t["accounts"]
    funnel = result.funnel_by_source.set_index("source")
    assert funnel.loc["outbound", "motion"] == "outbound"
    assert funnel.loc["outbound", "contacted"] == t["contacted_outbound"] == m["outbound_contacted"]
    assert t["sgls"] == m["outbound_sqls"] and t["sals"] == m["inbound_sqls"]
    assert funnel["sqls"].sum() == t["sqls"]
