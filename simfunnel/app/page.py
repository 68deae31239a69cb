"""The page's layout: the sidebar (where the scenario comes from, the levers, the run plan) and
the order of what the main area shows. Streamlit runs :func:`main` from the top on every
change of a control; the figures come from the plain functions of ``settings``, ``runs`` and
``figures``, and are drawn by ``views``.

Nothing a user does shows a traceback: every input or setting the library refuses is shown
as its lines (:func:`views.problems`), and anything else as one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from ..base.formatting import one_line
from ..scenario import Scenario, ScenarioError
from . import views
from .inputs import STYLES, BadInput, Upload, bundled, fit_uploads, read_scenario_file, read_upload
from .runs import Plan, run_scenario, scenario_key
from .settings import Settings, limits, today

__all__ = ["Source", "main"]

EXAMPLE, UPLOAD, FIT = "An example", "Upload a scenario (YAML)", "Fit from CRM exports"


@dataclass(frozen=True)
class Source:
    """The scenario the page works on, and where it came from (shown under the title)."""

    scenario: Scenario
    origin: str


def main(argv: Sequence[str] = ()) -> None:
    """The whole page, top to bottom; ``argv``: an optional scenario file given on the command
    line (``simfunnel app SCENARIO``)."""
    st.set_page_config(page_title="simfunnel: what if?", layout="wide")
    st.title("What if?")
    try:
        body(argv)
    except Exception as exc:  # the last guard: one line, never a traceback
        st.error(f"Something went wrong: {one_line(f'{type(exc).__name__}: {exc}')}")


def body(argv: Sequence[str]) -> None:
    """Choose the scenario and the levers, run today's settings and the option, show both."""
    source = choose_scenario(argv)
    if source is None:
        return
    scenario = source.scenario
    key = scenario_key(scenario)
    st.caption(f"**{scenario.name}** ({source.origin}). {one_line(scenario.description or '')}")
    settings = setting_controls(scenario, key)
    plan = plan_controls()
    try:
        run_scenario(scenario, settings, plan)
    except ScenarioError as exc:
        views.problems("These settings cannot be run:", exc.problems)
        return
    base = views.run_option(scenario, key, today(scenario), plan, "today's settings")
    option = base
    if settings != today(scenario):
        option = views.run_option(scenario, key, settings, plan, "this option")
    views.show(scenario, key, settings, plan, base, option)


# --------------------------------------------------------------------------- the scenario


def choose_scenario(argv: Sequence[str]) -> Source | None:
    """The sidebar's scenario: given on the command line, a bundled example, an uploaded YAML
    file or a fit of uploaded CRM exports. None (with a message shown) until there is one."""
    bar = st.sidebar
    bar.header("Scenario")
    given = Path(argv[0]) if argv else None
    kinds = [EXAMPLE, UPLOAD, FIT]
    if given is not None:
        kinds.insert(0, f"{given.name} (given)")
    kind = bar.radio("Where from", kinds, key="source")
    if given is not None and kind == kinds[0]:
        return _guarded(lambda: read_scenario_file(given), "given on the command line")
    if kind == UPLOAD:
        return uploaded_scenario()
    if kind == FIT:
        return fitted_scenario()
    examples = bundled()
    if not examples:
        st.info("No example scenarios here: upload a scenario, or fit one from CRM exports.")
        return None
    default = list(examples).index("inbound_saas.yaml") if "inbound_saas.yaml" in examples else 0
    name = bar.selectbox("Example", list(examples), index=default, key="example")
    return _guarded(lambda: read_scenario_file(examples[str(name)]), f"example {name}")


def _guarded(read: views.Reader, origin: str) -> Source | None:
    """Read a scenario; its problems are shown, and None returned, if it cannot be used."""
    try:
        return Source(read(), origin)
    except BadInput as exc:
        views.problems("This scenario cannot be used:", exc.lines)
        return None


def uploaded_scenario() -> Source | None:
    """A scenario YAML file the user uploads, read as a file on disk would be."""
    file = st.sidebar.file_uploader("Scenario file", type=["yaml", "yml"], key="upload")
    if file is None:
        st.info("Upload a scenario file (YAML): the format is in docs/scenarios.md.")
        return None
    upload = Upload(file.name, file.getvalue())
    return _guarded(lambda: read_upload(upload), f"uploaded {upload.name}")


