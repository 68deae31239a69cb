"""Every chart of one run renders to a PNG with real content, labelled axes and a title, and
says what the run's tables say (counts on the funnel bars, shares at the speed-to-lead marks);
and reads right: a linear funnel, volumes of different scale in panels of their own, legends clear
of the data, shares from 0, human words, money in the scenario's currency, one colour-blind-safe
palette (tests/chart_checks.py reads the drawn objects back)."""

from __future__ import annotations

import io
import math
import subprocess
import sys

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from chart_checks import (
    check_chart,
    check_shares_from_zero,
    data_axes,
    legend_texts,
    render,
    tick_texts,
    words,
)
from conftest import ROOT

import simfunnel
from simfunnel.decisions import Gap
from simfunnel.results import plots
from simfunnel.scenario import with_overrides

PLOTS = [plots.funnel, plots.weekly, plots.capacity, plots.speed_to_lead]


@pytest.fixture(scope="module")
def inbound() -> simfunnel.SimulationResult:
    scenario = simfunnel.load_scenario(ROOT / "scenarios" / "inbound_saas.yaml")
    short = with_overrides(scenario, {"horizon": "13 weeks", "sources.2.bursts": []})
    return simfunnel.simulate(short, seed=1)


@pytest.fixture(scope="module")
def mixed() -> simfunnel.SimulationResult:
    scenario = simfunnel.load_scenario(ROOT / "scenarios" / "mixed_inbound_outbound.yaml")
    return simfunnel.simulate(scenario, seed=1)


