"""Parameter uncertainty: the scenario's `uncertainty` section, its draws, and forecast bands
that cover what is not known as well as the luck of the process.

What must hold: a scenario's entries change nothing unless draws are asked for; a draw is the
same for the same seed in any worker; draws follow their distribution (checked on many
draws, tolerances from the sample size); with draws a forecast's bands are wider and the
variance split names the parameters' share; fit writes entries for what it fitted and they
load; a bad entry is one line naming it.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import STEADY_FLOW, TINY, build, crm_dict
from scipy import stats

import simfunnel
from simfunnel.calibration import fit
from simfunnel.cli import main
from simfunnel.decisions import METRICS, forecast
from simfunnel.experiments import draw_for_seed, draw_parameters, off_centre
from simfunnel.results import write_exports
from simfunnel.scenario import (
    ScenarioError,
    load_scenario,
    resolve,
    scenario_from_dict,
    with_overrides,
)

Z = 4.0  # as in test_theory: a false alarm about 1 in 16,000

# A steady Poisson flow, ample SDRs and a short exponential sales cycle (as test_forecast's).
STEADY = {
    "horizon": "4 weeks",
    "warm_up": "1 week",
    **STEADY_FLOW,
}
# Wide on purpose: the rate known within a factor of about 1.6 (sigma 0.5), the win rate from
# 4 closed deals, acceptance from 10 tossed-up leads.
ENTRIES = [
    {"path": "sources[one].rate_per_week", "dist": "lognormal", "a": math.log(25), "b": 0.5,
     "basis": "a guess"},
    {"path": "ae.win.probability", "dist": "beta", "a": 2.5, "b": 2.5, "basis": "2 won of 4"},
    {"path": "ae.acceptance.probability", "dist": "beta", "a": 6.5, "b": 4.5,
     "basis": "6 of 10"},
]  # fmt: skip


def _steady(entries: list[dict] | None = None, **changes) -> simfunnel.Scenario:
    return build(
        **STEADY, **changes, uncertainty=copy.deepcopy(ENTRIES if entries is None else entries)
    )


def _weekly(result: simfunnel.SimulationResult) -> pd.DataFrame:
    return result.weekly.reset_index(drop=True)


# ----------------------------------------------------------------------------- (a) off: as before


def test_entries_change_nothing_without_draws() -> None:
    """Same seed, with and without an uncertainty section: the same run, draw for draw; and
    draws asked for on a scenario without entries change nothing either."""
    plain, uncertain = build(**STEADY), _steady()
    assert plain.uncertainty == () and len(uncertain.uncertainty) == 3
    a, b = simfunnel.simulate(plain, seed=5), simfunnel.simulate(uncertain, seed=5)
    pd.testing.assert_frame_equal(_weekly(a), _weekly(b))
    assert a.totals == b.totals
    c = simfunnel.simulate(plain, seed=5, draw_parameters=True)
    pd.testing.assert_frame_equal(_weekly(a), _weekly(c))
    runs = [simfunnel.run(s, reps=3, seed=2, workers=1, progress=False) for s in (plain, uncertain)]
    pd.testing.assert_frame_equal(runs[0].totals, runs[1].totals)
    assert not runs[1].draw_parameters


# ----------------------------------------------------------------------------- (b) reproducible


def test_draws_are_reproducible_and_leave_the_process_streams_alone() -> None:
    s = _steady()
    one, again = (simfunnel.simulate(s, seed=7, draw_parameters=True) for _ in range(2))
    pd.testing.assert_frame_equal(_weekly(one), _weekly(again))
    assert one.scenario == draw_for_seed(s, 7)  # the run holds the values it drew
    drawn = one.scenario
    assert drawn.uncertainty == ()  # drawn once: the values are now set
    assert drawn.sources[0].rate_per_week != 25 and drawn.ae.win.probability != 0.5
    # The process streams are those of a run without draws: running the drawn values as a
    # plain scenario with the same seed is the same run.
    plain = simfunnel.simulate(drawn, seed=7)
    pd.testing.assert_frame_equal(_weekly(one), _weekly(plain))
    others = {draw_for_seed(s, seed).ae.win.probability for seed in range(5)}
    assert len(others) == 5  # each seed its own draw


def test_draws_do_not_depend_on_the_number_of_workers() -> None:
    s = _steady()
    runs = [
        simfunnel.run(s, reps=4, seed=3, workers=w, progress=False, draw_parameters=True)
        for w in (1, 2)
    ]
    pd.testing.assert_frame_equal(runs[0].totals, runs[1].totals)
    pd.testing.assert_frame_equal(runs[0].long, runs[1].long)
    replayed = runs[1].replay(2)  # a replication replays alone with its draws
    row = runs[1].totals.query("replication == 2 and section == 'totals' and metric == 'leads'")
    assert replayed.totals["leads"] == row["value"].iloc[0]
    without = simfunnel.run(s, reps=4, seed=3, workers=1, progress=False)
    assert not runs[0].totals["value"].equals(without.totals["value"])


# ----------------------------------------------------------------------------- (c) distributions


def test_many_draws_follow_their_distributions() -> None:
    """1,000 draws: the beta's mean within Z standard errors of a / (a + b); the lognormal's
    median within the binomial tolerance of exp(mu); a drawn outcome probability leaves the
    five summing to 1 (the others scaled); a lognormal on a probability is clipped at 1."""
    a, b, n = 3.0, 7.0, 1000
    entries = [
        {"path": "ae.win.probability", "dist": "beta", "a": a, "b": b, "basis": "t"},
        {"path": "sources[one].rate_per_week", "dist": "lognormal", "a": math.log(40), "b": 0.3,
         "basis": "t"},
        {"path": "outcomes.probabilities.qualified", "dist": "lognormal", "a": math.log(0.6),
         "b": 0.5, "basis": "t"},
    ]  # fmt: skip
    s = build(
        **STEADY,
        outcomes__probabilities={"qualified": 0.6, "information_gathering": 0.1, "postponed": 0.1,
                                 "no_prospect": 0.15, "do_not_call": 0.05},
        uncertainty=entries,
    )  # fmt: skip
    rng = np.random.default_rng(11)
    draws = [draw_parameters(s, rng) for _ in range(n)]
    win = np.array([d.ae.win.probability for d in draws])
    mean, sd = a / (a + b), math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    print(f"beta({a:g}, {b:g}): mean of {n} draws {win.mean():.4f}, expected {mean:.4f}")
    assert abs(win.mean() - mean) < Z * sd / math.sqrt(n)
    assert abs(win.std(ddof=1) - sd) < Z * sd / math.sqrt(2 * (n - 1))  # normal approximation
    rate = np.array([d.sources[0].rate_per_week for d in draws])
    above = (rate > 40).mean()  # half of a lognormal lies above its median
    assert abs(above - 0.5) < Z * math.sqrt(0.25 / n)
    probs = [d.outcomes.probabilities for d in draws]
    qualified = np.array([p.qualified for p in probs])
    assert qualified.max() == 1.0 and qualified.min() > 0  # clipped into [0, 1]
    at_one = stats.norm.sf(math.log(1 / 0.6) / 0.5)  # P(lognormal > 1) = 0.153
    assert abs((qualified == 1).mean() - at_one) < Z * math.sqrt(at_one * (1 - at_one) / n)
    totals = [p.qualified + p.information_gathering + p.postponed + p.no_prospect + p.do_not_call
              for p in probs]  # fmt: skip
    assert np.allclose(totals, 1.0)
    ratios = [p.no_prospect / p.information_gathering for p in probs if p.qualified < 1]
    assert np.allclose(ratios, 1.5)  # the others keep their proportions


def test_a_set_value_drops_its_entry() -> None:
    """A value set by an override is known: its entry goes (a section set whole takes its
    entries with it); the others stay."""
    s = _steady()
    assert [e.path for e in with_overrides(s, {"ae.win.probability": 0.4}).uncertainty] == [
        "sources[one].rate_per_week",
        "ae.acceptance.probability",
    ]
    assert len(with_overrides(s, {"sources.0": s.sources[0].model_dump()}).uncertainty) == 2
    assert len(with_overrides(s, {"sdr.headcount": 4}).uncertainty) == 3
    assert resolve(s, "sources[0].rate_per_week").path == "sources.0.rate_per_week"


def test_a_value_switched_off_stays_off() -> None:
    """A rate set to 0 (a source replayed from its actual leads as bursts) is not drawn by a
    lognormal or gamma entry, which puts no weight on 0; the other entries still are."""
    s = build(**{**STEADY, "sources__0__rate_per_week": 0}, uncertainty=copy.deepcopy(ENTRIES))
    drawn = draw_for_seed(s, 4)
    assert drawn.sources[0].rate_per_week == 0 and drawn.ae.win.probability != 0.5


# ----------------------------------------------------------------------------- (d) the forecast


def test_forecast_bands_with_draws_are_wider_and_the_split_says_why() -> None:
    s = _steady()
    kw = {"reps": 19, "seed": 1, "workers": 1, "progress": False}
    drawn, fixed = forecast(s, **kw), forecast(s, parameter_draws=False, **kw)
    assert drawn.parameter_draws and not fixed.parameter_draws

    def width(f, metric: str) -> float:
        row = f.totals_table().set_index("metric").loc[metric]
        return float(row["p90"] - row["p10"])

    for metric in ("leads", "valid_opportunities", "won"):
        print(f"{metric}: 80% band width {width(drawn, metric):.0f} with draws, "
              f"{width(fixed, metric):.0f} without")  # fmt: skip
        assert width(drawn, metric) > width(fixed, metric)
    split = drawn.variance_split().set_index("metric")
    print(split)
    assert list(split.index) == list(METRICS)
    # The run without draws is the forecast's own process-only replications, same seeds.
    pd.testing.assert_frame_equal(drawn.process_only.totals, fixed.experiment.totals)
    assert split.loc["leads", "sd_process_only"] == pytest.approx(
        fixed.variance_split().set_index("metric").loc["leads", "sd_total"]
    )
    # Leads: Poisson over 4 weeks of 25 (sd 10) against a rate known within sigma 0.5 (an sd of
    # the total near 55): the parameters make most of it.
    assert split.loc["leads", "parameter_share"] > 0.5
    assert (split.loc[["valid_opportunities", "won"], "parameter_share"] > 0).all()
    assert (fixed.variance_split()["parameter_share"] == 0).all()
    assert "The bands include parameter uncertainty (3 uncertain values" in drawn.verdict
    assert "parameter share" in repr(drawn) and "process noise only" in repr(fixed)
    assert "held fixed (parameter draws off)" in fixed.verdict
    plain = forecast(build(**STEADY), **kw)
    assert not plain.parameter_draws and plain.process_only is None
    assert "The bands hold process noise only" in plain.verdict
    with pytest.raises(ValueError, match="parameter_draws must be True, False or None"):
        forecast(s, parameter_draws="yes", **kw)


def test_the_command_prints_the_split_and_can_switch_draws_off(tmp_path, capsys) -> None:
    data = copy.deepcopy(TINY)
    for key, value in STEADY.items():
        node = data
        *parents, last = key.split("__")
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[last] = value
    data["uncertainty"] = ENTRIES
    path = tmp_path / "uncertain.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    args = ["forecast", str(path), "--weeks", "2", "--reps", "3", "--workers", "1"]
    assert main([*args, "--out", str(tmp_path / "fc")]) == 0
    text = capsys.readouterr().out
    assert "The bands include parameter uncertainty" in text
    assert "Spread of the totals" in text and "parameter_share" in text
    assert (tmp_path / "fc" / "variance_split.csv").stat().st_size > 0
    assert main([*args, "--no-parameter-draws"]) == 0
    text = capsys.readouterr().out
    assert "process noise only" in text and "Spread of the totals" not in text


# ----------------------------------------------------------------------------- (e) fit writes them


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> dict:
    """Twelve weeks of a steady source, with calls and opportunities; a low qualification
    rate, so that the one fit derives without a call log stays below its cap of 1."""
    data = crm_dict("12 weeks")
    data["outcomes"]["probabilities"] = {
        "qualified": 0.15,
        "information_gathering": 0.2,
        "postponed": 0.1,
        "no_prospect": 0.45,
        "do_not_call": 0.1,
    }
    result = simfunnel.simulate(scenario_from_dict(data), seed=3, trace=True)
    return write_exports(result, tmp_path_factory.mktemp("export"))


def test_fit_writes_an_entry_for_each_fitted_rate_and_the_file_loads(export, tmp_path) -> None:
    cal = fit(export["leads"], export["calls"], export["opportunities"])
    entries = {e["path"]: e for e in cal.scenario_dict()["uncertainty"]}
    print(yaml.safe_dump(list(entries.values()), sort_keys=False))
    assert set(entries) == {
        "sources[web].rate_per_week",
        "outcomes.probabilities.qualified",
        "ae.acceptance.probability",
        "ae.win.probability",
    }
    rate = entries["sources[web].rate_per_week"]
    arrivals = cal.arrivals.set_index("source").loc["web"]
    assert rate["dist"] == "lognormal"
    assert rate["a"] == pytest.approx(math.log(round(arrivals["rate_per_week"], 3)), abs=1e-6)
    assert rate["b"] == pytest.approx(1 / math.sqrt(arrivals["leads"]), abs=1e-6)
    win = entries["ae.win.probability"]
    row = cal.conversion.query("stage == 'opportunity->won' and source == 'all'").iloc[0]
    assert (win["dist"], win["a"], win["b"]) == ("beta", row["k"] + 0.5, row["n"] - row["k"] + 0.5)
    qualified = entries["outcomes.probabilities.qualified"]
    assert qualified["dist"] == "beta" and "contacts" in qualified["basis"]
    written = load_scenario(cal.write_scenario(tmp_path / "fitted.yaml"))
    assert [e.path for e in written.uncertainty] == list(entries)
    assert "# UNCERTAINTY:" in (tmp_path / "fitted.yaml").read_text()
    drawn = draw_for_seed(written, 1)  # the entries draw into a valid scenario
    assert drawn.uncertainty == () and drawn.ae.win.probability != written.ae.win.probability


def test_fit_without_calls_derives_qualification_and_skips_what_the_user_set(export) -> None:
    """Without a call log the qualification rate is MQL->SQL over an assumed reach: lognormal
    about it with MQL->SQL's relative standard error. A value the user sets gets no entry."""
    cal = fit(export["leads"], None, export["opportunities"],
              overrides={"sources[web].rate_per_week": 70})  # fmt: skip
    entries = {e["path"]: e for e in cal.scenario_dict()["uncertainty"]}
    assert "sources[web].rate_per_week" not in entries
    qualified = entries["outcomes.probabilities.qualified"]
    written = cal.scenario_dict()["outcomes"]["probabilities"]["qualified"]
    assert qualified["dist"] == "lognormal" and 0 < written < 1
    assert qualified["a"] == pytest.approx(math.log(written), abs=1e-6)
    mql_sql = cal.conversion.query("stage == 'mql->sql' and source == 'all'").iloc[0]
    p = float(mql_sql["rate"])
    if math.isclose(p, mql_sql["k"] / mql_sql["n"]):
        expected = math.sqrt((1 - p) / mql_sql["k"])
    else:  # the cure-fraction rate: from its interval
        expected = (mql_sql["high"] - mql_sql["low"]) / (2 * 1.959963984540054) / p
    assert qualified["b"] == pytest.approx(expected, rel=1e-4)
    assert cal.scenario.uncertainty  # validates


