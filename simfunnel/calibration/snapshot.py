"""The funnel as it stood at a cutoff, read from the exports: one row per lead with the state it
was in, as :func:`simfunnel.read_snapshot` reads it.

A backtest starts its forecast from the funnel at the cutoff, and the exports only tell the
dates each lead reached. :func:`lead_snapshot` turns those dates (and the calls and deals
before the cutoff) into simulation states by the rules its docstring lists, using only what was
known at the cutoff; old MQLs of an export without a call log are kept in the cadence or
settled by a draw from the fitted MQL->SQL hazard (:mod:`simfunnel.calibration.hazard`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ..data import ExportTable
from ..scenario import OUTCOMES
from .hazard import Hazard, fresh_rates

__all__ = ["DEFAULT_GAPS_DAYS", "LEAD_DATES", "lead_snapshot", "snapshot_with_chances"]

# Lead statuses (simfunnel end states) that a lead keeps once there, for the snapshot.
_CONTACTED = OUTCOMES[1:]  # what a conversation that did not qualify leaves a lead as
_SETTLED = ("recycled", *_CONTACTED, "cold", "aged_out")
DEFAULT_GAPS_DAYS = 12.0  # the scenario's default cadence gaps: 1, 2, 2, 3, 4 days
# The lead-table stage dates, each blanked when it is after the cutoff.
LEAD_DATES = ["mql_date", "sql_date", "opportunity_date", "won_date", "lost_date"]


def lead_snapshot(
    leads: ExportTable | pd.DataFrame,
    cutoff: Any,
    calls: ExportTable | pd.DataFrame | None = None,
    opportunities: ExportTable | pd.DataFrame | None = None,
    *,
    max_attempts: int = 6,
    cadence_days: float = DEFAULT_GAPS_DAYS + 7,
    meeting_days: float = 14.0,
    hazard: Hazard | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """The funnel as it stood at ``cutoff``, from the exports, as a lead table in the format
    :func:`simfunnel.read_snapshot` reads (``result.leads``'s columns).

    One row per lead created before the cutoff: ``lead_id, source, end_state, arrived,
    attempts, valid_opportunity, value, score`` and ``rule`` (which rule below set the state).
    Only what was known at the cutoff is used: later stage dates, calls and closes are ignored,
    and the lead status (an extract-time field) only when no stage date moved after the cutoff.
    The state is set by the latest stage the lead had reached (docs/calibration.md):

    - won or lost date -> ``won`` / ``lost``;
    - an opportunity not closed -> ``open_opportunity``, with ``valid_opportunity`` = its date
      and ``value`` = the amount (from the opportunities table when the lead table has no
      opportunity date but a deal names the lead);
    - an SQL with no opportunity -> ``sql`` while the first meeting can still be ahead (SQL
      within ``meeting_days`` of the cutoff, or status ``sql``); older ones were decided at
      their meeting without becoming an opportunity -> ``rejected``;
    - an MQL with no SQL, with a call log: no call before the cutoff -> ``untouched`` (``cold``
      if that is its status); a contact before it -> its status if one of the contact outcomes,
      else ``information_gathering``; calls without contact -> ``working`` with ``attempts`` =
      the calls made, or ``recycled`` once ``max_attempts`` were made. Without a call log:
      ``working`` with 1 attempt (attempts unknown) if the MQL is within ``cadence_days`` of the
      cutoff; an older one is kept ``working`` (1 attempt, so the simulated cadence works it)
      with probability ``min(1, p / p_fresh)`` when a ``hazard`` is given, else (and when not
      drawn) settled: its status when it is a settled one (recycled, a contact outcome, cold,
      aged out), else ``recycled``;
    - below MQL -> ``nurture``.

    ``hazard``: a callable ``(ages_days, sources) -> p``, the chance that an MQL still open at
    that age (days since its MQL date) becomes an SQL later (:func:`sql_hazard` builds it from
    a fitted cohort model); ``p_fresh`` is its ``fresh(sources)`` when it has one, else the
    hazard at age 0: the conversion of a fresh MQL, which the simulated cadence reproduces, so
    a kept lead brings ``p`` expected SQLs. The draws come from one generator seeded by
    ``seed`` (the same seed, the same table). Ignored with a call log; without a hazard the
    old MQLs are all settled, as before.
    """
    return snapshot_with_chances(
        leads,
        cutoff,
        calls,
        opportunities,
        max_attempts=max_attempts,
        cadence_days=cadence_days,
        meeting_days=meeting_days,
        hazard=hazard,
        seed=seed,
    )[0]


def snapshot_with_chances(
    leads: ExportTable | pd.DataFrame,
    cutoff: Any,
    calls: ExportTable | pd.DataFrame | None,
    opportunities: ExportTable | pd.DataFrame | None,
    *,
    max_attempts: int,
    cadence_days: float,
    meeting_days: float,
    hazard: Hazard | None,
    seed: int,
) -> tuple[pd.DataFrame, np.ndarray]:
    """:func:`lead_snapshot`'s table and, per row, the hazard's ``p`` for the old MQLs it was
    drawn for (NaN elsewhere): the backtest says how many SQLs those MQLs are expected to bring."""
    cut = pd.Timestamp(cutoff)
    frame = _frame(leads)
    assert frame is not None
    lt, status = _known_at(frame, cut)
    deals = _deal_dates(lt, _frame(opportunities), cut)
    v = _Verdicts(
        state=pd.Series("nurture", index=lt.index, dtype=object),
        rule=pd.Series("below MQL at the cutoff", index=lt.index, dtype=object),
        attempts=pd.Series(0, index=lt.index, dtype=int),
        p_sql=np.full(len(lt), np.nan),
    )
    mql_only = lt["mql_date"].notna() & lt["sql_date"].isna()
    log = _frame(calls)
    if log is not None:
        _mqls_by_calls(v, lt, log, cut, mql_only, status, max_attempts)
    else:
        _mqls_without_calls(v, lt, cut, mql_only, status, cadence_days, hazard, seed)
    _later_stages(v, lt, deals, cut, status, meeting_days)
    open_opp = v.state == "open_opportunity"
    out = pd.DataFrame(
        {
            "lead_id": lt["lead_id"].to_numpy(),
            "source": lt["source"].astype(str).to_numpy(),
            "end_state": v.state.to_numpy(),
            "arrived": lt["created"].to_numpy(),
            "attempts": v.attempts.to_numpy(),
            "valid_opportunity": deals.opportunity.where(open_opp).to_numpy(),
            "value": _floats(deals.amount.where(open_opp)),
            "score": _floats(lt["score"] if "score" in lt else pd.Series(np.nan, index=lt.index)),
            "rule": v.rule.to_numpy(),
        }
    )
    return out, v.p_sql


@dataclass(frozen=True)
class _Verdicts:
    """Per lead: the state at the cutoff, the rule that set it, the calls made and the hazard's
    chance for the old MQLs it was drawn for. The rules fill the series in place, a later stage
    overriding an earlier one."""

    state: pd.Series
    rule: pd.Series
    attempts: pd.Series
    p_sql: np.ndarray


class _Deals(NamedTuple):
    """Each lead's opportunity date, amount and close dates as known at the cutoff, from the
    lead table and, where it lacks them, the opportunities that name the lead."""

    opportunity: pd.Series
    amount: pd.Series
    won: pd.Series
    lost: pd.Series


def _frame(x: ExportTable | pd.DataFrame | None) -> pd.DataFrame | None:
    """The table's rows, whether given as an export table or as a frame."""
    return x.data if isinstance(x, ExportTable) else x


def _known_at(leads: pd.DataFrame, cut: pd.Timestamp) -> tuple[pd.DataFrame, pd.Series]:
    """The leads created before the cutoff with the stage dates after it blanked, and each
    lead's status (lower case), blank where a stage date moved after the cutoff: the status is
    as of the extract, so it says nothing about the cutoff once the lead moved on."""
    lt = leads[leads["created"] < cut].copy()
    for col in LEAD_DATES:
        if col not in lt:
            lt[col] = pd.NaT
    moved = pd.Series(False, index=lt.index)
    for col in LEAD_DATES:
        later = lt[col] >= cut
        moved |= later
        lt[col] = lt[col].where(~later)
    status = (
        lt["status"].where(~moved).fillna("").astype(str).str.lower()
        if "status" in lt
        else pd.Series("", index=lt.index)
    )
    lt["source"] = lt["source"].fillna("unknown") if "source" in lt else "unknown"
    return lt, status


def _deal_dates(lt: pd.DataFrame, deals: pd.DataFrame | None, cut: pd.Timestamp) -> _Deals:
    """The opportunity and close dates and amounts at the cutoff: from the lead table, filled
    from the opportunities created before the cutoff that name a lead with no opportunity date."""
    amount = lt["amount"] if "amount" in lt else pd.Series(np.nan, index=lt.index)
    opp_date = lt["opportunity_date"].copy()
    won_date, lost_date = lt["won_date"].copy(), lt["lost_date"].copy()
    if deals is not None and "lead_id" in deals and deals["lead_id"].notna().any():
        o = (
            deals[deals["created"] < cut]
            .drop_duplicates("lead_id", keep="last")
            .set_index("lead_id")
        )
        closed = o["close_date"].notna() & (o["close_date"] < cut) & o["won"].notna()
        ids = lt["lead_id"]
        fill = opp_date.isna() & ids.isin(o.index)
        opp_date[fill] = ids[fill].map(o["created"])
        amount = amount.where(~(fill & amount.isna()), ids.map(o["amount"]))
        was_closed = ids.map(closed).fillna(False).astype(bool) & fill
        was_won = ids.map(o["won"]).fillna(False).astype(bool)
        won_date[was_closed & was_won] = ids[was_closed & was_won].map(o["close_date"])
        lost_date[was_closed & ~was_won] = ids[was_closed & ~was_won].map(o["close_date"])
    return _Deals(opp_date, amount, won_date, lost_date)


def _mqls_by_calls(
    v: _Verdicts,
    lt: pd.DataFrame,
    calls: pd.DataFrame,
    cut: pd.Timestamp,
    mql_only: pd.Series,
    status: pd.Series,
    max_attempts: int,
) -> None:
    """With a call log: each MQL with no SQL is untouched, contacted, in the cadence or
    recycled, by the calls made before the cutoff."""
    c = calls[calls["timestamp"] < cut]
    n_calls = lt["lead_id"].map(c.groupby("lead_id").size()).fillna(0).astype(int)
    contacts = c[c["outcome"] == "contact"].groupby("lead_id").size()
    talked = lt["lead_id"].map(contacts).fillna(0).astype(int) > 0
    untouched = mql_only & (n_calls == 0)
    v.state[untouched] = np.where(status[untouched] == "cold", "cold", "untouched")
    v.rule[untouched] = "MQL, no call before the cutoff"
    contacted = mql_only & (n_calls > 0) & talked
    v.state[contacted] = np.where(
        status[contacted].isin(_CONTACTED), status[contacted], "information_gathering"
    )
    v.rule[contacted] = "MQL contacted before the cutoff, not an SQL"
    working = mql_only & (n_calls > 0) & ~talked
    done = working & (n_calls >= max_attempts)
    v.state[working] = "working"
    v.state[done] = "recycled"
    v.attempts[working] = n_calls[working]
    v.rule[working] = "MQL in the cadence: attempts = calls before the cutoff"
    v.rule[done] = f"MQL called {max_attempts} times without contact"


def _mqls_without_calls(
    v: _Verdicts,
    lt: pd.DataFrame,
    cut: pd.Timestamp,
    mql_only: pd.Series,
    status: pd.Series,
    cadence_days: float,
    hazard: Hazard | None,
    seed: int,
) -> None:
    """Without a call log: a recent MQL is in the cadence (attempts unknown: 1); an older one is
    settled, or kept in the cadence by a draw from the hazard when there is one."""
    recent = mql_only & (cut - lt["mql_date"] <= pd.Timedelta(days=cadence_days))
    v.state[recent] = "working"
    v.attempts[recent] = 1
    v.rule[recent] = f"MQL within {cadence_days:g} days, no call log: attempts unknown (1)"
    old = mql_only & ~recent
    v.state[old] = np.where(status[old].isin(_SETTLED), status[old], "recycled")
    v.rule[old] = f"MQL over {cadence_days:g} days old, not an SQL: settled"
    if hazard is not None and old.any():
        _keep_by_hazard(v, lt, cut, old, hazard, seed)


def _keep_by_hazard(
    v: _Verdicts, lt: pd.DataFrame, cut: pd.Timestamp, old: pd.Series, hazard: Hazard, seed: int
) -> None:
    """Keep each old MQL in the cadence with chance ``min(1, p / p_fresh)``: the cadence then
    brings it to an SQL with chance ``p``, what the fitted hazard gives at its age."""
    age = ((cut - lt.loc[old, "mql_date"]) / pd.Timedelta(days=1)).to_numpy(float)
    src = lt.loc[old, "source"].astype(str).to_numpy(object)
    p = np.clip(np.nan_to_num(np.asarray(hazard(age, src), dtype=float)), 0.0, 1.0)
    fresh = np.clip(np.nan_to_num(fresh_rates(hazard, src)), 0.0, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        chance = np.where(fresh > 0, np.minimum(1.0, p / fresh), 0.0)
    keep = np.random.default_rng(np.random.SeedSequence(seed)).random(len(p)) < chance
    pos = np.flatnonzero(old.to_numpy())
    v.p_sql[pos] = p
    v.state.iloc[pos[keep]] = "working"
    v.attempts.iloc[pos[keep]] = 1
    v.rule.iloc[pos] = [
        f"MQL {a:.0f} days old, no call log: "
        f"{'kept in the cadence' if k else 'settled'} by the fitted hazard "
        f"(p {pi:.2f} of {pf:.2f})"
        for a, k, pi, pf in zip(age, keep, p, fresh, strict=True)
    ]


def _later_stages(
    v: _Verdicts,
    lt: pd.DataFrame,
    deals: _Deals,
    cut: pd.Timestamp,
    status: pd.Series,
    meeting_days: float,
) -> None:
    """SQLs, open opportunities and closed deals, each overriding the stages before it."""
    sql = lt["sql_date"].notna()
    pending = (cut - lt["sql_date"] <= pd.Timedelta(days=meeting_days)) | (status == "sql")
    v.state[sql] = np.where(pending[sql], "sql", "rejected")
    v.rule[sql] = np.where(
        pending[sql],
        "SQL, meeting still ahead",
        f"SQL over {meeting_days:g} days old, no opportunity",
    )
    is_opp = deals.opportunity.notna()
    v.state[is_opp] = "open_opportunity"
    v.rule[is_opp] = "opportunity not closed at the cutoff"
    for col, name in ((deals.won, "won"), (deals.lost, "lost")):
        hit = col.notna()
        v.state[hit] = name
        v.rule[hit] = f"{name} before the cutoff"


def _floats(values: pd.Series) -> np.ndarray:
    """Numbers as floats, blanks as NaN: a column the export lacks is all pd.NA, which numpy
    cannot turn into a float."""
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
