"""Nurture: how a lead's score moves after it is sent (or sent back) to marketing.

A lead in nurture engages now and then (each engagement adds points) and otherwise cools (it loses
points per week). If its score reaches the MQL threshold after the cool-down, it becomes an MQL
again; if that has not happened by ``age_out``, it leaves nurture. The path of a lead's score
depends only on the lead, not on the team, so it is computed in one vectorised pass when the lead
enters nurture, and the engine only schedules the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..base.units import WEEK
from ..scenario import Nurture


@dataclass(frozen=True)
class NurtureOutcome:
    """Per entering lead: when it re-MQLs (inf: not within the horizon) and when it ages out."""

    re_mql_at: np.ndarray
    score_at_re_mql: np.ndarray
    aged_out_at: np.ndarray  # inf when it re-MQLs first or the age-out falls past the horizon


def score_paths(
    nurture: Nurture,
    threshold: float,
    start: np.ndarray,
    score: np.ndarray,
    quality: np.ndarray,
    floor: np.ndarray,
    horizon: float,
    rng: np.random.Generator,
) -> NurtureOutcome:
    """Walk the score of every entering lead, event by event, all leads at once."""
    n = len(start)
    re_mql = np.full(n, np.inf)
    re_score = np.full(n, np.nan)
    rate_factor = np.exp(nurture.quality_effect * quality)  # engagement rate multiplier
    decay = nurture.decay_per_week / WEEK
    ready = start + nurture.cool_down
    deadline = np.minimum(start + nurture.age_out, horizon)
    t = start.astype(float).copy()
    s = score.astype(float).copy()
    active = np.flatnonzero(t < deadline)
    while active.size:
        ta, sa, ra = t[active], s[active], ready[active]
        nxt = ta + nurture.engagement_every.sample(rng, active.size) / rate_factor[active]
        jump = nurture.score_jump.sample(rng, active.size)
        # Already above the threshold when the cool-down ends (a recycled lead, say)?
        at_ready = np.maximum(floor[active], sa - decay * (ra - ta))
        hit_ready = (ta < ra) & (ra <= nxt) & (ra < deadline[active]) & (at_ready >= threshold)
        over = nxt >= deadline[active]
        s_new = np.maximum(floor[active], sa - decay * (nxt - ta)) + jump
        hit_event = ~hit_ready & ~over & (nxt >= ra) & (s_new >= threshold)
        re_mql[active[hit_ready]] = ra[hit_ready]
        re_score[active[hit_ready]] = at_ready[hit_ready]
        re_mql[active[hit_event]] = nxt[hit_event]
        re_score[active[hit_event]] = s_new[hit_event]
        keep = ~(hit_ready | over | hit_event)
        t[active[keep]] = nxt[keep]
        s[active[keep]] = s_new[keep]
        active = active[keep]
    age = start + nurture.age_out
    aged_out = np.where(np.isinf(re_mql) & (age < horizon), age, np.inf)
    re_mql[re_mql >= horizon] = np.inf
    return NurtureOutcome(re_mql, re_score, aged_out)
