"""Process logic on tiny scenarios, checked against event logs worked out by hand.

Clock: hours from Monday 2026-01-05 00:00; working hours Mon-Fri 09:00-18:00.
"""

from __future__ import annotations

import pytest
from conftest import build, outcome_only

import simfunnel

DAY = 24.0


def log(result: simfunnel.SimulationResult) -> list[tuple]:
    return [
        (round(t, 6), event, detail)
        for t, event, _lead, _rep, detail in result.data.trace
        if event != "mql"
    ]


def test_never_contacted_six_attempts_at_cadence_times_then_recycled() -> None:
    # Arrives Friday 17:30; Wednesday 14 Jan is a holiday.
    scenario = build(
        sources__0__bursts=[{"start": "2026-01-09 17:30", "leads": 1, "over": "0 h"}],
        calendar__holidays=["2026-01-14"],
        cadence__connect_probability=0,
        cadence__gap_unit="calendar",
    )
    result = simfunnel.simulate(scenario, seed=1, trace=True)
    expected_times = [
        4 * DAY + 17.5,  # Fri 17:30: a rep is free at once
        7 * DAY + 9,  # due Sat 17:30 (+1 day) -> Mon 09:00
        10 * DAY + 9,  # due Wed 09:00 (+2 days), a holiday -> Thu 09:00
        14 * DAY + 9,  # due Sat 09:00 (+2 days) -> Mon 09:00
        17 * DAY + 9,  # Thu 09:00 (+3 days)
        21 * DAY + 9,  # Mon 09:00 (+4 days)
    ]
    assert log(result) == [(t, "attempt", "no_connect") for t in expected_times] + [
        (21 * DAY + 9, "recycled", None)
    ]
    lead = result.leads.iloc[0]
    assert lead["end_state"] == "recycled"
    assert lead["attempts"] == 6
    assert result.totals["dials"] == 6
    assert result.totals["connects"] == 0
    assert result.totals["recycled"] == 1


def test_gaps_in_working_days_skip_weekends_and_holidays() -> None:
    # The same lead on the default gap unit of a Mon-Fri calendar: gaps of 1, 2, 2, 3, 4
    # working days from each attempt, at the same time of day (Wed 14 Jan is a holiday).
    scenario = build(
        sources__0__bursts=[{"start": "2026-01-09 17:30", "leads": 1, "over": "0 h"}],
        calendar__holidays=["2026-01-14"],
        cadence__connect_probability=0,
    )
    result = simfunnel.simulate(scenario, seed=1, trace=True)
    expected_times = [
        4 * DAY + 17.5,  # Fri 9 Jan 17:30
        7 * DAY + 17.5,  # +1 working day: Mon 12
        10 * DAY + 17.5,  # +2: Tue 13, (Wed 14 holiday), Thu 15
        14 * DAY + 17.5,  # +2: Fri 16, Mon 19
        17 * DAY + 17.5,  # +3: Tue 20, Wed 21, Thu 22
        23 * DAY + 17.5,  # +4: Fri 23, Mon 26, Tue 27, Wed 28
    ]
    assert log(result) == [(t, "attempt", "no_connect") for t in expected_times] + [
        (23 * DAY + 17.5, "recycled", None)
    ]


def test_connect_without_contact_counts_as_connect_not_contact() -> None:
    scenario = build(cadence__contact_probability=0, cadence__max_attempts=2, cadence__gaps=["1 h"])
    result = simfunnel.simulate(scenario, seed=1, trace=True)
    assert log(result) == [
        (10.0, "attempt", "connect"),
        (11.0, "attempt", "connect"),
        (11.0, "recycled", None),
    ]
    assert (result.totals["dials"], result.totals["connects"], result.totals["contacts"]) == (
        2,
        2,
        0,
    )
    # Rep time: 2 x (3 min connect + 5 min after-call work).
    assert result.data.sdr.busy_hours == pytest.approx(2 * 8 / 60)


