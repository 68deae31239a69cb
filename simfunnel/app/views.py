"""How the page draws what it shows: problems as lines, a setting's run with its progress, the
KPI tiles, and the tabs (funnel, capacity, forecast band, options side by side, downloads).

Every figure comes ready from :mod:`simfunnel.app.figures` and every chart from
:mod:`simfunnel.app.charts`; this module only places them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from ..scenario import Scenario
from . import charts, figures
from .cache import cached_downloads, cached_replication
from .downloads import XLSX, scenario_yaml, workbook_writer
from .runs import Outcome, Plan, outcome
from .settings import Settings, describe, today

__all__ = ["Reader", "problems", "run_option", "show"]

Reader = Callable[[], Scenario]
TODAY, OPTION = "Today", "This option"
MAX_PINNED = 4


def problems(title: str, lines: Sequence[str]) -> None:
    """An input or setting the library refused: what, then its lines as they are (a code block
    keeps field paths and quotes intact; nothing in them is read as markup)."""
    st.error(title)
    st.code("\n".join(lines), language=None, wrap_lines=True)


def run_option(scenario: Scenario, key: str, settings: Settings, plan: Plan, what: str) -> Outcome:
    """Run a setting's replications one by one, with a progress bar. Each comes from the cache
    if it was run before; a newer setting stops this run between two replications (Streamlit
    reruns the page at the next update of the bar), and what finished stays cached."""
    bar = st.progress(0.0, text=f"Running {what}...")
    done = []
    for i in range(plan.reps):
        done.append(cached_replication(key, settings, plan, i, _scenario=scenario))
        bar.progress((i + 1) / plan.reps, text=f"Running {what}: {i + 1} of {plan.reps}")
    bar.empty()
    return outcome(done)


def show(
    scenario: Scenario, key: str, settings: Settings, plan: Plan, base: Outcome, option: Outcome
) -> None:
    """The tiles of the option against today, then the tabs."""
    same = settings == today(scenario)
    cols = st.columns(len(figures.TILES))
    for col, tile in zip(cols, figures.tiles(scenario, option, base, same), strict=True):
        col.metric(
            tile.label,
            tile.value,
            tile.delta,
            delta_color=tile.delta_color,
            delta_arrow="auto" if tile.arrow else "off",
            help=tile.note,
            border=True,
        )
    weeks = int(base.weekly["week"].nunique())
    st.caption(
        f"Showing: {describe(scenario, settings)}. Means of {plan.reps} replications of "
        f"{weeks} weeks, seed {plan.seed}, the same for every option (common random numbers): "
        "a change is the setting's, not luck's."
    )
    options = {TODAY: base} if same else {TODAY: base, OPTION: option}
    tabs = st.tabs(["Funnel", "Capacity", "Forecast", "Compare options", "Downloads"])
    with tabs[0]:
        funnel_tab(scenario, options)
    with tabs[1]:
        capacity_tab(options, option)
    with tabs[2]:
        forecast_tab(scenario, option, base)
    with tabs[3]:
        compare_tab(scenario, key, settings, plan, options)
    with tabs[4]:
        downloads_tab(scenario, key, settings, plan)


def funnel_tab(scenario: Scenario, options: dict[str, Outcome]) -> None:
    outbound = scenario.outbound is not None
    frame = figures.funnel(options, outbound)
    st.vega_lite_chart(frame, charts.funnel_spec(list(options), outbound), width="stretch")
    st.caption(
        "From leads (and outbound accounts) to deals won; each label is the share of the stage "
        "before that reached this one."
    )


def capacity_tab(options: dict[str, Outcome], option: Outcome) -> None:
    left, right = st.columns(2)
    with left:
        st.markdown("**Utilisation per team** (AE: occupancy of their room for deals)")
        frame = figures.capacity(options)
        st.vega_lite_chart(frame, charts.capacity_spec(list(options)), width="stretch")
    with right:
        st.markdown("**Week by week**, this option")
        st.vega_lite_chart(figures.weekly_load(option), charts.load_spec(), width="stretch")


def forecast_tab(scenario: Scenario, option: Outcome, base: Outcome) -> None:
    names = figures.BAND_METRICS
    metric = st.selectbox("Metric", list(names), format_func=names.__getitem__, key="band")
    metric = str(metric)
    frame = figures.band(option, base, metric)
    money = metric in ("pipeline_value", "won_value")
    st.vega_lite_chart(frame, charts.band_spec(names[metric], money), width="stretch")
    st.caption(
        figures.band_note(scenario, option, metric)
        + " Shaded: P10 to P90 of this option's replications; dashed: today's median."
    )


def _pinned(key: str) -> dict[str, Settings]:
    """The options pinned for this scenario, by name."""
    pins: dict[str, dict[str, Settings]] = st.session_state.setdefault("pinned", {})
    return pins.setdefault(key, {})


def compare_tab(
    scenario: Scenario, key: str, settings: Settings, plan: Plan, options: dict[str, Outcome]
) -> None:
    pinned = _pinned(key)
    shown = dict(options)
    for name, pin in pinned.items():
        if pin != settings:
            shown[name] = run_option(scenario, key, pin, plan, name)
    st.table(figures.comparison(scenario, shown, TODAY).set_index("KPI"))
    st.caption("Changes are paired over the replications, with their 95% interval.")
    left, right = st.columns(2)
    can_pin = settings != today(scenario) and settings not in pinned.values()
    if left.button("Pin this option", disabled=not can_pin or len(pinned) >= MAX_PINNED):
        pinned[describe(scenario, settings)] = settings
        st.rerun()
    if right.button("Clear pinned options", disabled=not pinned):
        pinned.clear()
        st.rerun()


def downloads_tab(scenario: Scenario, key: str, settings: Settings, plan: Plan) -> None:
    st.download_button(
        "Scenario with this option (YAML)",
        scenario_yaml(scenario, settings),
        file_name=f"{_stem(scenario)}-option.yaml",
        mime="application/x-yaml",
        on_click="ignore",
    )
    options: tuple[tuple[str, Settings], ...] = (("today", today(scenario)),)
    if settings != today(scenario):
        options += ((describe(scenario, settings), settings),)
    options += tuple((name, s) for name, s in _pinned(key).items() if s != settings)
    asked = "; ".join(name for name, _ in options[1:]) or "today's settings"
    title = f"{scenario.name}: what if {asked}?"
    wanted = (key, options, plan)
    if st.button("Make the report" + (" and workbook" if workbook_writer() else "")):
        st.session_state["prepared"] = wanted
    if st.session_state.get("prepared") != wanted:
        st.caption("The report runs the options again as one experiment: a few seconds.")
        return
    with st.spinner("Running the options for the report..."):
        files = cached_downloads(key, options, plan, title, _scenario=scenario)
    st.download_button(
        "Report (HTML)",
        files.html,
        f"{_stem(scenario)}-report.html",
        "text/html",
        on_click="ignore",
    )
    if files.xlsx is not None:
        name = f"{_stem(scenario)}.xlsx"
        st.download_button("Workbook (Excel)", files.xlsx, name, XLSX, on_click="ignore")


def _stem(scenario: Scenario) -> str:
    """A file name from the scenario's name: letters, digits and dashes."""
    stem = "".join(c if c.isalnum() else "-" for c in scenario.name.lower()).strip("-")
    return "-".join(part for part in stem.split("-") if part) or "scenario"