# ----------------------------------------------------------------------------- (f) bad entries


@pytest.mark.parametrize(
    ("entry", "field", "words"),
    [
        ({"path": "ae.win.prob"}, "path", "ae.win has no field 'prob'"),
        ({"path": "sources[mail].rate_per_week"}, "path", "sources has no item 'mail'"),
        ({"path": "sdr.headcount"}, "path", "a whole number (a count)"),
        ({"path": "ae.sales_cycle"}, "path", "a distribution, not a number"),
        ({"path": "nurture.decay_per_week"}, "path", "nurture is not set"),
        ({"path": "sources[one].rate_per_week"}, "dist", "not a probability or share"),
        ({"a": 0}, "a", "must be above 0 for a beta"),
        ({"b": -1}, "b", "greater than 0"),
        ({"dist": "gamma", "a": -2}, "a", "must be above 0 for a gamma"),
        ({"dist": "lognormal", "b": 50}, "b", "sigma must be at most 10"),
        ({"dist": "normal"}, "dist", "'beta', 'gamma' or 'lognormal'"),
        ({"a": float("nan")}, "a", "finite"),
        ({"basis": None}, "basis", "valid string"),
    ],
)
def test_a_bad_entry_is_one_line_naming_it(entry: dict, field: str, words: str) -> None:
    good = {"path": "ae.win.probability", "dist": "beta", "a": 2, "b": 3, "basis": "t"}
    data = copy.deepcopy(TINY)
    data["uncertainty"] = [good, {**good, "path": "ae.acceptance.probability", **entry}]
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data, "bad.yaml")
    (line,) = err.value.problems
    print(line)
    assert "\n" not in line and line.startswith(f"bad.yaml: uncertainty[1].{field}: ")
    assert words in line


