"""Starting from today's funnel: a lead table (CSV) of open leads and opportunities seeds the run."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import TINY, build
from scipy import integrate, stats
from test_engine import check_invariants

import simfunnel

DAY = 24.0


def empty(**changes) -> simfunnel.Scenario:
    """TINY with no arriving leads: only what the snapshot brings."""
    return build(sources__0__bursts=[], sources__0__rate_per_week=0, **changes)


def opportunities(n: int, scenario: simfunnel.Scenario, open_days: float) -> pd.DataFrame:
    start = pd.Timestamp(scenario.start)
    return pd.DataFrame(
        {
            "source": ["one"] * n,
            "end_state": ["open_opportunity"] * n,
            "quality": 0.0,
            "valid_opportunity": [start - pd.Timedelta(days=open_days)] * n,
            "value": 1000.0,
        }
    )


def test_an_open_opportunity_closes_after_the_rest_of_its_cycle() -> None:
    """A fixed 30-day cycle, open 20 days at the start: it closes 10 days in, and counts as a
    win of the period but not as new pipeline."""
    scenario = empty(horizon="4 weeks")
    snap = simfunnel.read_snapshot(opportunities(5, scenario, open_days=20), scenario)
    result = simfunnel.simulate(scenario, seed=1, snapshot=snap)
    closed = result.leads["closed"]
    assert (closed == pd.Timestamp(scenario.start) + pd.Timedelta(days=10)).all()
    t = result.totals
    assert (t["won"], t["won_value"], t["carried_in"]) == (5, 5000.0, 5)
    assert (t["valid_opportunities"], t["pipeline_value"], t["leads"]) == (0, 0.0, 0)


def test_remaining_cycle_is_the_cycle_given_its_age() -> None:
    """Lognormal cycles (median 57 days, p90 106), each open 57 days: the mean time left must
    be E[X - a | X > a], integrated from the distribution; tolerance 4 standard errors."""
    n, age = 3000, 57.0
    scenario = empty(
        horizon="260 weeks",
        ae__sales_cycle={"dist": "lognormal", "median": "57 days", "p90": "106 days"},
    )
    snap = simfunnel.read_snapshot(opportunities(n, scenario, open_days=age), scenario)
    result = simfunnel.simulate(scenario, seed=2, snapshot=snap)
    left = (result.data.closed_at / DAY)[result.data.carried]
    assert not np.isnan(left).any()  # every one closed within the five years
    sigma = math.log(106 / 57) / stats.norm.ppf(0.9)
    dist = stats.lognorm(s=sigma, scale=57.0)
    tail = integrate.quad(lambda x: (x - age) * dist.pdf(x), age, np.inf)[0]
    expected = tail / dist.sf(age)
    se = left.std(ddof=1) / math.sqrt(n)
    assert abs(left.mean() - expected) < 4 * se, (left.mean(), expected, se)


def test_untouched_mqls_are_called_oldest_first_at_the_first_working_hour() -> None:
    scenario = empty(horizon="1 week", cadence__contact_probability=0, cadence__max_attempts=1)
    start = pd.Timestamp(scenario.start)
    table = pd.DataFrame(
        {
            "source": ["one", "one"],
            "end_state": ["untouched", "untouched"],
            "score": [80, 80],
            "arrived": [start - pd.Timedelta(hours=3), start - pd.Timedelta(hours=5)],
        }
    )
    snap = simfunnel.read_snapshot(table, scenario)
    result = simfunnel.simulate(scenario, seed=3, trace=True, snapshot=snap)
    attempts = [(t, lead) for t, event, lead, _r, _d in result.data.trace if event == "attempt"]
    older, newer = 0, 1  # the snapshot is taken in arrival order
    assert result.leads["arrived"].iloc[older] == start - pd.Timedelta(hours=5)
    # Monday 09:00, then after the first call: connected, 3 min, + 5 min after-call work.
    assert attempts == [(9.0, older), (pytest.approx(9.0 + 8 / 60), newer)]
    assert result.speed_to_lead["attempted"] == 0  # they became MQLs before the period


def test_a_run_continues_from_the_lead_table_of_another(saas_dict, tmp_path) -> None:
    """The end of an eight-week run, written as leads.csv, starts the next eight weeks: open
    leads carry on, and every row of the table is accounted for."""
    data = copy.deepcopy(saas_dict)
    data["sources"][2]["bursts"] = []
    data["ae"]["team"] = {"headcount": 6, "max_open_per_ae": 15}
    data["outbound"] = {
        "accounts": {"initial": 400, "added_per_month": 100},
        "bdr": {"headcount": 2},
        "cadence": {"connect_probability": 0.1, "contact_probability": 0.5},
        "outcomes": {"probabilities": data["outcomes"]["probabilities"]},
    }
    first = build(data, horizon="8 weeks")
    before = simfunnel.simulate(first, seed=4)
    path = tmp_path / "leads.csv"
    before.leads.to_csv(path, index=False)
    second = build(data, start_date="2026-03-02", horizon="8 weeks")
    snap = simfunnel.read_snapshot(path, second)
    after = simfunnel.simulate(second, seed=5, snapshot=snap, trace=True)
    check_invariants(after)
    t = after.totals
    assert t["carried_in"] == len(before.leads) == len(snap)
    carried = after.leads[after.leads["carried_in"]]
    # Snapshot rows keep their order by arrival, so row i is the i-th oldest of the table.
    was = before.leads.sort_values("arrived", kind="stable")["end_state"].astype(str).to_numpy()
    now = carried["end_state"].astype(str).to_numpy()
    closed = {"won", "lost", "rejected", "no_prospect", "do_not_call", "self_serve_won"}
    assert (now[np.isin(was, list(closed))] == was[np.isin(was, list(closed))]).all()
    assert set(now[was == "open_opportunity"]) <= {"open_opportunity", "won", "lost"}
    assert (was == "open_opportunity").sum() > 0 and (was == "on_list").sum() > 0
    # The accounts left on the list are researched first, before this period's new ones.
    researched = [lead for _t, e, lead, _r, _d in after.data.trace if e == "research"]
    n_list = int((was == "on_list").sum())
    assert set(researched[:n_list]) <= set(np.flatnonzero(after.data.carried).tolist())
    assert (
        after.reps.loc[after.reps["role"] == "ae", "deals_taken"].sum()
        >= (was == "open_opportunity").sum()
    )


BAD = {
    "unknown source": ({"source": ["nope"], "end_state": ["working"]}, "line 2: source"),
    "unknown state": ({"source": ["one"], "end_state": ["hot"]}, "line 2: end_state"),
    "on the list but inbound": ({"source": ["one"], "end_state": ["on_list"]}, "outbound"),
    "arrived after the start": (
        {"source": ["one"], "end_state": ["working"], "arrived": ["2026-06-01"]},
        "line 2: arrived: must not be after the start",
    ),
    "not a date": (
        {"source": ["one"], "end_state": ["working"], "arrived": ["yesterday"]},
        "line 2: arrived: not a date",
    ),
    "fractional attempts": (
        {"source": ["one"], "end_state": ["working"], "attempts": [1.5]},
        "line 2: attempts: must be a whole number",
    ),
    "missing column": ({"source": ["one"]}, "missing column 'end_state'"),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_a_bad_lead_table_names_file_line_and_column(case, tmp_path) -> None:
    columns, expected = BAD[case]
    path = tmp_path / "start.csv"
    pd.DataFrame(columns).to_csv(path, index=False)
    with pytest.raises(simfunnel.ScenarioError) as caught:
        simfunnel.read_snapshot(path, empty())
    (line,) = caught.value.problems
    assert line.startswith(f"{path}: ") and expected in line, line


def test_snapshot_and_warm_up_do_not_mix() -> None:
    cold_start = empty(horizon="2 weeks")
    warm = empty(horizon="2 weeks", warm_up="1 week")
    table = opportunities(1, cold_start, open_days=1)
    with pytest.raises(simfunnel.ScenarioError, match="use one or the other"):
        simfunnel.read_snapshot(table, warm)
    snap = simfunnel.read_snapshot(table, cold_start)
    with pytest.raises(ValueError, match="not both"):
        simfunnel.simulate(warm, snapshot=snap)


def test_the_command_line_starts_from_a_snapshot_and_reports_bad_cells(tmp_path, capsys) -> None:
    from simfunnel.cli import main

    scenario_file = tmp_path / "s.yaml"
    scenario_file.write_text(yaml.safe_dump(copy.deepcopy(TINY) | {"horizon": "2 weeks"}))
    scenario = simfunnel.load_scenario(scenario_file)
    good, bad = tmp_path / "open.csv", tmp_path / "bad.csv"
    opportunities(3, scenario, open_days=25).to_csv(good, index=False)
    pd.DataFrame({"source": ["one"], "end_state": ["hot"]}).to_csv(bad, index=False)
    assert main(["run", str(scenario_file), "--snapshot", str(good), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["totals"]["carried_in"] == 3 and report["totals"]["won"] == 3
    assert main(["run", str(scenario_file), "--snapshot", str(bad)]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"{bad}: line 2: end_state: unknown state")


def test_tiny_has_no_arrivals_in_empty() -> None:
    assert simfunnel.simulate(empty(), seed=0).totals["leads"] == 0
    assert TINY["sources"][0]["bursts"]  # the base scenario itself is untouched


def test_replications_start_from_the_snapshot_in_every_worker(tmp_path) -> None:
    scenario = empty(horizon="4 weeks", ae__sales_cycle={"dist": "exponential", "mean": "10 days"})
    snap = simfunnel.read_snapshot(opportunities(50, scenario, open_days=5), scenario)
    out = tmp_path / "reps"
    exp = simfunnel.run(scenario, reps=3, seed=9, workers=2, snapshot=snap, out=out, progress=False)
    totals = exp.totals[exp.totals["section"] == "totals"]
    won = totals[totals["metric"] == "won"].set_index("replication")["value"]
    for i in range(3):
        alone = simfunnel.simulate(scenario, seed=exp.seed_of(i), snapshot=snap)
        assert won[i] == alone.totals["won"] > 0
    assert exp.replay(1).totals["carried_in"] == 50
    other = simfunnel.read_snapshot(opportunities(49, scenario, open_days=5), scenario)
    with pytest.raises(Exception, match="snapshot"):
        simfunnel.run(scenario, reps=3, seed=9, workers=1, snapshot=other, out=out, progress=False)
