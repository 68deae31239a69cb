"""Every chart of one run renders to a PNG with real content, labelled axes and a title, and
says what the run's tables say (counts on the funnel bars, shares at the speed-to-lead marks)."""

from __future__ import annotations

import io
import math
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from conftest import ROOT
from matplotlib.figure import Figure

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


def render(draw: Callable[[Any], Any]) -> tuple[Any, bytes, Any]:
    """Draw on a fresh figure without pyplot (no backend, no window): what the plot returned,
    the PNG bytes, and the axes it was given."""
    fig = Figure(figsize=(8, 4.5))
    ax = fig.subplots()
    out = draw(ax)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return out, buffer.getvalue(), ax


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
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    drawn = sum(len(a.patches) + len(a.lines) + len(a.collections) for a in ax.figure.axes)
    assert drawn >= 3
    for other in ax.figure.axes:  # a twin axis has its unit too
        assert other.get_ylabel()


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
    _, _, ax = render(lambda ax: plots.funnel(mixed, ax=ax))
    texts = {t.get_text().split("\n")[0] for t in ax.texts}
    assert f"{m['inbound_won']:,}" in texts and f"{m['outbound_won']:,}" in texts
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["inbound", "outbound"]
    assert ax.get_yscale() == "log"


def test_funnel_has_one_motion_without_outbound(inbound) -> None:
    assert set(plots.funnel_table(inbound)["motion"]) == {"inbound"}


def test_capacity_draws_each_team_present(inbound, mixed) -> None:
    _, _, ax = render(lambda ax: plots.capacity(mixed, ax=ax))
    names = {line.get_label() for line in ax.lines}
    assert {"SDR utilisation", "BDR utilisation", "AE occupancy (open deals / room)"} <= names
    assert len(ax.figure.axes) == 2  # the backlog on its own axis
    backlog = ax.figure.axes[1]
    heights = [p.get_height() for p in backlog.patches]
    assert heights == pytest.approx(mixed.weekly["backlog_mean"].tolist())
    _, _, ax = render(lambda ax: plots.capacity(inbound, ax=ax))
    names = {line.get_label() for line in ax.lines}
    assert "SDR utilisation" in names and "BDR utilisation" not in names


def test_speed_to_lead_marks_match_the_waits(inbound) -> None:
    hours, never = plots.speed_to_lead_hours(inbound)
    stl = inbound.speed_to_lead
    assert len(hours) == stl["attempted"] and never == stl["never_attempted"]
    assert np.median(hours) == pytest.approx(stl["median_h"])
    _, _, ax = render(lambda ax: plots.speed_to_lead(inbound, ax=ax))
    assert ax.get_xscale() == "log"
    marks = [line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == "--"]
    assert marks == [1.0, 24.0]
    total = len(hours) + never
    cum = ax.figure.axes[1]
    texts = [t.get_text() for t in cum.texts]
    assert texts == [
        f"1 h: {100 * (hours <= 1).sum() / total:.0f}%",
        f"24 h: {100 * (hours <= 24).sum() / total:.0f}%",
    ]
    # Never-attempted MQLs never arrive: the cumulative line ends below 100%.
    assert cum.lines[0].get_ydata()[-1] == pytest.approx(100 * len(hours) / total)


def test_weekly_plots_the_columns_asked(inbound) -> None:
    _, _, ax = render(lambda ax: plots.weekly(inbound, ("dials", "contacts"), ax=ax))
    assert [line.get_label() for line in ax.lines] == ["dials", "contacts"]
    assert ax.lines[0].get_ydata().tolist() == inbound.weekly["dials"].astype(float).tolist()
    assert "per week" in ax.get_ylabel()
    with pytest.raises(ValueError, match="unknown weekly column"):
        plots.weekly(inbound, ("mqlz",))


def test_gap_bridge_walks_from_the_sheet_to_the_simulation() -> None:
    table = pd.DataFrame(
        {
            "step": [
                "spreadsheet",
                "paths and quality",
                "speed-to-lead decay",
                "recycling",
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
