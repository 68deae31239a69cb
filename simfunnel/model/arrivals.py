"""Random streams and the leads that arrive: times and attributes, drawn up front, vectorised.

Arrivals do not depend on the team or the threshold, so they are drawn before the simulation
from streams keyed by *name* (``("arrivals", source)``). Two scenarios that differ only in the
threshold or the headcount therefore see exactly the same leads, with the same scores, qualities
and deal fates: common random numbers, the basis of fair comparisons.
"""

from __future__ import annotations

import datetime as dt
import math
import zlib
from dataclasses import dataclass

import numpy as np

from ..base.units import WEEK
from ..scenario import Scenario, Source
from .worktime import WorkCalendar


class Streams:
    """One SeedSequence per run; one independent generator per named stochastic source."""

    def __init__(self, seed: int | np.random.SeedSequence) -> None:
        self.root = (
            seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        )

    def lead_rng(self, name: str, lead: int) -> np.random.Generator:
        """A generator of lead ``lead``'s own for ``name``: what a lead answers is the same
        whatever happened before (and so under every option of a comparison)."""
        key = (*self.root.spawn_key, zlib.crc32(name.encode("utf-8")), lead)
        return np.random.Generator(
            np.random.PCG64(np.random.SeedSequence(self.root.entropy, spawn_key=key))
        )

    def rng(self, *name: str) -> np.random.Generator:
        """The generator for ``name``; the same name always gives the same stream."""
        key = tuple(zlib.crc32(part.encode("utf-8")) for part in name)
        child = np.random.SeedSequence(self.root.entropy, spawn_key=(*self.root.spawn_key, *key))
        return np.random.Generator(np.random.PCG64(child))


@dataclass(frozen=True)
class Leads:
    """Every lead of a run, sorted by arrival; one array element per lead."""

    arrival: np.ndarray  # hours from start
    source: np.ndarray  # index into scenario.sources
    score: np.ndarray
    quality: np.ndarray
    # Per-lead draws for the AE stage ("the deal this lead would be"), kept with the lead so that
    # changing the threshold or the team does not reshuffle who would accept, win or pay what.
    u_accept: np.ndarray
    u_win: np.ndarray
    u_reason: np.ndarray  # picks the lost reason, should the deal be lost
    meeting_delay: np.ndarray
    sales_cycle: np.ndarray
    value: np.ndarray
    patience: np.ndarray  # hours an untouched MQL stays warm (inf: for ever)
    trial_end: np.ndarray  # PQLs: when the free trial ends (inf for other leads)
    self_serve: np.ndarray  # PQLs: value if they buy self-serve at trial end, else 0
    carried: np.ndarray  # already in the funnel at the start (from a snapshot)

    def __len__(self) -> int:
        return len(self.arrival)

    @staticmethod
    def stack(*parts: Leads) -> Leads:
        """Several sets of leads as one, each after the other: give them in arrival order."""
        return Leads(
            **{
                k: np.concatenate([getattr(p, k) for p in parts])
                for k in Leads.__dataclass_fields__
            }
        )


def _season_by_hour(source: Source, dates: list[dt.date]) -> np.ndarray:
    months = source.seasonality.by_month
    weeks = source.seasonality.by_week
    per_day = np.array(
        [months.get(d.month, 1.0) * weeks.get(d.isocalendar().week, 1.0) for d in dates]
    )
    return np.repeat(per_day, 24)