def colours(png: bytes) -> int:
    image = mpimg.imread(io.BytesIO(png))
    pixels = (image[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    return len(np.unique(pixels, axis=0))


@pytest.mark.parametrize("which", ["inbound", "mixed"])
@pytest.mark.parametrize("plot", PLOTS, ids=lambda f: f.__name__)
def test_every_plot_renders_with_content_and_labels(plot, which, request) -> None:
    result = request.getfixturevalue(which)
    out, png, ax = render(lambda ax: plot(result, ax=ax))
    assert out is ax  # the axes given come back
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    n_colours = colours(png)
    print(f"{plot.__name__}[{which}]: {len(png):,} bytes, {n_colours} colours")
    assert len(png) > 15_000
    assert n_colours > 30
    check_chart(ax)
    drawn = sum(len(a.patches) + len(a.lines) + len(a.collections) for a in data_axes(ax))
    assert drawn >= 3
    for panel in data_axes(ax):  # each panel says what it shows: its title or an axis label
        assert panel.get_title(loc="left") or panel.get_ylabel() or panel.get_xlabel(), panel


def test_plots_make_their_own_figure_and_never_show(inbound, monkeypatch) -> None:
    import matplotlib.pyplot as plt

    plt.switch_backend("Agg")

    def refuse(*args, **kwargs):
        raise AssertionError("the library must not call plt.show()")

    monkeypatch.setattr(plt, "show", refuse)
    for plot in PLOTS:
        ax = plot(inbound)
        assert ax.figure is not None and ax.get_title()
        plt.close(ax.figure)
    for module in sorted((ROOT / "simfunnel").rglob("*.py")):
        assert "plt.show(" not in module.read_text(), module


def test_importing_the_plots_does_not_import_matplotlib() -> None:
    code = "import sys, simfunnel.results.plots, simfunnel.present.report; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_funnel_bars_carry_the_run_counts_and_conversions(mixed) -> None:
    table = plots.funnel_table(mixed)
    m = mixed.by_motion
    inbound = table[table["motion"] == "inbound"].set_index("stage")
    outbound = table[table["motion"] == "outbound"].set_index("stage")
    assert inbound.loc["leads", "count"] == m["inbound_leads"]
    assert inbound.loc["won", "count"] == m["inbound_won"]
    assert outbound.loc["sqls", "count"] == m["outbound_sqls"]
    assert outbound.loc["contacted", "count"] == m["outbound_contacted"]
    assert math.isnan(outbound.loc["mqls", "count"])  # accounts are never MQLs
    assert outbound.loc["attempted", "conversion"] == pytest.approx(
        m["outbound_attempted"] / m["outbound_accounts"]
    )
    assert inbound.loc["valid_opportunities", "conversion"] == pytest.approx(
        m["inbound_valid_opportunities"] / m["inbound_sqls"]
    )


def _pct(rate: float) -> str:
    return f"{rate:.1%}" if 0 < rate < 0.01 else f"{rate:.0%}"


def test_the_funnel_is_linear_one_panel_per_motion_with_conversion_labels(mixed) -> None:
    table = plots.funnel_table(mixed)
    _, _, ax = render(lambda ax: plots.funnel(mixed, ax=ax), (9, 4.8))
    panels = ax.child_axes
    assert [p.get_title(loc="left") for p in panels] == ["inbound (leads)", "outbound (accounts)"]
    for panel, motion in zip(panels, ("inbound", "outbound"), strict=True):
        assert panel.get_xscale() == "linear" and panel.get_yscale() == "linear"
        assert panel.get_xlim()[0] == 0
        rows = table[table["motion"] == motion]
        # Bar lengths are the counts, first stage on top.
        assert [p.get_width() for p in panel.patches] == rows["count"].fillna(0).tolist()
        tops = [p.get_y() for p in panel.patches]
        assert tops == sorted(tops, reverse=True)
        texts = {t.get_text() for t in panel.texts}
        won = rows.set_index("stage").loc["won"]
        assert f"{won['count']:,.0f} ({_pct(won['conversion'])} of valid opps)" in texts
    first = table[table["motion"] == "outbound"].set_index("stage").loc["attempted"]
    expected = f"{first['count']:,.0f} ({_pct(first['conversion'])} of accounts)"
    assert expected in {t.get_text() for t in panels[1].texts}


def test_funnel_has_one_motion_without_outbound(inbound) -> None:
    assert set(plots.funnel_table(inbound)["motion"]) == {"inbound"}
    _, _, ax = render(lambda ax: plots.funnel(inbound, ax=ax))
    assert not ax.child_axes  # one motion: drawn on the axes given
    assert ax.get_xscale() == "linear" and ax.get_xlim()[0] == 0
    assert ax.get_yticklabels()[0].get_text() == "leads"


def test_capacity_draws_each_team_present(inbound, mixed) -> None:
    _, _, ax = render(lambda ax: plots.capacity(mixed, ax=ax))
    top, backlog = ax.child_axes  # utilisation above, the backlog in a panel of its own
    names = {line.get_label() for line in top.lines}
    assert {"SDR utilisation", "BDR utilisation", "AE occupancy (open deals / room)"} <= names
    assert check_shares_from_zero(ax) == 1
    assert top.get_ylim() == (0, 105)
    heights = [p.get_height() for p in backlog.patches]
    assert heights == pytest.approx(mixed.weekly["backlog_mean"].tolist())
    assert "full (90%)" in legend_texts(ax)
    _, _, ax = render(lambda ax: plots.capacity(inbound, ax=ax))
    names = {line.get_label() for line in ax.child_axes[0].lines}
    assert "SDR utilisation" in names and "BDR utilisation" not in names


def test_speed_to_lead_marks_match_the_waits(inbound) -> None:
    hours, never = plots.speed_to_lead_hours(inbound)
    stl = inbound.speed_to_lead
    assert len(hours) == stl["attempted"] and never == stl["never_attempted"]
    assert np.median(hours) == pytest.approx(stl["median_h"])
    _, _, ax = render(lambda ax: plots.speed_to_lead(inbound, ax=ax))
    cum, hist = ax.child_axes
    assert hist.get_xscale() == "log" and cum.get_xscale() == "log"  # one shared time axis
    ticks = tick_texts(hist.xaxis)  # time in its own unit, never hours as a float
    assert (
        {"1 h", "1 day"}
        <= set(ticks)
        <= {"1 min", "10 min", "1 h", "4 h", "1 day", "3 days", "1 week", "4 weeks"}
    )
    marks = [line.get_xdata()[0] for line in cum.lines if line.get_linestyle() == "--"]
    assert marks == [1.0, 24.0]
    total = len(hours) + never
    texts = [t.get_text() for t in cum.texts]
    assert texts == [
        f"1 h: {100 * (hours <= 1).sum() / total:.0f}%",
        f"24 h: {100 * (hours <= 24).sum() / total:.0f}%",
    ]
    # Never-attempted MQLs never arrive: the cumulative line ends below 100%.
    assert cum.lines[0].get_ydata()[-1] == pytest.approx(100 * len(hours) / total)
    assert check_shares_from_zero(ax) == 2


def test_weekly_volumes_of_different_scale_get_panels_of_their_own(mixed) -> None:
    _, _, ax = render(lambda ax: plots.weekly(mixed, ax=ax), (9, 4.2))
    panels = ax.child_axes
    assert len(panels) == 3 and not ax.axison  # the axes given frames three panels
    tops = {}
    for panel, column in zip(panels, ("mqls", "sqls", "valid_opportunities"), strict=True):
        (line,) = panel.lines
        values = mixed.weekly[column].astype(float)
        assert line.get_ydata().tolist() == values.tolist()
        low, top = panel.get_ylim()
        assert low == 0 and values.max() <= top < 1.3 * values.max()
        tops[column] = top
    # Valid opportunities keep their own scale: not flattened under the MQLs.
    assert tops["valid_opportunities"] < mixed.weekly["mqls"].max() / 2
    assert panels[0].get_title(loc="left") == "MQLs (leads per week)"


def test_weekly_plots_the_columns_asked(inbound) -> None:
    _, _, ax = render(lambda ax: plots.weekly(inbound, ("dials", "contacts"), ax=ax))
    panels = ax.child_axes
    assert [p.get_title(loc="left") for p in panels] == [
        "dials (calls per week)",
        "contacts (calls per week)",
    ]
    assert panels[0].lines[0].get_ydata().tolist() == inbound.weekly["dials"].astype(float).tolist()
    _, _, ax = render(lambda ax: plots.weekly(inbound, ("utilisation",), ax=ax))
    assert not ax.child_axes and ax.get_ylabel() == "SDR utilisation (% of on-phone hours)"
    assert check_shares_from_zero(ax) == 1
    with pytest.raises(ValueError, match="unknown weekly column"):
        plots.weekly(inbound, ("mqlz",))


def test_money_is_in_the_scenario_currency(inbound) -> None:
    euros = simfunnel.simulate(with_overrides(inbound.scenario, {"currency": "EUR"}), seed=1)
    _, _, ax = render(lambda ax: plots.weekly(euros, ("won_value", "pipeline_value"), ax=ax))
    for panel in ax.child_axes:
        ticks = tick_texts(panel.yaxis)
        assert ticks and all(t.startswith("€") for t in ticks if t != "€0"), ticks
        assert "EUR per week" in panel.get_title(loc="left")
    assert not [w for w in words(ax) if "currency" in w]


def test_one_palette_for_every_chart(mixed) -> None:
    assert len(set(plots.SERIES)) == len(plots.SERIES)
    assert set(plots.SERIES) <= set(plots.PALETTE.values())
    # Good and bad are told apart without red against green, and bad is hatched too.
    assert plots.COLORS["good"] == plots.PALETTE["blue"]
    assert plots.COLORS["bad"] == plots.PALETTE["vermillion"] and plots.HATCH["bad"]


def test_gap_bridge_walks_from_the_sheet_to_the_simulation() -> None:
    table = pd.DataFrame(
        {
            "step": [
                "spreadsheet",
                "paths and quality",
                "speed-to-lead decay",
                "nurture and re-MQLs",
                "capacity",
            ],
            "mean": [800.0, 1300.0, 400.0, 420.0, 350.0],
            "ci_low": [800.0, 1280.0, 390.0, 410.0, 330.0],
            "ci_high": [800.0, 1320.0, 410.0, 430.0, 370.0],
            "change": [math.nan, 500.0, -900.0, 20.0, -70.0],
            "change_low": [math.nan, 480.0, -910.0, 10.0, -90.0],
            "change_high": [math.nan, 520.0, -890.0, 30.0, -50.0],
        }
    )
    gap = Gap("valid_opportunities", 800.0, table, experiment=None)  # type: ignore[arg-type]
    out, png, ax = render(lambda ax: gap.plot(ax=ax))
    assert out is ax and len(png) > 10_000
    bars = ax.patches
    assert len(bars) == 6
    assert bars[0].get_height() == 800.0 and bars[-1].get_height() == 350.0
    # Each floating bar starts where the one before ended.
    assert [b.get_y() for b in bars[1:5]] == [800.0, 1300.0, 400.0, 420.0]
    assert ax.get_ylabel() == "valid opportunities over the horizon"


def test_the_spread_across_replications_reads_right(inbound) -> None:
    from simfunnel.experiments import run

    euros = with_overrides(inbound.scenario, {"currency": "EUR", "horizon": "4 weeks"})
    experiment = run(euros, reps=3, progress=False, workers=1)
    for what in ("won", "speed_to_lead.within_1h", "totals.won_value", "speed_to_lead.median_h"):
        _, _, ax = render(lambda ax, w=what: experiment.plot(w, ax=ax))
        check_chart(ax)
        assert {"one replication", "mean, 95% CI of the mean"} <= set(legend_texts(ax))
    _, _, ax = render(lambda ax: experiment.plot("speed_to_lead.within_1h", ax=ax))
    assert check_shares_from_zero(ax) == 1
    _, _, ax = render(lambda ax: experiment.plot("totals.won_value", ax=ax))
    assert all("€" in t for t in tick_texts(ax.yaxis)) and ax.get_ylabel().endswith("in EUR")
    _, _, ax = render(lambda ax: experiment.plot("speed_to_lead.median_h", ax=ax))
    ticks = tick_texts(ax.yaxis)
    assert ticks and all(
        t == "0" or t.endswith((" s", " min", " h", " days", " day")) for t in ticks
    )