def fitted_scenario() -> Source | None:
    """A scenario fitted from uploaded CRM exports (the lead export, and the call and
    opportunity exports if there are), kept for the session once fitted."""
    bar = st.sidebar
    leads = bar.file_uploader("Leads export (CSV)", type=["csv"], key="fit-leads")
    calls = bar.file_uploader("Calls export (CSV, optional)", type=["csv"], key="fit-calls")
    opps = bar.file_uploader("Opportunities (CSV, optional)", type=["csv"], key="fit-opps")
    style = bar.selectbox("CRM", STYLES, key="fit-style")
    mapping = bar.file_uploader(
        "Column mapping (YAML or JSON, optional)",
        type=["yaml", "yml", "json"],
        key="fit-mapping",
        help="Names the export's columns, call outcomes and lead statuses where they differ "
        "from the CRM style's (docs/calibration.md).",
    )
    lead_upload = _upload(leads)
    if bar.button("Fit", disabled=lead_upload is None, type="primary") and lead_upload:
        with st.spinner("Fitting the scenario to the exports..."):
            try:
                cal = fit_uploads(
                    lead_upload,
                    _upload(calls),
                    _upload(opps),
                    style=str(style),
                    mapping=_upload(mapping),
                )
                st.session_state["fitted"] = (cal.scenario, cal.verdict, lead_upload.name)
                st.session_state.pop("fit-problems", None)
            except BadInput as exc:
                st.session_state["fit-problems"] = exc.lines
    if "fit-problems" in st.session_state:
        views.problems("The exports cannot be fitted:", st.session_state["fit-problems"])
        return None
    if "fitted" not in st.session_state:
        st.info(
            "Upload the lead export (and the call and opportunity exports if you have them), then Fit."
        )
        return None
    scenario, verdict, name = st.session_state["fitted"]
    with st.expander("What the fit found"):
        st.text(verdict)
    return Source(scenario, f"fitted from {name}")


def _upload(file: UploadedFile | None) -> Upload | None:
    """A Streamlit upload as plain name and bytes (None for none)."""
    return None if file is None else Upload(file.name, file.getvalue())


# --------------------------------------------------------------------------- the levers


def _reset(scenario: Scenario, key: str) -> None:
    """Put every lever back to today's settings (a button's callback, before the widgets)."""
    base = today(scenario)
    values: dict[str, float | None] = {
        "threshold": base.threshold,
        "require": base.require,
        "sdr": base.sdr,
    }
    values |= {"bdr": base.bdr, "ae": base.ae, "volume": 100}
    for name, value in values.items():
        if value is not None:
            st.session_state[f"{name}-{key}"] = value


def setting_controls(scenario: Scenario, key: str) -> Settings:
    """The levers, starting at today's settings; they apply when released (a slider) or
    entered (a number), not at every step. Keys carry the scenario's digest, so another
    scenario starts from its own settings."""
    bar = st.sidebar
    bar.header("What if")
    base, lim = today(scenario), limits(scenario)
    low, high = lim.threshold
    step = 1.0 if high - low >= 20 else (high - low) / 100
    threshold = bar.slider(
        "MQL threshold",
        low,
        high,
        base.threshold,
        step,
        format="%.0f" if step == 1.0 else "%.2f",
        help="Leads scoring at or above it are MQLs, worked by the SDRs; the rest go to nurture.",
        key=f"threshold-{key}",
    )
    require = base.require
    if lim.criteria:
        require = bar.slider(
            "Toss-up criteria required (SQL)",
            0,
            lim.criteria,
            base.require,
            help="How many of the toss-up criteria ("
            + ", ".join(scenario.toss_up.criteria)
            + ") a qualified lead must meet to be handed to an AE; 0: every qualified lead.",
            key=f"require-{key}",
        )
    sdr = _headcount("SDRs", base.sdr, lim.headcount, f"sdr-{key}")
    bdr = None if base.bdr is None else _headcount("BDRs", base.bdr, lim.headcount, f"bdr-{key}")
    ae = None if base.ae is None else _headcount("AEs", base.ae, lim.headcount, f"ae-{key}")
    volume = bar.slider(
        "Lead volume",
        int(100 * lim.volume[0]),
        int(100 * lim.volume[1]),
        100,
        5,
        format="%d%%",
        help="Every inbound source's weekly rate, as a share of today's.",
        key=f"volume-{key}",
    )
    bar.button("Back to today's settings", on_click=_reset, args=(scenario, key))
    return Settings(float(threshold), int(require), sdr, bdr, ae, volume / 100)


def _headcount(name: str, value: int, most: int, key: str) -> int:
    """A team's headcount at the start (a hiring plan in the scenario still applies)."""
    help_text = (
        f"{name} at the start of the run; hires and exits in the scenario's plan still apply."
    )
    n = st.sidebar.number_input(name, 0, max(most, value), value, 1, key=key, help=help_text)
    return int(n or 0)


def plan_controls() -> Plan:
    """How long and how often each option runs: few replications of a short horizon, so the
    page answers in seconds; more narrow the intervals."""
    with st.sidebar.expander("Run length and replications"):
        weeks = st.slider("Weeks (at most the scenario's)", 4, 52, Plan.weeks, key="plan-weeks")
        reps = st.slider("Replications", 2, 40, Plan.reps, key="plan-reps")
        seed = st.number_input("Seed", 0, 2**31 - 1, Plan.seed, 1, key="plan-seed")
    return Plan(int(weeks), int(reps), int(seed or 0))
