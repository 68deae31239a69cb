"""What the page shows, as plain data: figures written for a person, tiles, the funnel,
capacity, the band and the comparison, and the chart specs over them."""

from __future__ import annotations

import dataclasses
import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from app_scenarios import SMALL_PLAN, bundled

from simfunnel.app import charts, figures
from simfunnel.app.runs import outcome, replication
from simfunnel.app.settings import today
from simfunnel.base.units import format_duration


@pytest.fixture(scope="module")
def scenario():
    return bundled("mixed_inbound_outbound")


@pytest.fixture(scope="module")
def runs(scenario):
    option = dataclasses.replace(today(scenario), bdr=4, volume=1.2)
    return {
        name: outcome([replication(scenario, s, SMALL_PLAN, i) for i in range(SMALL_PLAN.reps)])
        for name, s in (("Today", today(scenario)), ("This option", option))
    }


def test_figures_are_written_by_their_unit(scenario) -> None:
    assert figures.value_text(scenario, "totals.won", 1234.6) == "1,235"
    assert figures.value_text(scenario, "utilisation.sdr", 0.4567) == "45.7%"
    assert figures.value_text(scenario, "speed_to_lead.median_h", 0.25) == format_duration(0.25)
    assert figures.value_text(scenario, "totals.won_value", 2_100_000.0) == "$2.1M"
    assert figures.value_text(scenario, "totals.won", math.nan) == "n/a"
    assert figures.change_text(scenario, "totals.won", 12.4, 200.0) == "+12 (+6.2%)"
    assert figures.change_text(scenario, "totals.won", -0.17, 111.0) == "-0.2 (-0.2%)"
    assert figures.change_text(scenario, "totals.won", 0.0, 111.0) == "+0 (+0.0%)"
    assert figures.change_text(scenario, "utilisation.sdr", -0.0351, 0.5) == "-3.5 pp"
    assert figures.change_text(scenario, "utilisation.sdr", -0.00001, 0.5) == "+0.0 pp"
    assert figures.change_text(scenario, "speed_to_lead.median_h", -1.5, 3.0) == "-1.5 h"
    assert figures.change_text(scenario, "totals.won_value", 120_000.0, 0.0) == "+$120K"


def test_no_figure_in_scientific_notation(scenario, runs) -> None:
    table = figures.comparison(scenario, runs, "Today")
    tiles = figures.tiles(scenario, runs["This option"], runs["Today"], same=False)
    texts = [*table.to_numpy().ravel(), *(t.value for t in tiles), *(t.delta for t in tiles)]
    assert not [t for t in texts if re.search(r"\de[+-]?\d", str(t))]


def test_tiles_show_the_option_and_its_change(scenario, runs) -> None:
    option, base = runs["This option"], runs["Today"]
    tiles = figures.tiles(scenario, option, base, same=False)
    assert [t.key for t in tiles] == list(figures.TILES)
    won = tiles[0]
    assert won.label == "Valid opportunities"
    assert won.value == f"{round(option.mean('totals.valid_opportunities')):,}"
    assert won.delta is not None and won.delta[0] in "+-"
    assert "95% interval" in won.note
    assert tiles[3].delta_color == "off"  # utilisation: neither up nor down is good
    same = figures.tiles(scenario, base, base, same=True)
    assert all(t.delta is None and t.delta_color == "off" and not t.arrow for t in same)
    # Today against itself as an option: every change is exactly nothing.
    flat = figures.tiles(scenario, base, base, same=False)
    assert all(t.delta == "no change" and not t.arrow for t in flat)


def test_funnel_counts_each_motion_from_leads_to_wins(runs) -> None:
    frame = figures.funnel(runs, outbound=True)
    inbound = frame[(frame["option"] == "Today") & (frame["motion"] == "inbound")]
    outbound = frame[(frame["option"] == "Today") & (frame["motion"] == "outbound")]
    assert list(inbound["stage"]) == figures.STAGE_LABELS
    assert "MQLs" not in set(outbound["stage"])  # accounts never were marketing leads
    counts = inbound["count"].to_numpy()
    assert (np.diff(counts[1:]) <= 0).all()  # from MQLs on, each stage is within the one before
    assert inbound["conversion"].iloc[1] == pytest.approx(counts[1] / counts[0])
    faceted = charts.funnel_spec(list(runs), outbound=True)
    assert faceted["facet"]["column"]["field"] == "motion"
    spec = faceted["spec"]
    assert "type" not in spec["encoding"]["y"].get("scale", {})  # linear, from 0
    assert spec["encoding"]["y"]["scale"]["zero"] is True
    used = {v["field"] for k, v in spec["encoding"].items() if k != "tooltip"}
    used |= {t["field"] for t in spec["encoding"]["tooltip"]}
    used |= {spec["layer"][1]["encoding"]["text"]["field"]}  # the conversion labels
    assert used <= set(frame.columns)
    json.dumps(spec)  # plain data


def test_capacity_has_every_team_the_scenario_has(runs) -> None:
    frame = figures.capacity(runs)
    assert set(frame["team"]) == {"SDR", "BDR", "AE"}
    assert frame["utilisation"].between(0, 1.0 + 1e-9).all()
    load = figures.weekly_load(runs["This option"])
    assert set(load["team"]) == {"SDR", "BDR", "AE"}
    assert len(load) == 3 * SMALL_PLAN.weeks


def test_band_is_the_quantiles_of_the_replications(scenario, runs) -> None:
    option, base = runs["This option"], runs["Today"]
    frame = figures.band(option, base, "sqls")
    assert len(frame) == SMALL_PLAN.weeks
    assert (frame["p10"] <= frame["p50"]).all() and (frame["p50"] <= frame["p90"]).all()
    week0 = option.weekly[(option.weekly["metric"] == "sqls") & (option.weekly["week"] == 0)]
    assert frame["p50"].iloc[0] == pytest.approx(week0["value"].median())
    assert pd.notna(frame["today"]).all()
    assert figures.band_note(scenario, option, "sqls").startswith("SQLs over 6 weeks: ")
    assert "$" in figures.band_note(scenario, option, "won_value")


def test_comparison_puts_options_side_by_side_with_paired_changes(scenario, runs) -> None:
    table = figures.comparison(scenario, runs, "Today")
    assert list(table.columns) == ["KPI", "Today", "This option", "This option: change"]
    rows = table.set_index("KPI")
    assert rows.loc["Inbound leads", "This option: change"].startswith("+")  # volume 120%
    assert "95%:" in rows.loc["SQLs", "This option: change"]
    assert "AE occupancy" in rows.index  # an AE team
    alone = figures.comparison(scenario, {"Today": runs["Today"]}, "Today")
    assert list(alone.columns) == ["KPI", "Today"]


def test_no_ae_rows_without_an_ae_team() -> None:
    scenario = bundled("launch_team")
    base = outcome([replication(scenario, today(scenario), SMALL_PLAN, 0)])
    table = figures.comparison(scenario, {"Today": base}, "Today")
    assert not [k for k in table["KPI"] if "AE" in k]
    assert set(figures.capacity({"Today": base})["team"]) == {"SDR"}
