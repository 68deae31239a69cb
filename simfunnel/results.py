"""Results of one run: KPI dictionaries and tidy pandas tables, built at the edge from flat arrays."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .engine import END_STATES, OPEN_OPP, WEEK_HOURS, RunData
from .scenario import OUTCOMES, Scenario
from .staffing import Roster
from .worktime import WorkCalendar

# Stable keys of the JSON report (documented in docs/results.md).
TOTAL_KEYS = (
    "leads",
    "mqls",
    "below_threshold",
    "cold",
    "re_mqls",
    "email_replies",
    "dials",
    "connects",
    "contacts",
    "nurture_leads",
    "recycled",
    "sqls",
    "valid_opportunities",
    "won",
    "lost",
    "open_opportunities",
    "pipeline_value",
    "won_value",
    "self_serve_won",
    "self_serve_value",
)


def _share(numerator: float, denominator: float) -> float:
    return float(numerator) / float(denominator) if denominator else math.nan


def _json_number(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """The outcome of :func:`simfunnel.simulate`: KPIs as dictionaries, tables as DataFrames."""

    data: RunData

    @property
    def scenario(self) -> Scenario:
        return self.data.scenario

    @property
    def seed(self) -> int | np.random.SeedSequence:
        """The seed that reproduces this run exactly: pass it back to ``simulate``."""
        return self.data.seed

    def _seed_json(self) -> Any:
        seed = self.seed
        if isinstance(seed, np.random.SeedSequence):
            return {"entropy": seed.entropy, "spawn_key": list(seed.spawn_key)}
        return seed

    # ------------------------------------------------------------------ totals and KPIs

    @cached_property
    def totals(self) -> dict[str, float]:
        d = self.data
        w = d.weekly
        valid = ~np.isnan(d.valid_at)
        won = d.state == END_STATES.index("won")
        lost = d.state == END_STATES.index("lost")
        totals: dict[str, float] = {
            "leads": len(d.leads),
            "mqls": int(d.mql.sum()),
            "below_threshold": int((~d.mql).sum()),
            "cold": int(w["cold"].sum()),
            "re_mqls": int(w["re_mqls"].sum()),
            "email_replies": int(w["email_replies"].sum()),
            "dials": int(w["dials"].sum()),
            "connects": int(w["connects"].sum()),
            "contacts": int(w["contacts"].sum()),
            "nurture_leads": int(w["information_gathering"].sum() + w["postponed"].sum()),
            "recycled": int(w["recycled"].sum()),
            "sqls": int((~np.isnan(d.sql_at)).sum()),
            "valid_opportunities": int(valid.sum()),
            "won": int(won.sum()),
            "lost": int(lost.sum()),
            "open_opportunities": int((d.state == OPEN_OPP).sum()),
            "pipeline_value": float(d.leads.value[valid].sum()),
            "won_value": float(d.leads.value[won].sum()),
            "self_serve_won": int((~np.isnan(d.self_serve_at)).sum()),
            "self_serve_value": float(d.leads.self_serve[~np.isnan(d.self_serve_at)].sum()),
        }
        return totals

    @cached_property
    def rates(self) -> dict[str, float]:
        t = self.totals
        decided = _share(t["valid_opportunities"], self._ae_decided)
        return {
            "mql_rate": _share(t["mqls"], t["leads"]),
            "connect_rate": _share(t["connects"], t["dials"]),
            "contact_rate": _share(t["contacts"], t["connects"]),
            "mql_to_sql": _share(t["sqls"], t["mqls"]),
            "sql_to_valid": decided,
            "win_rate": _share(t["won"], t["won"] + t["lost"]),
        }

    @property
    def _ae_decided(self) -> int:
        d = self.data
        undecided = d.state == END_STATES.index("sql")
        return int((~np.isnan(d.sql_at)).sum() - undecided.sum())

    @cached_property
    def speed_to_lead(self) -> dict[str, float]:
        """Time from MQL to first attempt, in hours, over the MQLs that were attempted.

        The shares count every MQL whose window had closed by the end of the run, so leads
        never attempted count as late rather than disappearing from the denominator.
        """
        d = self.data
        horizon = self.scenario.horizon
        became = ~np.isnan(d.mql_at)
        arrival = d.mql_at[became]
        first = d.first_attempt[became]
        wait = first - arrival
        done = ~np.isnan(wait)
        waits = wait[done]

        def within(limit: float) -> float:
            eligible = arrival <= horizon - limit
            return _share(int((wait[eligible] <= limit).sum()), int(eligible.sum()))

        return {
            "mean_h": float(waits.mean()) if waits.size else math.nan,
            "median_h": float(np.median(waits)) if waits.size else math.nan,
            "p90_h": float(np.quantile(waits, 0.9)) if waits.size else math.nan,
            "within_1h": within(1.0),
            "within_24h": within(24.0),
            "attempted": int(done.sum()),
            "never_attempted": int((~done).sum()),
        }

    @cached_property
    def utilisation(self) -> float:
        """Share of the SDRs' on-phone hours spent on attempts (dialling, talking, after-call work)."""
        return _share(self.data.busy_hours, self.data.available_hours)

    @cached_property
    def backlog(self) -> dict[str, float]:
        """Untouched MQLs waiting for a first attempt: a time-weighted level."""
        end = self.data.weekly["backlog_end"]
        return {
            "mean": self.data.backlog_area / self.scenario.horizon,
            "max_week_end": int(end.max()) if end.size else 0,
            "at_end": int(end[-1]) if end.size else 0,
        }

    @cached_property
    def staffing(self) -> dict[str, float]:
        """The SDR team over the run: size at both ends, joiners and leavers, effective size."""
        roster = self.data.sdr_roster
        working = self._working_days
        return {
            "sdr_headcount_start": int(roster.employed[0]),
            "sdr_headcount_end": int(roster.employed[-1]),
            "sdr_hires": roster.count(joined="hire"),
            "sdr_backfills": roster.count(joined="backfill"),
            "sdr_planned_exits": roster.count(exit="planned"),
            "sdr_attrition_exits": roster.count(exit="attrition"),
            "sdr_mean_headcount": float(roster.employed[working].mean())
            if working.any()
            else math.nan,
            "sdr_mean_effective": float(roster.effective[working].mean())
            if working.any()
            else math.nan,
        }

    @cached_property
    def ae(self) -> dict[str, float]:
        """The AE stage as a queue: how long tossed-up leads waited, how full the AEs were."""
        d = self.data
        horizon = self.scenario.horizon
        assigned = ~np.isnan(d.ae_assigned_at)
        roster = d.ae_roster
        working = self._working_days
        limited = roster is not None
        return {
            "ae_mean_headcount": float(roster.employed[working].mean())
            if limited and working.any()
            else math.nan,
            "ae_mean_wait_h": float(d.ae_waited[assigned].mean()) if assigned.any() else math.nan,
            "ae_waited_share": _share(int((d.ae_waited[assigned] > 0).sum()), int(assigned.sum())),
            "ae_queue_mean": d.ae_queue_area / horizon,
            "ae_queue_at_end": d.ae_queue_at_end,
            "ae_open_mean": d.ae_open_area / horizon,
            "ae_occupancy": _share(d.ae_open_area, d.ae_capacity_area) if limited else math.nan,
        }

    @cached_property
    def lost_reasons(self) -> dict[str, int]:
        """Lost opportunities by reason; the counts add up to ``totals['lost']``."""
        reasons = list(self.scenario.ae.lost_reasons)
        codes = self.data.lost_reason
        counts = np.bincount(codes[codes >= 0], minlength=len(reasons))
        return {name: int(c) for name, c in zip(reasons, counts, strict=True)}

    @cached_property
    def _working_days(self) -> np.ndarray:
        return WorkCalendar(self.scenario).working

    @cached_property
    def reps(self) -> pd.DataFrame:
        """One row per rep (per employment spell; a back-fill is a new row in the same slot):
        SDRs with hours, dials, contacts and SQLs; AEs (with an AE team) with deals and wins."""
        d = self.data
        roster = d.sdr_roster
        valid = ~np.isnan(d.valid_at)
        n = len(roster.spells)
        sqls = np.bincount(d.sql_rep[d.sql_rep >= 0], minlength=n)
        valid_by_rep = np.bincount(d.sql_rep[valid & (d.sql_rep >= 0)], minlength=n)
        sdr = self._spell_frame("sdr", roster)
        sdr["available_hours"] = [shift.hours for shift in roster.shifts]
        sdr["busy_hours"] = d.rep_busy
        sdr["dials"] = d.rep_dials
        sdr["contacts"] = d.rep_contacts
        sdr["sqls"] = sqls
        sdr["valid_opportunities"] = valid_by_rep
        sdr["utilisation"] = sdr["busy_hours"] / sdr["available_hours"].where(
            sdr["available_hours"] > 0
        )
        if d.ae_roster is None:
            return sdr
        ae = self._spell_frame("ae", d.ae_roster)
        for key, values in d.ae_reps.items():
            ae[f"deals_{key}" if key != "won_value" else key] = values
        return pd.concat([sdr, ae], ignore_index=True)

    def _spell_frame(self, role: str, roster: Roster) -> pd.DataFrame:
        start = self.scenario.start
        spells = roster.spells
        return pd.DataFrame(
            {
                "role": role,
                "rep": np.arange(len(spells)),
                "slot": [sp.slot for sp in spells],
                "joined": [start + dt.timedelta(hours=sp.start) for sp in spells],
                "left": [
                    start + dt.timedelta(hours=sp.end) if math.isfinite(sp.end) else pd.NaT
                    for sp in spells
                ],
                "exit": [sp.exit or None for sp in spells],
                "joined_as": [sp.joined for sp in spells],
            }
        )

    @cached_property
    def end_states(self) -> dict[str, int]:
        """How every lead ended the run; the counts add up to the number of leads."""
        counts = np.bincount(self.data.state, minlength=len(END_STATES))
        return {name: int(c) for name, c in zip(END_STATES, counts, strict=True)}

    def to_dict(self) -> dict[str, Any]:
        """Everything in the KPI report, JSON-ready, under stable keys (NaN becomes None)."""
        sources = self.scenario.sources
        by_source = np.bincount(self.data.leads.source, minlength=len(sources))
        report = {
            "scenario": self.scenario.name,
            "seed": self._seed_json(),
            "start_date": self.scenario.start_date.isoformat(),
            "weeks": self.scenario.weeks,
            "totals": self.totals,
            "leads_by_source": {s.name: int(c) for s, c in zip(sources, by_source, strict=True)},
            "rates": self.rates,
            "speed_to_lead": self.speed_to_lead,
            "utilisation": {"sdr": self.utilisation},
            "staffing": self.staffing,
            "ae": self.ae,
            "lost_reasons": self.lost_reasons,
            "backlog": self.backlog,
            "end_states": self.end_states,
        }
        return {
            key: {k: _json_number(v) for k, v in value.items()}
            if isinstance(value, dict)
            else value
            for key, value in report.items()
        }

    def summary(self) -> pd.DataFrame:
        """The KPI report as a long table: section, metric, value."""
        d = self.to_dict()
        rows = [
            (section, key, value)
            for section in (
                "totals",
                "leads_by_source",
                "rates",
                "speed_to_lead",
                "utilisation",
                "staffing",
                "ae",
                "lost_reasons",
                "backlog",
                "end_states",
            )
            for key, value in d[section].items()
        ]
        return pd.DataFrame(rows, columns=["section", "metric", "value"])

    # ------------------------------------------------------------------ tables

    def _week_of(self, times: np.ndarray) -> np.ndarray:
        t = times[~np.isnan(times)]
        return np.minimum((t // WEEK_HOURS).astype(int), self.scenario.weeks - 1)

    def _weekly_count(self, times: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        mask = ~np.isnan(times)
        w = None if weights is None else weights[mask]
        return np.bincount(self._week_of(times), weights=w, minlength=self.scenario.weeks)

    @cached_property
    def weekly(self) -> pd.DataFrame:
        """One row per week: volumes, values, backlog and utilisation of that week."""
        d = self.data
        w = d.weekly
        arrival = d.leads.arrival
        won = d.state == END_STATES.index("won")
        lost = d.state == END_STATES.index("lost")
        nan = np.full(len(arrival), np.nan)
        weeks = np.arange(self.scenario.weeks)
        week_hours = np.minimum(WEEK_HOURS, self.scenario.horizon - weeks * WEEK_HOURS)
        table = {
            "week": weeks,
            "week_start": [self.scenario.start_date + dt.timedelta(weeks=int(i)) for i in weeks],
            "leads": self._weekly_count(arrival),
            "mqls": self._weekly_count(np.where(d.mql, arrival, nan)),
            "below_threshold": self._weekly_count(np.where(d.mql, nan, arrival)),
            "dials": w["dials"],
            "connects": w["connects"],
            "contacts": w["contacts"],
            "nurture_leads": w["information_gathering"] + w["postponed"],
            **{name: w[name] for name in OUTCOMES[1:]},
            "recycled": w["recycled"],
            "cold": w["cold"],
            "re_mqls": w["re_mqls"],
            "email_replies": w["email_replies"],
            "sqls": self._weekly_count(d.sql_at),
            "valid_opportunities": self._weekly_count(d.valid_at),
            "won": self._weekly_count(np.where(won, d.closed_at, nan)),
            "lost": self._weekly_count(np.where(lost, d.closed_at, nan)),
            "pipeline_value": self._weekly_count(d.valid_at, d.leads.value),
            "won_value": self._weekly_count(np.where(won, d.closed_at, nan), d.leads.value),
            "backlog_mean": w["backlog_area"] / week_hours,
            "backlog_end": w["backlog_end"],
            "busy_hours": w["busy_hours"],
            "available_hours": w["available_hours"],
            **self._weekly_staff(),
            "ae_queue_mean": w["ae_queue_area"] / week_hours,
            "ae_open_mean": w["ae_open_area"] / week_hours,
            "ae_headcount": self._weekly_employed(d.ae_roster),
            "ae_occupancy": w["ae_open_area"]
            / np.where(w["ae_capacity_area"] > 0, w["ae_capacity_area"], np.nan),
        }
        frame = pd.DataFrame(table)
        for col in (
            "leads",
            "mqls",
            "below_threshold",
            "sqls",
            "valid_opportunities",
            "won",
            "lost",
        ):
            frame[col] = frame[col].astype(int)
        frame["utilisation"] = frame["busy_hours"] / frame["available_hours"].where(
            frame["available_hours"] > 0
        )
        return frame

    def _weekly_days(self, per_day: np.ndarray) -> np.ndarray:
        """Mean over each week's working days of a per-day series."""
        working = self._working_days
        n_weeks = self.scenario.weeks
        week = np.minimum(np.arange(len(working)) // 7, n_weeks - 1)
        days = np.bincount(week, weights=working, minlength=n_weeks)
        total = np.bincount(week, weights=per_day * working, minlength=n_weeks)
        return total / np.where(days > 0, days, np.nan)

    def _weekly_employed(self, roster: Roster | None) -> np.ndarray:
        """Mean reps employed over each week's working days (NaN without a roster)."""
        if roster is None:
            return np.full(self.scenario.weeks, np.nan)
        return self._weekly_days(roster.employed)

    def _weekly_staff(self) -> dict[str, np.ndarray]:
        """SDRs employed and effective (ramp- and leave-weighted), per week's working day."""
        roster = self.data.sdr_roster
        return {
            "sdr_headcount": self._weekly_days(roster.employed),
            "sdr_effective": self._weekly_days(roster.effective),
        }

    @cached_property
    def funnel_by_source(self) -> pd.DataFrame:
        """One row per source: the funnel from lead to win, with each stage's conversion."""
        d = self.data
        names = [s.name for s in self.scenario.sources]
        src = d.leads.source
        k = len(names)
        won = d.state == END_STATES.index("won")
        valid = ~np.isnan(d.valid_at)

        def count(mask: np.ndarray) -> np.ndarray:
            return np.bincount(src[mask], minlength=k)

        frame = pd.DataFrame(
            {
                "source": names,
                "leads": count(np.ones(len(src), dtype=bool)),
                "mqls": count(~np.isnan(d.mql_at)),
                "attempted": count(d.attempts > 0),
                "contacted": count(~np.isnan(d.contacted_at)),
                "sqls": count(~np.isnan(d.sql_at)),
                "valid_opportunities": count(valid),
                "won": count(won),
                "pipeline_value": np.bincount(
                    src[valid], weights=d.leads.value[valid], minlength=k
                ),
                "won_value": np.bincount(src[won], weights=d.leads.value[won], minlength=k),
            }
        )
        frame["mql_rate"] = frame["mqls"] / frame["leads"].where(frame["leads"] > 0)
        frame["mql_to_sql"] = frame["sqls"] / frame["mqls"].where(frame["mqls"] > 0)
        frame["sql_to_valid"] = frame["valid_opportunities"] / frame["sqls"].where(
            frame["sqls"] > 0
        )
        return frame

    @cached_property
    def weekly_by_source(self) -> pd.DataFrame:
        """Long table: week, source, leads, mqls, sqls, valid_opportunities, won."""
        d = self.data
        nan = np.full(len(d.leads), np.nan)
        won = d.state == END_STATES.index("won")
        frames = []
        for index, src in enumerate(self.scenario.sources):
            mine = d.leads.source == index
            frames.append(
                pd.DataFrame(
                    {
                        "week": np.arange(self.scenario.weeks),
                        "source": src.name,
                        "leads": self._weekly_count(np.where(mine, d.leads.arrival, nan)).astype(
                            int
                        ),
                        "mqls": self._weekly_count(
                            np.where(mine & d.mql, d.leads.arrival, nan)
                        ).astype(int),
                        "sqls": self._weekly_count(np.where(mine, d.sql_at, nan)).astype(int),
                        "valid_opportunities": self._weekly_count(
                            np.where(mine, d.valid_at, nan)
                        ).astype(int),
                        "won": self._weekly_count(np.where(mine & won, d.closed_at, nan)).astype(
                            int
                        ),
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)

    @cached_property
    def leads(self) -> pd.DataFrame:
        """One row per lead with its attributes, its milestones (timestamps) and its end state."""
        d = self.data
        start = pd.Timestamp(self.scenario.start)

        def stamp(hours: np.ndarray) -> pd.Series:
            return start + pd.to_timedelta(hours, unit="h")

        names = [s.name for s in self.scenario.sources]
        return pd.DataFrame(
            {
                "lead_id": np.arange(len(d.leads)),
                "source": pd.Categorical.from_codes(d.leads.source, categories=names),
                "score": d.leads.score,
                "quality": d.leads.quality,
                "mql": d.mql,
                "arrived": stamp(d.leads.arrival),
                "first_attempt": stamp(d.first_attempt),
                "went_cold": stamp(d.cold_at),
                "hours_to_first_attempt": d.first_attempt - d.leads.arrival,
                "attempts": d.attempts,
                "last_contact": stamp(d.contacted_at),
                "tossed_up": stamp(d.sql_at),
                "assigned_to_ae": stamp(d.ae_assigned_at),
                "hours_waiting_for_ae": np.where(np.isnan(d.ae_assigned_at), np.nan, d.ae_waited),
                "valid_opportunity": stamp(d.valid_at),
                "closed": stamp(d.closed_at),
                "value": np.where(np.isnan(d.valid_at), np.nan, d.leads.value),
                "end_state": pd.Categorical.from_codes(d.state, categories=list(END_STATES)),
                "lost_reason": pd.Categorical.from_codes(
                    d.lost_reason, categories=list(self.scenario.ae.lost_reasons)
                ),
            }
        )

    @cached_property
    def events(self) -> pd.DataFrame:
        """The event log (only for runs with ``trace=True``): time in hours, event, lead, rep, detail."""
        if self.data.trace is None:
            raise ValueError("run simulate(..., trace=True) to record the event log")
        return pd.DataFrame(self.data.trace, columns=["time_h", "event", "lead", "rep", "detail"])

    def __repr__(self) -> str:
        t = self.totals
        return (
            f"<SimulationResult {self.scenario.name!r} seed={self.seed} weeks={self.scenario.weeks}: "
            f"{t['leads']} leads, {t['mqls']} MQLs, {t['sqls']} SQLs, "
            f"{t['valid_opportunities']} valid opps, {t['won']} won>"
        )
