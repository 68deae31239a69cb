"""The page's memory of what it has run: Streamlit's ``st.cache_data`` around the plain
functions of :mod:`simfunnel.app.runs` and :mod:`simfunnel.app.downloads`.

Each replication is cached on its own, keyed by the scenario's digest, the settings, the plan
and the replication number: a setting already run comes back at once, and a run that a newer
setting interrupted keeps the replications it had finished. The scenario object itself is not
hashed (the leading underscore); its digest stands for it. Cached values are shared by every
browser tab of one server.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from ..scenario import Scenario
from .downloads import compare_options, report_html, workbook_bytes
from .runs import Plan, Replication, replication
from .settings import Settings

__all__ = ["Downloads", "cached_downloads", "cached_replication"]

MAX_REPLICATIONS = 5000  # replications kept: each is a few kilobytes


@st.cache_data(max_entries=MAX_REPLICATIONS, show_spinner=False)
def cached_replication(
    key: str, settings: Settings, plan: Plan, index: int, _scenario: Scenario
) -> Replication:
    """Replication ``index`` of a setting, run once per (scenario, settings, plan, index)."""
    return replication(_scenario, settings, plan, index)


@dataclass(frozen=True)
class Downloads:
    """The files made from the options compared: the HTML report, and the workbook (None
    where simfunnel has no workbook writer)."""

    html: bytes
    xlsx: bytes | None


@st.cache_data(max_entries=50, show_spinner=False)
def cached_downloads(
    key: str, options: tuple[tuple[str, Settings], ...], plan: Plan, title: str, _scenario: Scenario
) -> Downloads:
    """The report and workbook of the options compared, made once per (scenario, options, plan)."""
    experiment = compare_options(_scenario, dict(options), plan)
    return Downloads(report_html(experiment, title), workbook_bytes(experiment))