def test_qualified_lead_is_tossed_up_accepted_and_won_at_hand_computed_times() -> None:
    result = simfunnel.simulate(build(), seed=1, trace=True)
    end_of_call = 10 + 15 / 60  # 10 min conversation + 5 min after-call work
    met = round(end_of_call + 2 * DAY, 6)  # meeting delay 2 days: accepted there
    closed = round(end_of_call + 32 * DAY, 6)  # then a 30-day sales cycle
    assert log(result) == [
        (10.0, "attempt", "contact"),
        (end_of_call, "outcome", "qualified"),
        (end_of_call, "ae_assign", None),  # unlimited AEs: no wait
        (met, "accepted", None),
        (closed, "won", None),
        (closed, "ae_release", None),
    ]
    lead = result.leads.iloc[0]

    def hours(ts) -> float:
        return (ts - result.scenario.start).total_seconds() / 3600

    assert hours(lead["tossed_up"]) == pytest.approx(end_of_call)
    assert hours(lead["valid_opportunity"]) == pytest.approx(end_of_call + 2 * DAY)
    assert hours(lead["closed"]) == pytest.approx(end_of_call + 32 * DAY)
    assert lead["end_state"] == "won"
    totals = result.totals
    assert (totals["sqls"], totals["valid_opportunities"], totals["won"]) == (1, 1, 1)
    assert totals["pipeline_value"] == totals["won_value"] == 10000


def test_rejected_by_ae() -> None:
    result = simfunnel.simulate(build(ae__acceptance={"probability": 0}), seed=1)
    assert result.leads.iloc[0]["end_state"] == "rejected"
    assert result.totals["valid_opportunities"] == 0


def test_sales_cycle_beyond_horizon_leaves_an_open_opportunity() -> None:
    result = simfunnel.simulate(build(ae__sales_cycle="100 days"), seed=1)
    assert result.leads.iloc[0]["end_state"] == "open_opportunity"
    assert result.totals["pipeline_value"] == 10000
    assert result.totals["won_value"] == 0


def test_postponed_lead_is_called_back_after_the_stated_delay() -> None:
    scenario = build(outcomes__probabilities=outcome_only("postponed"))
    result = simfunnel.simulate(scenario, seed=1, trace=True)
    callback = 10 + 30 * DAY  # Wed 4 Feb 10:00, a working time
    assert log(result) == [
        (10.0, "attempt", "contact"),
        (10 + 0.25, "outcome", "postponed"),
        (callback, "attempt", "contact"),
        (callback + 0.25, "outcome", "postponed"),  # max_callbacks = 1: no third call
    ]
    assert result.leads.iloc[0]["end_state"] == "postponed"


def test_information_gathering_gets_a_follow_up_cadence_two_weeks_later() -> None:
    scenario = build(outcomes__probabilities=outcome_only("information_gathering"))
    result = simfunnel.simulate(scenario, seed=1, trace=True)
    follow_up = 10 + 14 * DAY  # Mon 19 Jan 10:00
    assert log(result) == [
        (10.0, "attempt", "contact"),
        (10.25, "outcome", "information_gathering"),
        (follow_up, "attempt", "contact"),
        (follow_up + 0.25, "outcome", "information_gathering"),
    ]
    assert result.leads.iloc[0]["end_state"] == "information_gathering"
    # two conversations judged worth following up, but one nurture lead
    assert result.weekly["information_gathering"].sum() == 2
    assert result.totals["nurture_leads"] == 1
    assert result.weekly["nurture_leads"].sum() == 1


@pytest.mark.parametrize("outcome", ["no_prospect", "do_not_call"])
def test_closed_outcomes_end_the_lead(outcome: str) -> None:
    result = simfunnel.simulate(
        build(outcomes__probabilities=outcome_only(outcome)), seed=1, trace=True
    )
    assert log(result) == [(10.0, "attempt", "contact"), (10.25, "outcome", outcome)]
    assert result.leads.iloc[0]["end_state"] == outcome


def test_lead_below_threshold_goes_to_nurture_and_is_never_called() -> None:
    result = simfunnel.simulate(build(scoring__threshold=90), seed=1, trace=True)
    assert result.data.trace == []
    assert result.leads.iloc[0]["end_state"] == "nurture"
    assert result.totals["below_threshold"] == 1