def test_two_entries_for_one_field_are_refused() -> None:
    data = copy.deepcopy(TINY)
    one = {"path": "sources[one].rate_per_week", "dist": "gamma", "a": 2, "b": 1, "basis": "t"}
    data["uncertainty"] = [one, {**one, "path": "sources.0.rate_per_week"}]
    with pytest.raises(ScenarioError, match=r"uncertainty\[1\]\.path: names the same field as "
                                            r"uncertainty\[0\]"):  # fmt: skip
        scenario_from_dict(data, "bad.yaml")


def test_an_entry_that_does_not_centre_on_the_stated_value_is_named() -> None:
    """Win probability stated 0.2 with an entry beta(25.5, 55.5) (median near 0.31, sd 0.05):
    the draws move the forecast's centre, and the verdict says so; the entries of
    :data:`ENTRIES` centre on their values (0.5, 0.6, 25) and are not named."""
    moved = [{"path": "ae.win.probability", "dist": "beta", "a": 25.5, "b": 55.5, "basis": "x"}]
    s = build(**{**STEADY, "ae__win": {"probability": 0.2}}, uncertainty=moved)
    ((path, centre, stated),) = off_centre(s)
    assert path == "ae.win.probability" and stated == 0.2
    assert centre == pytest.approx(stats.beta(25.5, 55.5).median())
    assert off_centre(_steady()) == []
    f = forecast(s, reps=3, seed=1, workers=1, progress=False)
    assert "NOTE: ae.win.probability centres on 0.313 where the scenario states 0.2" in f.verdict
