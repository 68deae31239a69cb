"""The SDR-side recycle paths, by exact event logs: follow-ups, budget-period callbacks and replies
to the automated emails after failed calls. Clock: hours from Monday 2026-01-05 00:00."""

from __future__ import annotations

from conftest import build, outcome_only

import simfunnel

DAY = 24.0
CALL = 0.25  # 10 min conversation + 5 min after-call work
DIAL = 7 / 60  # 2 min no-connect + 5 min after-call work


def log(result, events=("attempt", "outcome", "recycled", "email_reply", "re_mql")) -> list:
    return [
        (round(t, 6), event, detail)
        for t, event, _lead, _rep, detail in result.data.trace
        if event in events
    ]


def test_information_gathering_is_followed_up_at_two_weeks_and_one_month() -> None:
    scenario = build(
        outcomes__probabilities=outcome_only("information_gathering"),
        outcomes__follow_ups=["14 days", "30 days"],
    )
    result = simfunnel.simulate(scenario, seed=0, trace=True)
    expected = []
    for day in (0, 14, 30):  # Mon 5 Jan, Mon 19 Jan, Wed 4 Feb, all at 10:00
        expected += [
            (day * DAY + 10, "attempt", "contact"),
            (day * DAY + 10 + CALL, "outcome", "information_gathering"),
        ]
    assert log(result) == expected
    assert result.end_states["information_gathering"] == 1


def test_postponed_to_the_next_budget_period_is_called_back_when_it_opens() -> None:
    """Budget periods start on 1 March, a Sunday: the callback cadence starts then and the
    first call is on Monday 2 March at 09:00 (day 56)."""
    scenario = build(
        horizon="10 weeks",
        outcomes__probabilities=outcome_only("postponed"),
        outcomes__budget_periods=["03-01", "09-01"],
        outcomes__budget_period_share=1,
    )
    result = simfunnel.simulate(scenario, seed=0, trace=True)
    assert log(result)[:4] == [
        (10.0, "attempt", "contact"),
        (10 + CALL, "outcome", "postponed"),
        (56 * DAY + 9, "attempt", "contact"),
        (56 * DAY + 9 + CALL, "outcome", "postponed"),
    ]


def test_a_reply_to_the_email_after_a_failed_call_brings_a_priority_call() -> None:
    """Reply 2 h after the email: called back at once; the retry due the next day is void."""
    scenario = build(
        cadence__connect_probability=0,
        cadence__max_attempts=3,
        cadence__gaps=["1 day"],
        cadence__email_reply_probability=1,
        cadence__email_reply_after="2 h",
    )
    result = simfunnel.simulate(scenario, seed=0, trace=True)
    first = 10.0
    reply = first + DIAL + 2
    assert log(result)[:4] == [
        (first, "attempt", "no_connect"),
        (round(reply, 6), "email_reply", None),
        (round(reply, 6), "attempt", "no_connect"),
        (round(reply + DIAL + 2, 6), "email_reply", None),
    ]
    attempts = [t for t, event, _ in log(result) if event == "attempt"]
    assert DAY + 10 not in attempts  # the original retry never happened


def test_a_late_reply_is_ignored_if_the_lead_was_called_since_and_resumes_a_recycled_lead() -> None:
    scenario = build(
        cadence__connect_probability=0,
        cadence__max_attempts=2,
        cadence__gaps=["1 day"],
        cadence__email_reply_probability=1,
        cadence__email_reply_after="3 days",
    )
    result = simfunnel.simulate(scenario, seed=0, trace=True)
    assert log(result) == [
        (10.0, "attempt", "no_connect"),
        (DAY + 10, "attempt", "no_connect"),
        (DAY + 10, "recycled", None),
        # the reply to the first call (day 3) finds the lead called since: nothing happens
        (round(4 * DAY + 10 + DIAL, 6), "email_reply", None),  # reply to the last call
        # the cadence resumes with one call, not a new cadence: then recycled again, and the
        # email of that call gets no second chance, although every email is answered
        (round(4 * DAY + 10 + DIAL, 6), "attempt", "no_connect"),
        (round(4 * DAY + 10 + DIAL, 6), "recycled", None),
    ]
    assert result.totals["email_replies"] == 1
    assert result.leads.iloc[0]["attempts"] == 3


def test_certain_replies_to_recycled_leads_end() -> None:
    """At reply probability 1 every lead gets at most one call after its cadence ends (the
    older engine called such a lead for ever: 597 replies for one lead in a year)."""
    scenario = build(
        cadence__connect_probability=0,
        cadence__max_attempts=3,
        cadence__gaps=["1 day"],
        cadence__email_reply_probability=1,
        cadence__email_reply_after="1 day",
        horizon="52 weeks",
    )
    result = simfunnel.simulate(scenario, seed=0, trace=True)
    # touches: 3 in the cadence (each reply brings the next one forward), plus one late call
    assert result.leads.iloc[0]["attempts"] <= 4
    assert result.totals["email_replies"] <= 3