def test_lead_arriving_at_night_waits_for_opening_time() -> None:
    scenario = build(sources__0__bursts=[{"start": "2026-01-06 23:00", "leads": 1, "over": "0 h"}])
    result = simfunnel.simulate(scenario, seed=1, trace=True)
    assert log(result)[0] == (2 * DAY + 9, "attempt", "contact")  # Wed 09:00
    assert result.speed_to_lead["mean_h"] == pytest.approx(10.0)


def _three_leads(rule: str) -> list[tuple[float, int]]:
    """Leads A (09:00, score 70), B (09:30, 90), C (10:30, 80); one rep, 1-hour dials, never connecting."""
    sources = [
        {
            "name": name,
            "rate_per_week": 0,
            "bursts": [{"start": f"2026-01-05 {hh}", "leads": 1, "over": "0 h"}],
            "score": {"mean": score, "sd": 0},
        }
        for name, hh, score in (("A", "09:00", 70), ("B", "09:30", 90), ("C", "10:30", 80))
    ]
    scenario = build(
        sources=sources,
        sdr__queue_rule=rule,
        cadence__connect_probability=0,
        cadence__max_attempts=3,
        cadence__gaps=["1 h"],
        cadence__durations__no_connect="1 h",
        cadence__durations__after_call_work="0 min",
    )
    result = simfunnel.simulate(scenario, seed=1, trace=True)
    names = result.leads["source"].astype(str).tolist()
    return [(t, names[lead]) for t, event, lead, _, _ in result.data.trace if event == "attempt"][
        :4
    ]


def test_queue_rule_fifo_calls_the_oldest_ready_lead() -> None:
    # At 11:00 A's retry (ready 10:00) is older than C (10:30) and B's retry (11:00).
    assert _three_leads("fifo") == [(9.0, "A"), (10.0, "B"), (11.0, "A"), (12.0, "C")]


def test_queue_rule_new_first_calls_new_mqls_before_retries() -> None:
    assert _three_leads("new_first") == [(9.0, "A"), (10.0, "B"), (11.0, "C"), (12.0, "A")]


def test_queue_rule_score_calls_the_highest_score_first() -> None:
    # B (score 90) outranks C (80) and A (70) each time its retry comes due, at 11:00 and
    # 12:00 (the retry timer, set when the attempt started, fires before the rep is free).
    assert _three_leads("score") == [(9.0, "A"), (10.0, "B"), (11.0, "B"), (12.0, "B")]


def test_shrinkage_removes_its_share_of_on_phone_hours() -> None:
    scenario = build(horizon="1 week", sdr__headcount=2, sdr__shrinkage=0.25)
    result = simfunnel.simulate(scenario, seed=1)
    assert result.data.sdr.available_hours == pytest.approx(5 * 9 * 0.75 * 2)


def test_shrinkage_block_is_not_worked() -> None:
    # One rep, shrinkage 1/3 of a 9-hour day: the block sits mid-day, 12:00-15:00.
    scenario = build(
        sdr__shrinkage=1 / 3,
        sources__0__bursts=[{"start": "2026-01-05 12:30", "leads": 1, "over": "0 h"}],
    )
    result = simfunnel.simulate(scenario, seed=1, trace=True)
    assert log(result)[0] == (15.0, "attempt", "contact")


def test_a_new_lead_wakes_an_idle_rep_on_shift_before_one_whose_block_has_started() -> None:
    # Two SDRs, half their day off the phones in staggered blocks: rep 1 10:07:30-14:37:30,
    # rep 2 12:22:30-16:52:30. Both are idle from 09:00. A lead at 15:00 is called at once by
    # rep 1, not left waiting for rep 2's block to end at 16:52:30.
    scenario = build(
        sdr__headcount=2,
        sdr__shrinkage=0.5,
        sources__0__bursts=[{"start": "2026-01-05 15:00", "leads": 1, "over": "0 h"}],
    )
    result = simfunnel.simulate(scenario, seed=1, trace=True)
    assert log(result)[0] == (15.0, "attempt", "contact")
    assert result.data.trace[1][3] == 0  # rep 1
