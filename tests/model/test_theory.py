"""The engine against theory: Erlang C, Little's law, Poisson arrivals and binomial conversions.

Tolerances come from the sample size: a binomial or Poisson count within Z standard errors of its
expectation, and queue statistics within Z batch-means standard errors (waits in a queue are
autocorrelated, so the naive standard error would be too small). Seeds are fixed; Z = 4 makes a
false alarm about 1 in 16,000 per check.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math

import numpy as np
import pytest
from conftest import TINY, build, outcome_only
from scipy import stats

import simfunnel
from simfunnel.decisions import erlang_c, mmc_mean_wait
from simfunnel.model import Decay, WorkCalendar
from simfunnel.scenario import DEFAULT_CONTACT_DECAY, DEFAULT_QUALIFY_DECAY

Z = 4.0


def mmc(
    arrivals_per_hour: float, mean_service_h: float, servers: int, weeks: int, **changes: object
) -> simfunnel.Scenario:
    """M/M/c: 24/7, Poisson MQLs, one attempt that always reaches the person, exponential talk time."""
    return build(
        horizon=f"{weeks} weeks",
        calendar="24/7",
        sources=[
            {
                "name": "poisson",
                "rate_per_week": arrivals_per_hour * 168,
                "score": {"mean": 80, "sd": 0},
            }
        ],
        scoring__threshold=0,
        sdr={"headcount": servers, "shrinkage": 0},
        cadence__max_attempts=1,
        cadence__gaps=[],
        cadence__durations={
            "no_connect": "0 min",
            "connect": "0 min",
            "conversation": {"dist": "exponential", "mean": f"{mean_service_h} h"},
            "after_call_work": "0 min",
        },
        outcomes__probabilities=outcome_only("no_prospect"),
        **changes,
    )


def batch_means(values: np.ndarray, batches: int = 30) -> tuple[float, float]:
    """Mean and its standard error from the means of consecutive batches."""
    parts = np.array_split(values, batches)
    means = np.array([p.mean() for p in parts])
    return float(values.mean()), float(means.std(ddof=1) / math.sqrt(batches))


def test_erlang_c_matches_published_table_values() -> None:
    # Textbook values (e.g. Gross & Harris): C(2, 1) = 1/3; C(5, 4) = 0.5541; C(10, 8) = 0.4092.
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert erlang_c(5, 4.0) == pytest.approx(0.5541, abs=5e-5)
    assert erlang_c(10, 8.0) == pytest.approx(0.4092, abs=5e-5)
    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: P(wait) = rho


@pytest.fixture(scope="module")
def mmc_run() -> tuple[simfunnel.SimulationResult, float, float, int]:
    lam, service, c = 4.0, 1.0, 5  # a = 4 Erlangs on 5 reps: rho = 0.8
    return simfunnel.simulate(mmc(lam, service, c, weeks=40), seed=7), lam, 1 / service, c


def _waits(result: simfunnel.SimulationResult, warmup_h: float = 168.0) -> np.ndarray:
    leads = result.data.leads
    keep = (leads.arrival > warmup_h) & ~np.isnan(result.data.first_attempt)
    return (result.data.first_attempt - leads.arrival)[keep]


def test_mmc_mean_wait_matches_erlang_c(mmc_run) -> None:
    result, lam, mu, c = mmc_run
    waits = _waits(result)
    mean, se = batch_means(waits)
    theory = mmc_mean_wait(lam, mu, c)
    assert len(waits) > 20_000
    assert abs(mean - theory) < Z * se, (mean, theory, se)


def test_mmc_probability_of_waiting_matches_erlang_c(mmc_run) -> None:
    result, lam, mu, c = mmc_run
    waited = (_waits(result) > 0).astype(float)
    share, se = batch_means(waited)
    theory = erlang_c(c, lam / mu)
    assert abs(share - theory) < Z * se, (share, theory, se)


def test_mmc_queue_length_level_matches_littles_law_with_erlang_wait(mmc_run) -> None:
    # The time-weighted backlog level is measured by the engine independently of the waits.
    result, lam, mu, c = mmc_run
    weekly = result.weekly["backlog_mean"].to_numpy()[1:]  # drop the warm-up week
    mean, se = batch_means(weekly, batches=13)
    theory = lam * mmc_mean_wait(lam, mu, c)  # Lq = lambda Wq
    assert abs(mean - theory) < Z * se, (mean, theory, se)


def test_mmc_utilisation_is_offered_load_per_rep(mmc_run) -> None:
    result, lam, mu, c = mmc_run
    busy = (
        result.weekly["busy_hours"].to_numpy()[1:] / result.weekly["available_hours"].to_numpy()[1:]
    )
    mean, se = batch_means(busy, batches=13)
    assert abs(mean - lam / (mu * c)) < Z * se


def test_littles_law_backlog_level_equals_arrival_rate_times_wait(saas_dict) -> None:
    """On any run: time-average untouched backlog = MQL rate x mean time untouched (censored at the end)."""
    scenario = build(saas_dict, horizon="8 weeks", sources__2__bursts=[])
    result = simfunnel.simulate(scenario, seed=3)
    horizon = result.scenario.horizon
    mql = result.data.mql
    arrival = result.data.leads.arrival[mql]
    first = np.nan_to_num(result.data.first_attempt[mql], nan=horizon)
    waits = np.minimum(first, horizon) - arrival
    lam = mql.sum() / horizon
    assert result.backlog["mean"] == pytest.approx(lam * waits.mean(), rel=1e-9)
    assert result.backlog["at_end"] == result.speed_to_lead["never_attempted"]


def _binomial_ok(successes: int, trials: int, p: float) -> bool:
    sd = math.sqrt(trials * p * (1 - p))
    return abs(successes - trials * p) <= Z * sd


@pytest.fixture(scope="module")
def no_decay_run():
    data = dict(TINY)
    scenario = build(
        data,
        horizon="12 weeks",
        sources=[
            {
                "name": "web",
                "rate_per_week": 600,
                "score": {"mean": 50, "sd": 10, "reliability": 0.6},
                "quality": {"mean": 0, "sd": 1},
            }
        ],
        scoring__threshold=55,
        sdr__headcount=6,
        cadence__connect_probability=0.4,
        cadence__contact_probability=0.5,
        cadence__gaps=["1 day"],
        outcomes={
            "probabilities": {
                "qualified": 0.3,
                "information_gathering": 0.2,
                "postponed": 0.1,
                "no_prospect": 0.3,
                "do_not_call": 0.1,
            },
            "quality_effect": {
                "qualified": 0,
                "information_gathering": 0,
                "postponed": 0,
                "no_prospect": 0,
                "do_not_call": 0,
            },
        },
    )
    return simfunnel.simulate(scenario, seed=11)


def test_connects_and_contacts_are_binomial(no_decay_run) -> None:
    t = no_decay_run.totals
    assert t["dials"] > 5_000
    assert _binomial_ok(t["connects"], t["dials"], 0.4)
    assert _binomial_ok(t["contacts"], t["connects"], 0.5)


def test_outcomes_after_contact_are_multinomial(no_decay_run) -> None:
    weekly = no_decay_run.weekly
    contacts = no_decay_run.totals["contacts"]
    qualified = no_decay_run.data.sdr.weekly["qualified"].sum()
    assert _binomial_ok(int(qualified), contacts, 0.3)
    for name, p in (
        ("information_gathering", 0.2),
        ("postponed", 0.1),
        ("no_prospect", 0.3),
        ("do_not_call", 0.1),
    ):
        assert _binomial_ok(int(weekly[name].sum()), contacts, p), name


def test_mql_count_is_binomial_in_the_score_tail(no_decay_run) -> None:
    t = no_decay_run.totals
    p = stats.norm.sf((55 - 50) / 10)
    assert _binomial_ok(t["mqls"], t["leads"], p)


def test_lead_count_is_poisson(no_decay_run) -> None:
    expected = 600 * 12
    assert abs(no_decay_run.totals["leads"] - expected) <= Z * math.sqrt(expected)


def test_score_is_a_signal_of_quality_with_the_configured_reliability(no_decay_run) -> None:
    leads = no_decay_run.leads
    r = np.corrcoef(leads["score"], leads["quality"])[0, 1]
    se = 1 / math.sqrt(len(leads) - 3)  # Fisher z standard error
    assert abs(math.atanh(r) - math.atanh(0.6)) < Z * se


def _expected_leads(scenario: simfunnel.Scenario, source: int, hours: np.ndarray) -> float:
    """Poisson mean over the given clock hours: weekly rate spread by the office-hours profile.

    The profile puts ``office_hours_share`` of the volume in working time, the rest outside,
    keeping the mean rate; ``F`` is the share of all hours that are working time.
    """
    src = scenario.sources[source]
    open_frac = WorkCalendar(scenario).open_fraction_by_hour()
    big_f = open_frac.mean()
    s = src.office_hours_share
    f = open_frac[hours]
    dates = [scenario.start_date + dt.timedelta(hours=int(h)) for h in hours]
    season = np.array([src.seasonality.by_month.get(d.month, 1.0) for d in dates])
    profile = f * s / big_f + (1 - f) * (1 - s) / (1 - big_f)
    return float((src.rate_per_week / 168 * season * profile).sum())


def test_office_hours_share_of_arrivals(saas_dict) -> None:
    scenario = build(saas_dict, horizon="12 weeks", sources__2__bursts=[])
    result = simfunnel.simulate(scenario, seed=5)
    leads = result.data.leads
    web = leads.arrival[leads.source == 0]
    open_frac = WorkCalendar(scenario).open_fraction_by_hour()
    inside = int((open_frac[web.astype(int)] > 0).sum())  # 09:00-18:00 are whole hours
    assert _binomial_ok(inside, len(web), 0.75)


def test_seasonality_and_bursts_add_the_expected_leads(saas_dict) -> None:
    # content_download runs at 0.8x in July; webinar has a 600-lead burst from 14 April.
    scenario = build(saas_dict)
    leads = simfunnel.simulate(scenario, seed=9).data.leads
    start = dt.datetime(2026, 1, 5)

    def hours_between(a: dt.datetime, b: dt.datetime) -> np.ndarray:
        return np.arange(
            int((a - start).total_seconds() // 3600), int((b - start).total_seconds() // 3600)
        )

    july = hours_between(dt.datetime(2026, 7, 1), dt.datetime(2026, 8, 1))
    content = leads.arrival[leads.source == 1]
    in_july = int(((content >= july[0]) & (content < july[-1] + 1)).sum())
    expected = _expected_leads(scenario, 1, july)
    assert expected == pytest.approx(550 / 7 * 31 * 0.8, rel=0.15)  # a July-size month at 0.8x
    assert abs(in_july - expected) <= Z * math.sqrt(expected)

    show = hours_between(dt.datetime(2026, 4, 14), dt.datetime(2026, 4, 17))
    webinar = leads.arrival[leads.source == 2]
    in_show = int(((webinar >= show[0]) & (webinar < show[-1] + 1)).sum())
    flow = _expected_leads(scenario, 2, show)
    assert abs(in_show - (600 + flow)) <= Z * math.sqrt(flow)  # the burst is exactly 600


def _average(decay: Decay, lo_h: float, hi_h: float, n: int = 2000) -> float:
    grid = np.linspace(lo_h, hi_h, n)
    return float(np.mean([decay(t) for t in grid]))


@pytest.mark.parametrize(
    ("connect", "contact", "attempts"),
    [(0.45, 0.55, 6), (0.3, 0.4, 6), (0.6, 0.6, 3), (1.0, 1.0, 1)],
)
def test_default_speed_to_lead_decay_is_shaped_on_published_figures(
    connect: float, contact: float, attempts: int
) -> None:
    """HBR 2011, read as measured: a lead answered in the first hour is ~7x as likely to be
    qualified as one answered in the second hour, and >60x as one answered after 24 h.

    The response time fixes the multipliers of the whole cadence, so the chance that a lead
    is qualified in its cadence, answered after t hours, is
    ``(1 - (1 - connect * contact * m_contact(t)) ** attempts) * m_qualify(t)`` (times the
    qualified share, which cancels in the ratios). Response times are uniform within each hour.
    """
    contact_m, qualify_m = Decay(DEFAULT_CONTACT_DECAY), Decay(DEFAULT_QUALIFY_DECAY)

    def qualified(t: float) -> float:
        reached = 1.0 - (1.0 - connect * contact * contact_m(t)) ** attempts
        return reached * qualify_m(t)

    first_hour = float(np.mean([qualified(t) for t in np.linspace(0.0, 1.0, 2001)]))
    second_hour = float(np.mean([qualified(t) for t in np.linspace(1.0, 2.0, 2001)]))
    assert 6.0 <= first_hour / second_hour <= 8.0
    assert first_hour / qualified(24.0) >= 60.0
    # Monotone: older leads never become easier to reach or to qualify.
    grid = np.geomspace(1e-3, 24 * 30, 200)
    for decay in (contact_m, qualify_m):
        values = [decay(t) for t in grid]
        assert all(a >= b for a, b in itertools.pairwise(values))
