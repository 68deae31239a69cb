"""The decisions' charts read right for a sales leader: today's option and the recommended one
both visible and both named, shares from 0, human words, legends beside the plot, money in the
scenario's currency, the palette of simfunnel.results.plots. Small answers built as in
test_interface.py; the checks read matplotlib's objects back (tests/chart_checks.py), and the
first test shows that they fail on the faults they look for."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from typing import Any

import pytest
from chart_checks import (
    check_chart,
    check_legends_outside,
    check_palette,
    check_shares_from_zero,
    check_words,
    data_axes,
    legend_texts,
    render,
    tick_texts,
)
from conftest import STEADY_FLOW, build
from conftest import busy as conftest_busy

import simfunnel
from simfunnel.decisions import (
    compare_thresholds,
    diagnose,
    explain_gap,
    forecast,
    hiring_plan,
    size_team,
)

FAST = {"workers": 1}


def busy() -> simfunnel.Scenario:
    """The answer tests' small busy scenario, its amounts in euros."""
    return conftest_busy(currency="EUR")


@pytest.fixture(scope="module")
def thresholds() -> Any:
    return compare_thresholds(busy(), [50, 70], reps=2, progress=False, **FAST)


@pytest.fixture(scope="module")
def sizing() -> Any:
    targets = ["sdr_utilisation<=0.9", "speed_to_lead_1h>=0.2"]
    return size_team(busy(), "sdr", targets, reps=2, explain=False, **FAST)


@pytest.fixture(scope="module")
def fan() -> Any:
    return forecast(
        build(horizon="3 weeks", currency="EUR", **STEADY_FLOW), reps=3, progress=False, **FAST
    )


def _hiring() -> Any:
    targets = ["sdr_utilisation<=0.9"]
    return hiring_plan(
        busy(), {"2026-01": 1.5}, "sdr", targets, reps=2, month_weeks=1, explain=False, **FAST
    )


# --------------------------------------------------------------------------- the checks fail


def _bad_chart(ax: Any) -> Any:
    ax.plot([1, 2, 3], [0.70, 0.72, 0.75], color="#1f77b4", label="valid_opportunities")
    ax.set_title("valid_opportunities by threshold")
    ax.legend(loc="upper right")
    from matplotlib.ticker import PercentFormatter

    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    return ax


@pytest.mark.parametrize(
    "check", [check_words, check_legends_outside, check_shares_from_zero, check_palette]
)
def test_the_checks_catch_what_they_look_for(check: Callable[[Any], Any]) -> None:
    _, _, ax = render(_bad_chart)
    with pytest.raises(AssertionError):
        check(ax)


# --------------------------------------------------------------------------- every chart


def test_every_decision_chart_reads_right(thresholds, sizing, fan) -> None:
    charts = {
        "thresholds": (thresholds, ("valid_opportunities", "objective", "within_1h", "tradeoff")),
        "sizing": (sizing, ("sdr_utilisation", "speed_to_lead_1h")),
        "forecast": (
            fan,
            ("valid_opportunities", "pipeline_value_cumulative", "open_opportunities"),
        ),
        "hiring": (_hiring(), ("hiring_plan",)),
        "gap": (explain_gap(busy(), reps=2, **FAST), ("bridge",)),
        "diagnosis": (diagnose(simfunnel.simulate(busy(), seed=1), levers=0), ("stages",)),
    }
    for name, (answer, whats) in charts.items():
        for what in whats:
            out, png, ax = render(lambda ax, a=answer, w=what: a.plot(w, ax=ax))
            assert out is ax, (name, what)
            assert len(png) > 10_000
            try:
                check_chart(ax)
            except AssertionError as error:
                raise AssertionError(f"{name} {what}: {error}") from None


# --------------------------------------------------------------------------- today, recommended


def _marks(ax: Any) -> dict[str, Any]:
    """The lines of today's option and of the recommended one, by the start of their label."""
    return {
        line.get_label().split(":")[0]: line
        for line in ax.lines
        if line.get_label().startswith(("today", "recommended"))
    }


@pytest.mark.parametrize("what", ["valid_opportunities", "within_1h", "tradeoff"])
def test_thresholds_show_today_and_the_recommendation(thresholds, what) -> None:
    _, _, ax = render(lambda ax: thresholds.plot(what, ax=ax))
    texts = legend_texts(ax)
    assert f"today: {thresholds.current_option}" in texts
    assert any(t.startswith("recommended:") for t in texts)
    marks = _marks(ax)
    today, recommended = marks["today"], marks["recommended"]
    assert len(today.get_xdata()) == 1  # today's option is always among the options run
    # A ring around a star: when they are the same option, both still show.
    assert today.get_markerfacecolor() == "none"
    assert today.get_markersize() > recommended.get_markersize()
    assert today.get_zorder() < recommended.get_zorder()
    if thresholds.recommended is not None:
        assert len(recommended.get_xdata()) == 1
        assert f"recommended: {thresholds.recommended}" in texts
        if what != "tradeoff":
            assert recommended.get_xdata()[0] == thresholds.recommended_threshold


