"""The KPIs and tidy tables of one run, computed when first asked from the engine's flat arrays:
the report's sections as dictionaries (totals, rates, speed-to-lead, utilisation, teams,
staffing, the AE stage...), the JSON report and its long table; the tables themselves (weekly,
per rep, per source, per lead) come from :mod:`.tables`. What a reader gets on top (verdict,
charts, report, files) is :class:`~.result.SimulationResult`, which extends :class:`RunKPIs`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from ..base.formatting import share
from ..model import (
    END_STATES,
    OPEN_OPP,
    DeskRecord,
    Roster,
    RunData,
    WorkCalendar,
    win_probability,
)
from ..scenario import Scenario
from . import tables
from .kpis import SECTION_TITLES, section_kpis

__all__ = ["REPORT_SECTIONS", "TOTAL_KEYS", "RunKPIs"]

# Stable keys of the JSON report's totals, and its sections in the order they are shown: named,
# explained and documented (docs/results.md) in the KPI registry.
TOTAL_KEYS = tuple(k.name for k in section_kpis("totals"))
REPORT_SECTIONS = tuple(SECTION_TITLES)


def _json_number(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


@dataclass(frozen=True, eq=False)
class RunKPIs:
    """The figures of one run of :func:`simfunnel.simulate`: KPIs as dictionaries, tables as
    DataFrames. ``data``: the engine's flat arrays."""

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

    def _seed_text(self) -> str:
        """The seed on one line (numpy writes a SeedSequence over several)."""
        seed = self.seed
        if isinstance(seed, np.random.SeedSequence):
            return f"SeedSequence({seed.entropy}, spawn_key={seed.spawn_key})"
        return str(seed)

    # ------------------------------------------------------------------ totals and KPIs

    @cached_property
    def _w(self) -> dict[str, np.ndarray]:
        """Weekly counters: the engine's, and the calling teams' summed over SDRs and BDRs."""
        return tables.weekly_counters(self.data)

    @cached_property
    def totals(self) -> dict[str, float]:
        d = self.data
        w = self._w
        new = ~d.carried  # created in the period, not carried in from before it
        contacted = d.contacted_at >= 0
        valid = d.valid_at >= 0
        closed = d.closed_at >= 0  # closed in the period
        won = (d.state == END_STATES.index("won")) & closed
        # Lost by its reason, not its state: a lost lead back in nurture may be worked again.
        lost = (d.lost_reason >= 0) & closed
        open_ = d.state == OPEN_OPP
        p_win = win_probability(self.scenario.ae.win, d.leads.quality[open_])
        totals: dict[str, float] = {
            "leads": int((d.inbound & new).sum()),
            "accounts": int((~d.inbound & new).sum()),
            "carried_in": int(d.carried.sum()),
            "mqls": int((d.mql & new).sum()),
            "below_threshold": int((d.inbound & ~d.mql & new).sum()),
            "cold": int(w["cold"].sum()),
            "re_mqls": int(w["re_mqls"].sum()),
            "email_replies": int(w["email_replies"].sum()),
            "dials": int(w["dials"].sum()),
            "connects": int(w["connects"].sum()),
            "contacts": int(w["contacts"].sum()),
            "nurture_leads": int((d.nurtured_at >= 0).sum()),
            "recycled": int(w["recycled"].sum()),
            "emails": int(w["emails"].sum()),
            "accounts_researched": int(w["researched"].sum()),
            "held_back": int(w["held_back"].sum()),
            "contacted_inbound": int((contacted & d.inbound).sum()),
            "contacted_outbound": int((contacted & ~d.inbound).sum()),
            "sals": int(((d.sql_at >= 0) & d.inbound).sum()),
            "sgls": int(((d.sql_at >= 0) & ~d.inbound).sum()),
            "sqls": int((d.sql_at >= 0).sum()),
            "valid_opportunities": int(valid.sum()),
            "won": int(won.sum()),
            "lost": int(lost.sum()),
            "open_opportunities": int(open_.sum()),
            "open_wins_expected": float(p_win.sum()),
            "open_value": float((p_win * d.leads.value[open_]).sum()),
            "pipeline_value": float(d.leads.value[valid].sum()),
            "won_value": float(d.leads.value[won].sum()),
            "self_serve_won": int((d.self_serve_at >= 0).sum()),
            "self_serve_value": float(d.leads.self_serve[(d.self_serve_at >= 0)].sum()),
        }
        return totals

    @cached_property
    def rates(self) -> dict[str, float]:
        t = self.totals
        d = self.data
        # SQLs tossed up in the period and decided in it (not those carried in from before).
        from_period = int(((d.valid_at >= 0) & (d.sql_at >= 0)).sum())
        decided = share(from_period, self._ae_decided)
        return {
            "mql_rate": share(t["mqls"], t["leads"]),
            "connect_rate": share(t["connects"], t["dials"]),
            "contact_rate": share(t["contacts"], t["connects"]),
            "mql_to_sql": share(int(((d.sql_at >= 0) & d.inbound).sum()), t["mqls"]),
            "sql_to_valid": decided,
            "win_rate": share(t["won"], t["won"] + t["lost"]),
        }

    @property
    def _ae_decided(self) -> int:
        d = self.data
        tossed = d.sql_at >= 0
        undecided = (d.state == END_STATES.index("sql")) & tossed
        return int(tossed.sum() - undecided.sum())

    @cached_property
    def speed_to_lead(self) -> dict[str, float]:
        """Time from MQL to first attempt, in hours, over the MQLs that were attempted.

        The shares count every MQL whose window had closed by the end of the run, so leads
        never attempted count as late rather than disappearing from the denominator.
        """
        d = self.data
        horizon = self.scenario.horizon
        became = d.mql_at >= 0
        arrival = d.mql_at[became]
        first = d.first_attempt[became]
        wait = first - arrival
        done = ~np.isnan(wait)
        waits = wait[done]

        def within(limit: float) -> float:
            eligible = arrival <= horizon - limit
            return share(int((wait[eligible] <= limit).sum()), int(eligible.sum()))

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
        sdr = self.data.sdr
        return share(sdr.busy_hours, sdr.available_hours)

    @cached_property
    def utilisations(self) -> dict[str, float]:
        """Per calling team: share of on-phone hours spent on touches (and, for BDRs, research)."""
        return {
            role: share(desk.busy_hours, desk.available_hours) if desk is not None else math.nan
            for role, desk in self._desks.items()
        }

    @cached_property
    def _desks(self) -> dict[str, DeskRecord | None]:
        return {"sdr": self.data.sdr, "bdr": self.data.desks.get("bdr")}

    @cached_property
    def teams(self) -> dict[str, float]:
        """Activity and conversion per calling team: the list-quality and opening-talk diagnostics
        (connect and contact rates) of SDRs and BDRs apart, and the BDRs' research and goals."""
        out: dict[str, float] = {}
        for role, desk in self._desks.items():
            n = {
                k: int(desk.weekly[k].sum()) if desk is not None else math.nan
                for k in ("dials", "emails", "connects", "contacts", "qualified", "researched")
            }
            out[f"{role}_dials"] = n["dials"]
            out[f"{role}_emails"] = n["emails"]
            out[f"{role}_connects"] = n["connects"]
            out[f"{role}_contacts"] = n["contacts"]
            out[f"{role}_connect_rate"] = share(n["connects"], n["dials"])
            out[f"{role}_contact_rate"] = share(n["contacts"], n["connects"])
            out[f"{role}_sqls"] = n["qualified"]
            out[f"{role}_overtime_hours"] = desk.overtime_hours if desk is not None else math.nan
        bdr = self._desks["bdr"]
        out["bdr_accounts_researched"] = n["researched"]
        out["bdr_target_list_at_end"] = bdr.list_at_end if bdr is not None else math.nan
        out["bdr_dials_goal_met"] = bdr.dials_goal_met if bdr is not None else math.nan
        out["sdr_dials_goal_met"] = self.data.sdr.dials_goal_met
        return out

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
        """The SDR and BDR teams over the run: size at both ends, joiners and leavers, effective
        size (BDR figures are null without an outbound section)."""
        working = self._working_days
        out: dict[str, float] = {}
        for role, desk in self._desks.items():
            roster = desk.roster if desk is not None else None

            def count(roster: Roster | None = roster, **how: str) -> float:
                return roster.count(**how) if roster is not None else math.nan

            def mean(series: str, roster: Roster | None = roster) -> float:
                if roster is None or not working.any():
                    return math.nan
                return float(getattr(roster, series)[working].mean())

            out[f"{role}_headcount_start"] = int(roster.employed[0]) if roster else math.nan
            out[f"{role}_headcount_end"] = int(roster.employed[-1]) if roster else math.nan
            out[f"{role}_hires"] = count(joined="hire")
            out[f"{role}_backfills"] = count(joined="backfill")
            out[f"{role}_planned_exits"] = count(exit="planned")
            out[f"{role}_attrition_exits"] = count(exit="attrition")
            out[f"{role}_mean_headcount"] = mean("employed")
            out[f"{role}_mean_effective"] = mean("effective")
        return out

    @cached_property
    def ae(self) -> dict[str, float]:
        """The AE stage as a queue: how long tossed-up leads waited, how full the AEs were."""
        d = self.data
        horizon = self.scenario.horizon
        assigned = d.ae_assigned_at >= 0
        roster = d.ae_roster
        working = self._working_days
        limited = roster is not None
        meetings = int(d.ae_reps["accepted"].sum() + d.ae_reps["rejected"].sum())
        return {
            "ae_mean_headcount": float(roster.employed[working].mean())
            if roster is not None and working.any()
            else math.nan,
            "ae_mean_wait_h": float(d.ae_waited[assigned].mean()) if assigned.any() else math.nan,
            "ae_waited_share": share(int((d.ae_waited[assigned] > 0).sum()), int(assigned.sum())),
            "ae_queue_mean": d.ae_queue_area / horizon,
            "ae_queue_at_end": d.ae_queue_at_end,
            "ae_open_mean": d.ae_open_area / horizon,
            "ae_occupancy": share(d.ae_open_area, d.ae_capacity_area) if limited else math.nan,
            "ae_meetings": meetings,
            "ae_meeting_hours": meetings * self.scenario.ae.meeting_hours,
        }

    @cached_property
    def lost_reasons(self) -> dict[str, int]:
        """Lost opportunities by reason; the counts add up to ``totals['lost']``."""
        reasons = list(self.scenario.ae.lost_reasons)
        codes = self.data.lost_reason[self.data.closed_at >= 0]
        counts = np.bincount(codes[codes >= 0], minlength=len(reasons))
        return {name: int(c) for name, c in zip(reasons, counts, strict=True)}

    @cached_property
    def _working_days(self) -> np.ndarray:
        return WorkCalendar(self.scenario).working

    @cached_property
    def reps(self) -> pd.DataFrame:
        """One row per rep (per employment spell; a back-fill is a new row in the same slot):
        SDRs and BDRs with hours, dials, emails, contacts and SQLs (BDRs also accounts
        researched); AEs (with an AE team) with deals and wins."""
        return tables.reps_table(self.data)

    @cached_property
    def end_states(self) -> dict[str, int]:
        """How every lead ended the run; the counts add up to the number of leads."""
        counts = np.bincount(self.data.state, minlength=len(END_STATES))
        return {name: int(c) for name, c in zip(END_STATES, counts, strict=True)}

    @cached_property
    def by_motion(self) -> dict[str, float]:
        """Inbound and outbound side by side, as the Demand Waterfall splits SQL-level
        opportunities by origin: SALs (tossed up from inbound) against SGLs (from outbound),
        the leads each motion reached, and what each turned into."""
        d = self.data
        contacted = d.contacted_at >= 0
        sql = d.sql_at >= 0
        valid = d.valid_at >= 0
        won = (d.state == END_STATES.index("won")) & (d.closed_at >= 0)
        value = d.leads.value
        out: dict[str, float] = {}
        for motion, mine in (("inbound", d.inbound), ("outbound", ~d.inbound)):
            first = "inbound_leads" if motion == "inbound" else "outbound_accounts"
            out[first] = int((mine & ~d.carried).sum())
            out[f"{motion}_attempted"] = int((mine & (d.first_attempt >= 0)).sum())
            out[f"{motion}_contacted"] = int((mine & contacted).sum())
            out["sals" if motion == "inbound" else "sgls"] = int((mine & sql).sum())
            out[f"{motion}_sqls"] = int((mine & sql).sum())
            out[f"{motion}_valid_opportunities"] = int((mine & valid).sum())
            out[f"{motion}_won"] = int((mine & won).sum())
            out[f"{motion}_pipeline_value"] = float(value[mine & valid].sum())
            out[f"{motion}_won_value"] = float(value[mine & won].sum())
        return out

    def to_dict(self) -> dict[str, Any]:
        """Everything in the KPI report, JSON-ready, under stable keys (NaN becomes None)."""
        names = self.scenario.source_names
        by_source = np.bincount(self.data.leads.source, minlength=len(names))
        report = {
            "scenario": self.scenario.name,
            "seed": self._seed_json(),
            "start_date": self.scenario.start_date.isoformat(),
            "weeks": self.scenario.weeks,
            "totals": self.totals,
            "leads_by_source": {n: int(c) for n, c in zip(names, by_source, strict=True)},
            "rates": self.rates,
            "speed_to_lead": self.speed_to_lead,
            "utilisation": self.utilisations,
            "teams": self.teams,
            "by_motion": self.by_motion,
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
            for section in REPORT_SECTIONS
            for key, value in d[section].items()
        ]
        return pd.DataFrame(rows, columns=["section", "metric", "value"])

    # ------------------------------------------------------------------ tables

    @cached_property
    def weekly(self) -> pd.DataFrame:
        """One row per week: volumes, values, backlog and utilisation of that week.

        Volumes (dials, contacts, outcomes, SQLs...) count both calling teams; hours and
        utilisation without a prefix are the SDRs'. With an outbound section, ``bdr_`` columns
        give the BDRs' own activity, hours and headcount.
        """
        return tables.weekly_table(self.data, self._w, self._working_days)

    @cached_property
    def funnel_by_source(self) -> pd.DataFrame:
        """One row per source: the funnel from lead to win, with each stage's conversion."""
        return tables.funnel_by_source(self.data)

    @cached_property
    def weekly_by_source(self) -> pd.DataFrame:
        """Long table: week, source, leads, mqls, sqls, valid_opportunities, won."""
        return tables.weekly_by_source(self.data)

    @cached_property
    def leads(self) -> pd.DataFrame:
        """One row per lead with its attributes, its milestones (timestamps) and its end state."""
        return tables.leads_table(self.data)

    @cached_property
    def events(self) -> pd.DataFrame:
        """The event log (only for runs with ``trace=True``): time in hours, event, lead, rep, detail."""
        if self.data.trace is None:
            raise ValueError("run simulate(..., trace=True) to record the event log")
        return pd.DataFrame(self.data.trace, columns=["time_h", "event", "lead", "rep", "detail"])