def _arrival_times(
    source: Source,
    scenario: Scenario,
    cal: WorkCalendar,
    open_frac: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Non-homogeneous Poisson arrivals, piecewise constant by clock hour, plus bursts."""
    n_hours = len(open_frac)
    intensity = np.full(n_hours, source.rate_per_week / WEEK)
    intensity *= _season_by_hour(source, cal.dates)
    share_open = float(open_frac.mean())
    if 0.0 < share_open < 1.0:
        inside = source.office_hours_share / share_open
        outside = (1.0 - source.office_hours_share) / (1.0 - share_open)
        intensity *= open_frac * inside + (1.0 - open_frac) * outside
    # Only the part of the last hour that lies inside the horizon.
    intensity *= np.clip(scenario.horizon - np.arange(n_hours), 0.0, 1.0)
    counts = rng.poisson(intensity)
    times = np.repeat(np.arange(n_hours, dtype=float), counts) + rng.random(int(counts.sum()))
    parts = [times[times < scenario.horizon]]
    for burst in source.bursts:
        start = (burst.start - scenario.start).total_seconds() / 3600.0
        t = start + burst.over * rng.random(burst.leads)
        parts.append(t)
    return np.sort(np.concatenate(parts))


def account_times(scenario: Scenario) -> np.ndarray:
    """When accounts join the outbound list: the initial list at 0, then each month's batch."""
    accounts = scenario.outbound.accounts  # type: ignore[union-attr]
    start = scenario.start_date
    times = [np.zeros(accounts.initial)]
    year, month = start.year, start.month
    while accounts.added_per_month:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        t = (dt.date(year, month, 1) - start).days * 24.0
        if t >= scenario.horizon:
            break
        times.append(np.full(accounts.added_per_month, t))
    return np.concatenate(times)


def _add_accounts(
    scenario: Scenario, streams: Streams, columns: dict[str, list[np.ndarray]], index: int
) -> None:
    """Outbound accounts as leads of one more source: no score, quality from the ICP fit."""
    out = scenario.outbound
    assert out is not None
    name = out.accounts.name
    times = account_times(scenario)
    n = len(times)
    ae = scenario.ae
    fit = out.accounts.icp_fit
    columns["arrival"].append(times)
    columns["source"].append(np.full(n, index, dtype=np.int16))
    columns["score"].append(np.full(n, np.nan))
    columns["quality"].append(
        fit.mean + fit.sd * streams.rng("attributes", name).standard_normal(n)
    )
    columns["u_accept"].append(streams.rng("ae_accept", name).random(n))
    columns["u_win"].append(streams.rng("ae_win", name).random(n))
    columns["u_reason"].append(streams.rng("ae_reason", name).random(n))
    columns["meeting_delay"].append(ae.meeting_delay.sample(streams.rng("ae_meeting", name), n))
    columns["sales_cycle"].append(ae.sales_cycle.sample(streams.rng("ae_cycle", name), n))
    columns["value"].append(ae.deal_value.sample(streams.rng("ae_value", name), n))
    columns["trial_end"].append(np.full(n, np.inf))
    columns["self_serve"].append(np.zeros(n))
    columns["patience"].append(np.full(n, np.inf))
    columns["carried"].append(np.zeros(n, dtype=bool))


def generate_leads(scenario: Scenario, streams: Streams, cal: WorkCalendar) -> Leads:
    """Draw every lead of the horizon, all sources (and outbound accounts) in arrival order."""
    open_frac = cal.open_fraction_by_hour()
    ae = scenario.ae
    columns: dict[str, list[np.ndarray]] = {k: [] for k in Leads.__dataclass_fields__}
    for index, src in enumerate(scenario.sources):
        times = _arrival_times(src, scenario, cal, open_frac, streams.rng("arrivals", src.name))
        n = len(times)
        attrs = streams.rng("attributes", src.name)
        z = attrs.standard_normal(n)
        noise = attrs.standard_normal(n)
        rho = src.score.reliability
        score = src.score.mean + src.score.sd * (rho * z + math.sqrt(1.0 - rho * rho) * noise)
        columns["arrival"].append(times)
        columns["source"].append(np.full(n, index, dtype=np.int16))
        columns["score"].append(np.clip(score, src.score.min, src.score.max))
        quality = src.quality.mean + src.quality.sd * z
        columns["quality"].append(quality)
        columns["u_accept"].append(streams.rng("ae_accept", src.name).random(n))
        columns["u_win"].append(streams.rng("ae_win", src.name).random(n))
        columns["u_reason"].append(streams.rng("ae_reason", src.name).random(n))
        columns["meeting_delay"].append(
            ae.meeting_delay.sample(streams.rng("ae_meeting", src.name), n)
        )
        columns["sales_cycle"].append(ae.sales_cycle.sample(streams.rng("ae_cycle", src.name), n))
        columns["value"].append(ae.deal_value.sample(streams.rng("ae_value", src.name), n))
        if src.pql is None:
            columns["trial_end"].append(np.full(n, np.inf))
            columns["self_serve"].append(np.zeros(n))
        else:
            # Whether the lead would buy self-serve is its own fate, drawn with it (CRN).
            trial = streams.rng("pql", src.name)
            p = src.pql.self_serve_probability
            with np.errstate(divide="ignore", over="ignore"):
                logit = np.log(p) - np.log1p(-p) + src.pql.quality_effect * quality
                buys = trial.random(n) < 1.0 / (1.0 + np.exp(-logit))
            value = src.pql.self_serve_value.sample(trial, n)
            columns["trial_end"].append(times + src.pql.trial_length)
            columns["self_serve"].append(np.where(buys, value, 0.0))
        columns["carried"].append(np.zeros(n, dtype=bool))
        patience = scenario.speed_to_lead.patience
        columns["patience"].append(
            np.full(n, np.inf)
            if patience is None
            else patience.sample(streams.rng("patience", src.name), n)
        )
    if scenario.outbound is not None:
        _add_accounts(scenario, streams, columns, len(scenario.sources))
    return Leads(**_in_arrival_order(columns))


def _in_arrival_order(columns: dict[str, list[np.ndarray]]) -> dict[str, np.ndarray]:
    """Each column's per-source parts as one array in arrival order (ties: source order).

    Why not concatenate and then index: that writes every column twice, and at millions of
    leads fresh memory is a large share of the run; each part is placed where it goes."""
    arrival = np.concatenate(columns["arrival"])
    order = np.argsort(arrival, kind="stable")
    place = np.empty_like(order)
    place[order] = np.arange(len(order))
    ends = np.cumsum([len(part) for part in columns["arrival"]])
    out = {"arrival": arrival[order]}
    for key, parts in columns.items():
        if key == "arrival":
            continue
        column = np.empty(len(order), dtype=np.result_type(*parts))
        for part, end in zip(parts, ends, strict=True):
            column[place[end - len(part) : end]] = part
        out[key] = column
    return out