def test_a_share_of_a_threshold_starts_at_zero(thresholds) -> None:
    _, _, ax = render(lambda ax: thresholds.plot("within_1h", ax=ax))
    assert check_shares_from_zero(ax) == 1
    assert ax.get_ylim()[0] == 0
    assert all(t.endswith("%") for t in tick_texts(ax.yaxis))
    assert ax.get_title() == "MQLs called within 1 h by MQL threshold"
    _, _, ax = render(lambda ax: thresholds.plot("tradeoff", ax=ax))
    assert ax.get_xlim()[0] == 0  # the speed-to-lead share, on x


@pytest.mark.parametrize("what", ["sdr_utilisation", "speed_to_lead_1h"])
def test_sizing_shows_today_the_answer_and_the_target(sizing, what) -> None:
    _, _, ax = render(lambda ax: sizing.plot(what, ax=ax))
    texts = legend_texts(ax)
    n = sizing.current
    assert f"today: {n} SDR{'' if n == 1 else 's'}" in texts
    assert any(t.startswith("recommended:") for t in texts)
    marks = _marks(ax)
    assert marks["today"].get_xdata().tolist() == [n]
    if sizing.headcount is not None:
        assert marks["recommended"].get_xdata().tolist() == [sizing.headcount]
    # Shares in percent from 0, the target written as a share too.
    assert check_shares_from_zero(ax) == 1
    target = next(t for t in sizing.targets if t.metric == what)
    assert any(t.startswith("target: at") and t.endswith(f"{target.value:.0%}") for t in texts)
    assert all(float(t).is_integer() for t in tick_texts(ax.xaxis))  # whole reps


# --------------------------------------------------------------------------- money, words


def test_money_ticks_carry_the_currency(fan) -> None:
    _, _, ax = render(lambda ax: fan.plot("pipeline_value_cumulative", ax=ax))
    ticks = tick_texts(ax.yaxis)
    assert len(ticks) >= 3 and all("€" in t for t in ticks), ticks
    assert ax.get_ylabel().startswith("EUR, running total since")
    _, _, ax = render(lambda ax: fan.plot("valid_opportunities", ax=ax))
    assert not any("€" in t for t in tick_texts(ax.yaxis))
    assert ax.get_ylabel() == "opportunities per week"


def test_the_diagnosis_marks_bad_stages_without_colour_alone() -> None:
    diagnosis = diagnose(simfunnel.simulate(busy(), seed=1), levers=0)
    _, _, ax = render(lambda ax: diagnosis.plot("stages", ax=ax))
    table = diagnosis.table[diagnosis.table["rate"].notna()]
    assert len(ax.patches) == len(table)  # one bar per stage, first on top
    hatched = [bool(p.get_hatch()) for p in ax.patches]
    assert hatched == table["status"].eq("below").tolist()
    assert ax.get_xlim()[0] == 0 and check_shares_from_zero(ax) == 1
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert not any("->" in t for t in labels) and all(t for t in labels)
    assert "→" in labels[0]


def test_the_gap_bridge_names_the_metric_and_hatches_losses() -> None:
    gap = explain_gap(busy(), reps=2, **FAST)
    _, _, ax = render(lambda ax: gap.plot(ax=ax))
    steps = gap.table[gap.table["step"] != "spreadsheet"]
    floating = ax.patches[1 : 1 + len(steps)]
    for bar, change in zip(floating, steps["change"], strict=True):
        assert bool(bar.get_hatch()) == (not math.isnan(change) and change < 0)
    assert ax.get_ylabel() == "valid opportunities over the horizon"
    assert {"a mechanism adds", "a mechanism takes away"} <= set(legend_texts(ax))


def test_the_new_figure_keeps_its_legend_on_the_page(sizing) -> None:
    """With no axes given, the chart makes its figure; laid out tightly, the legend beside the
    plot stays inside the figure."""
    import matplotlib.pyplot as plt

    ax = sizing.plot()
    try:
        ax.figure.savefig(io.BytesIO(), format="png", dpi=50)
        legend = ax.get_legend().get_window_extent()
        page = ax.figure.bbox
        assert page.x0 <= legend.x0 and legend.x1 <= page.x1 + 1
        assert data_axes(ax) == [ax]
    finally:
        plt.close(ax.figure)
