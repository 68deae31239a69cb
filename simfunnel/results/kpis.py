"""The KPI registry: for every key of the KPI report (``SimulationResult.to_dict()``), its section,
its unit, the words a sales leader reads and its one-line meaning. The report's sections compute
the values (:mod:`.result`); this module says what they are, so that the terminal tables, the docs
page and the decision and report layers read one list. Adding a KPI: compute it in its section and
add one entry here; ``tests/results/test_kpis.py`` fails until both agree, and until the docs table is
rendered again (``make docs``, tools/kpidoc.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from ..model import END_STATES
from ..scenario import OUTCOME_KINDS


class Unit(StrEnum):
    """What a KPI's value measures, which says how it is shown (:data:`UNIT_MEANINGS`)."""

    COUNT = "count"
    SHARE = "share"
    DURATION = "duration"
    HOURS = "hours"
    MONEY = "money"
    HEADCOUNT = "headcount"
    NUMBER = "number"


UNIT_MEANINGS: dict[Unit, str] = {
    Unit.COUNT: "things counted: whole in one run, a mean over replications",
    Unit.SHARE: "a fraction from 0 to 1, shown as a percent",
    Unit.DURATION: "a time span in hours, shown in its own unit (12.0 min, 5.4 h, 3.0 days)",
    Unit.HOURS: "an amount of working time, in hours",
    Unit.MONEY: "deal value, in the scenario's currency",
    Unit.HEADCOUNT: "reps employed, or a mean of them over the working days",
    Unit.NUMBER: "a time-weighted level: things waiting or held",
}

COUNT, SHARE, DURATION, HOURS = Unit.COUNT, Unit.SHARE, Unit.DURATION, Unit.HOURS
MONEY, HEADCOUNT, NUMBER = Unit.MONEY, Unit.HEADCOUNT, Unit.NUMBER


@dataclass(frozen=True)
class KPI:
    """One key of the KPI report: where it is, what it measures, how a reader names it."""

    name: str  # the key within its section; "<source>" stands for names the scenario chooses
    section: str
    unit: Unit
    label: str  # the words a sales leader reads: "SQLs", "speed to lead, median"
    meaning: str  # one line: what is counted, over what, and how

    @property
    def key(self) -> str:
        """``section.name``, as targets and ``--kpi`` write it."""
        return f"{self.section}.{self.name}"

    @property
    def pattern(self) -> bool:
        """Whether this entry stands for every key of its section (sources, lost reasons)."""
        return self.name.startswith("<")


# Sections of the KPI report, in the order they are shown, with the title the terminal shows.
SECTION_TITLES: dict[str, str] = {
    "totals": "Volumes",
    "leads_by_source": "Leads by source",
    "rates": "Conversion rates",
    "speed_to_lead": "Speed to lead (MQL to first attempt)",
    "utilisation": "Utilisation",
    "teams": "Calling teams: activity and conversion",
    "by_motion": "Inbound (SALs) and outbound (SGLs)",
    "staffing": "Teams over time",
    "ae": "AE stage",
    "lost_reasons": "Lost opportunities by reason",
    "backlog": "Untouched MQL backlog",
    "end_states": "End state of every lead",
}

Entry = tuple[Unit, str, str]  # a section's entry under its name: unit, label, meaning
Entries = dict[str, Entry]


def _section(section: str, entries: Entries) -> list[KPI]:
    """The registry's entries of one section, from its compact table."""
    return [KPI(name, section, *entry) for name, entry in entries.items()]


def _filled(entries: Entries, fill: Mapping[str, str], note: str = "") -> Entries:
    """Template entries made concrete for one team or motion (``{team}``...), ``note`` appended."""
    return {
        name.format(**fill): (unit, label.format(**fill), meaning.format(**fill) + note)
        for name, (unit, label, meaning) in entries.items()
    }


_TOTALS: Entries = {
    "leads": (
        COUNT,
        "inbound leads",
        "inbound inquiries created in the horizon (all inbound sources)",
    ),
    "accounts": (
        COUNT,
        "outbound accounts",
        "outbound accounts on the target list at any time (initial list and monthly additions); 0 without `outbound`",
    ),
    "carried_in": (
        COUNT,
        "carried in",
        "leads and accounts already in the funnel at the start (from a `warm_up`): they carry on, and what they do in the period counts, but they are not new leads",
    ),
    "mqls": (COUNT, "MQLs", "leads scoring at or above the MQL threshold"),
    "below_threshold": (
        COUNT,
        "below the threshold",
        "leads sent straight to nurture by the threshold",
    ),
    "cold": (
        COUNT,
        "MQLs gone cold",
        "MQLs that went cold before a first attempt (only with `speed_to_lead.patience`)",
    ),
    "re_mqls": (
        COUNT,
        "re-MQLs",
        "times a lead in nurture became an MQL again (only with a `nurture` section)",
    ),
    "email_replies": (
        COUNT,
        "email replies",
        "replies to the automated emails after failed calls, each bringing a priority call",
    ),
    "dials": (COUNT, "dials", "call attempts, by SDRs and BDRs (each team apart: `teams`)"),
    "connects": (
        COUNT,
        "connects",
        "attempts that reached the company (reception included); contacts are a subset",
    ),
    "contacts": (COUNT, "contacts", "attempts that reached the person"),
    "nurture_leads": (
        COUNT,
        "leads worth nurturing",
        "leads judged worth continued follow-up (*information gathering* or *postponed* at least once), each counted once",
    ),
    "recycled": (
        COUNT,
        "recycled cadences",
        'cadences that ended without contact ("6-call-out"), back to nurture',
    ),
    "emails": (
        COUNT,
        "email touches",
        "email touches of the cadences (`cadence.email_touches`); automated emails after failed calls are not counted",
    ),
    "accounts_researched": (
        COUNT,
        "accounts researched",
        "outbound accounts a BDR researched and started a cadence on",
    ),
    "held_back": (
        COUNT,
        "held back at toss-up",
        "qualified conversations that failed the toss-up criteria (`toss_up`): not tossed up, followed up later as *information gathering*",
    ),
    "contacted_inbound": (
        COUNT,
        "inbound leads reached",
        "inbound leads an SDR reached (contacted at least once)",
    ),
    "contacted_outbound": (
        COUNT,
        "outbound accounts reached",
        "outbound accounts a BDR reached (contacted at least once)",
    ),
    "sals": (
        COUNT,
        "SALs",
        "SALs as the Demand Waterfall counts them: SQL-level leads of inbound origin (tossed up by an SDR)",
    ),
    "sgls": (
        COUNT,
        "SGLs",
        "SGLs: SQL-level leads of outbound origin (tossed up by a BDR); `sals + sgls = sqls`",
    ),
    "sqls": (COUNT, "SQLs", "qualified leads tossed up to an AE (opportunities handed to sales)"),
    "valid_opportunities": (
        COUNT,
        "valid opportunities",
        "SQLs the AE accepted at the first meeting",
    ),
    "won": (COUNT, "deals won", "valid opportunities closed won within the horizon"),
    "lost": (COUNT, "deals lost", "valid opportunities closed lost within the horizon"),
    "open_opportunities": (
        COUNT,
        "open opportunities",
        "valid opportunities still open at the end",
    ),
    "open_wins_expected": (
        COUNT,
        "expected wins among the open",
        "how many of the valid opportunities still open at the end are expected to close won: "
        "the sum of their chances (the AE stage's rule, from each lead's quality)",
    ),
    "open_value": (
        MONEY,
        "open pipeline value",
        "what the valid opportunities still open at the end are expected to win: each one's deal "
        "value times its chance to close won (the AE stage's rule, from its lead's quality)",
    ),
    "pipeline_value": (MONEY, "pipeline value", "deal value of the valid opportunities created"),
    "won_value": (MONEY, "won value", "deal value of the opportunities won"),
    "self_serve_won": (
        COUNT,
        "self-serve wins",
        "PQLs nobody reached during their trial who bought self-serve",
    ),
    "self_serve_value": (MONEY, "self-serve value", "what the self-serve wins paid"),
}

_LEADS_BY_SOURCE: Entries = {
    "<source>": (
        COUNT,
        "leads by source",
        "leads per source, under the source's name (the outbound list's accounts under the list's name)",
    ),
}

_RATES: Entries = {
    "mql_rate": (SHARE, "MQL rate", "mqls / leads"),
    "connect_rate": (
        SHARE,
        "connect rate",
        "connects / dials, both teams together (each team apart: `teams`)",
    ),
    "contact_rate": (SHARE, "contact rate", 'contacts / connects (the "opening talk" diagnostic)'),
    "mql_to_sql": (
        SHARE,
        "MQL to SQL",
        "inbound SQLs / mqls (SQLs from outbound accounts are left out: they were never MQLs)",
    ),
    "sql_to_valid": (
        SHARE,
        "SQL to valid opportunity",
        "valid opportunities / SQLs whose first meeting took place",
    ),
    "win_rate": (SHARE, "win rate", "won / (won + lost)"),
}

_WAIT = "from becoming an MQL (on arrival, or later from nurture) to the first attempt, over attempted MQLs"
_WITHIN = "; the denominator is every MQL whose window closed before the end, so never-attempted leads count as late"
_SPEED_TO_LEAD: Entries = {
    "mean_h": (DURATION, "speed to lead, mean", f"mean hours {_WAIT}"),
    "median_h": (DURATION, "speed to lead, median", f"median hours {_WAIT}"),
    "p90_h": (DURATION, "speed to lead, 90th percentile", f"90th percentile of the hours {_WAIT}"),
    "within_1h": (
        SHARE,
        "MQLs called within 1 h",
        f"share of MQLs first attempted within 1 h{_WITHIN}",
    ),
    "within_24h": (
        SHARE,
        "MQLs called within 24 h",
        f"share of MQLs first attempted within 24 h{_WITHIN}",
    ),
    "attempted": (COUNT, "MQLs attempted", "MQLs with a first attempt"),
    "never_attempted": (COUNT, "MQLs never attempted", "MQLs without a first attempt"),
}

_NO_BDR = "; `null` without `outbound`"
_UTILISATION: Entries = {
    "sdr": (
        SHARE,
        "SDR utilisation",
        "share of SDR on-phone hours (after shrinkage) spent on attempts, talk and after-call work; a call that runs past the end of a shift counts the time past it as overtime (`teams.sdr_overtime_hours`), not here",
    ),
    "bdr": (
        SHARE,
        "BDR utilisation",
        "share of BDR on-phone hours (after shrinkage) spent on attempts, talk, after-call work, research and email touches"
        + _NO_BDR,
    ),
}

# Per calling team: {role} is sdr or bdr, {team} SDR or BDR.
_TEAM: Entries = {
    "{role}_dials": (COUNT, "{team} dials", "call attempts by the {team}s"),
    "{role}_emails": (COUNT, "{team} email touches", "email touches of the {team}s' cadences"),
    "{role}_connects": (COUNT, "{team} connects", "{team} attempts that reached the company"),
    "{role}_contacts": (COUNT, "{team} contacts", "{team} attempts that reached the person"),
    "{role}_connect_rate": (
        SHARE,
        "{team} connect rate",
        "{team} connects / dials: the list-quality diagnostic",
    ),
    "{role}_contact_rate": (
        SHARE,
        "{team} contact rate",
        "{team} contacts / connects: the opening-talk diagnostic",
    ),
    "{role}_sqls": (COUNT, "{team} SQLs", "leads the {team}s tossed up to an AE"),
    "{role}_overtime_hours": (
        HOURS,
        "{team} overtime",
        "{team} task time past the end of a shift (calls or research started before closing)",
    ),
}
_TEAM_GOALS: Entries = {
    "bdr_accounts_researched": (
        COUNT,
        "accounts researched",
        "accounts the BDRs researched" + _NO_BDR,
    ),
    "bdr_target_list_at_end": (
        COUNT,
        "accounts left on the target list",
        "accounts still waiting on the list at the end (the list ran dry if 0)" + _NO_BDR,
    ),
    "bdr_dials_goal_met": (
        SHARE,
        "BDR days on the dials goal",
        "share of BDR working days on which the rep reached `outbound.goals.dials_per_day` (`null` without a goal)",
    ),
    "sdr_dials_goal_met": (
        SHARE,
        "SDR days on the dials goal",
        "share of SDR working days on which the rep reached `sdr.goals.dials_per_day` (`null` without a goal): the activity KPI a launch-phase team is judged on",
    ),
}

# Per motion: {motion} is inbound or outbound, {what} its leads or accounts, {tossed} SALs or SGLs.
_MOTION: Entries = {
    "{first}": (COUNT, "{what}", "{what} new in the period (not carried in)"),
    "{motion}_attempted": (COUNT, "{what} attempted", "{what} with a first attempt"),
    "{motion}_contacted": (COUNT, "{what} reached", "{what} contacted at least once"),
    "{tossed}": (
        COUNT,
        "{TOSSED}",
        "{TOSSED}: SQL-level {what}, as the Demand Waterfall splits them",
    ),
    "{motion}_sqls": (
        COUNT,
        "{motion} SQLs",
        "{what} tossed up to an AE (the same count as {TOSSED})",
    ),
    "{motion}_valid_opportunities": (
        COUNT,
        "{motion} valid opportunities",
        "{what} the AE accepted at the first meeting",
    ),
    "{motion}_won": (COUNT, "{motion} deals won", "{what} closed won within the horizon"),
    "{motion}_pipeline_value": (
        MONEY,
        "{motion} pipeline value",
        "deal value of the valid opportunities from {what}",
    ),
    "{motion}_won_value": (
        MONEY,
        "{motion} won value",
        "deal value of the opportunities won from {what}",
    ),
}
_MOTIONS = (
    {"motion": "inbound", "first": "inbound_leads", "what": "inbound leads"}
    | {"tossed": "sals", "TOSSED": "SALs"},
    {"motion": "outbound", "first": "outbound_accounts", "what": "outbound accounts"}
    | {"tossed": "sgls", "TOSSED": "SGLs"},
)

# Per team over time: {role} is sdr or bdr, {team} SDR or BDR.
_STAFFING: Entries = {
    "{role}_headcount_start": (
        HEADCOUNT,
        "{team}s at the start",
        "{team}s employed on the first day",
    ),
    "{role}_headcount_end": (HEADCOUNT, "{team}s at the end", "{team}s employed on the last day"),
    "{role}_hires": (COUNT, "{team} hires", "{team}s who joined by plan"),
    "{role}_backfills": (
        COUNT,
        "{team} back-fills",
        "{team}s who joined as replacements after a random exit",
    ),
    "{role}_planned_exits": (COUNT, "{team} planned exits", "{team}s who left by plan"),
    "{role}_attrition_exits": (COUNT, "{team} attrition", "{team}s who left at random (attrition)"),
    "{role}_mean_headcount": (
        HEADCOUNT,
        "{team}s employed (mean)",
        "mean {team}s employed over the working days",
    ),
    "{role}_mean_effective": (
        HEADCOUNT,
        "effective {team}s (mean)",
        "mean effective {team}s over the working days: each counts its ramp share, 0 on leave",
    ),
}

_AE: Entries = {
    "ae_mean_headcount": (
        HEADCOUNT,
        "AEs employed (mean)",
        "mean AEs employed over the working days (`null` with unlimited AEs)",
    ),
    "ae_mean_wait_h": (
        DURATION,
        "wait for an AE, mean",
        "hours a tossed-up lead waited for an AE with room, mean over assigned leads",
    ),
    "ae_waited_share": (
        SHARE,
        "SQLs that waited for an AE",
        "share of the assigned leads that waited for an AE at all",
    ),
    "ae_queue_mean": (
        NUMBER,
        "SQLs waiting for an AE (mean)",
        "time-weighted number of tossed-up leads waiting for an AE",
    ),
    "ae_queue_at_end": (
        COUNT,
        "SQLs waiting for an AE at the end",
        "tossed-up leads waiting for an AE at the end",
    ),
    "ae_open_mean": (
        NUMBER,
        "opportunities held by AEs (mean)",
        "time-weighted number of opportunities held by AEs (assigned, not yet rejected or closed)",
    ),
    "ae_occupancy": (
        SHARE,
        "AE occupancy",
        "held opportunities / AE room (`max_open_per_ae`, ramp-weighted), time-averaged; `null` with unlimited AEs",
    ),
    "ae_meetings": (
        COUNT,
        "first meetings held",
        "first meetings held, accepted or rejected (a lead tossed up again meets again)",
    ),
    "ae_meeting_hours": (
        HOURS,
        "AE hours in first meetings",
        "first meetings held x `ae.meeting_hours`: what junk SQLs cost the AEs",
    ),
}

_LOST_REASONS: Entries = {
    "<reason>": (
        COUNT,
        "lost opportunities by reason",
        "lost opportunities by reason (`ae.lost_reasons`); they add up to `totals.lost`",
    ),
}

_BACKLOG: Entries = {
    "mean": (
        NUMBER,
        "untouched MQLs waiting (mean)",
        "time-weighted mean number of untouched MQLs (waiting for a first attempt)",
    ),
    "max_week_end": (COUNT, "untouched MQLs, worst week end", "largest week-end backlog"),
    "at_end": (COUNT, "untouched MQLs at the end", "backlog at the end"),
}

# Every lead and account ends in exactly one state; the counts add up to
# totals.leads + totals.accounts + totals.carried_in.
_STATE_ENTRIES: Entries = {
    "nurture": (COUNT, "in nurture", "below the threshold on arrival, still in nurture"),
    "aged_out": (
        COUNT,
        "aged out of nurture",
        "left nurture after `nurture.age_out` without a re-MQL; recycled, information-gathering and postponed leads keep their state while in nurture",
    ),
    "on_list": (COUNT, "still on the target list", "outbound account never researched"),
    "untouched": (COUNT, "never attempted", "MQL, or researched account, never attempted"),
    "cold": (COUNT, "gone cold", "MQL not attempted within its patience"),
    "working": (
        COUNT,
        "in a cadence",
        "in a cadence: waiting for its next attempt, or in the queue",
    ),
    "recycled": (COUNT, "recycled", "no contact after the last attempt"),
    "information_gathering": (
        COUNT,
        "information gathering",
        "contacted, interested later: a follow-up may still be pending",
    ),
    "postponed": (
        COUNT,
        "postponed",
        "contacted, asked for a callback later (maybe still pending)",
    ),
    "no_prospect": (COUNT, "no prospect", "contacted, not a fit"),
    "do_not_call": (COUNT, "do not call", "contacted, asked not to be called"),
    "sql": (COUNT, "SQL, meeting pending", "tossed up, first meeting not yet held"),
    "rejected": (COUNT, "rejected by the AE", "tossed up, rejected by the AE"),
    "open_opportunity": (COUNT, "open opportunity", "valid opportunity still open at the end"),
    "won": (COUNT, "won", "valid opportunity closed won"),
    "lost": (COUNT, "lost", "valid opportunity closed lost"),
    "self_serve_won": (
        COUNT,
        "self-serve win",
        "a PQL nobody reached during its trial that bought on its own",
    ),
}


def _end_state_entries() -> Entries:
    """Every end state in the engine's order; a state a conversation outcome leads to and
    that has no entry above is described from the outcome table (scenario.OUTCOME_KINDS)."""
    by_state = {kind.end_state: kind for kind in OUTCOME_KINDS}
    out: Entries = {}
    for name in END_STATES:
        if name in _STATE_ENTRIES:
            out[name] = _STATE_ENTRIES[name]
        else:  # a KeyError here: a new state that is no outcome's needs an entry above
            kind = by_state[name]
            out[name] = (COUNT, kind.label, f"contacted: {kind.label} (path: {kind.path})")
    return out


_END_STATES = _end_state_entries()


ROLES = {"sdr": "SDR", "bdr": "BDR"}  # the calling teams, each with its own figures


def _per_team(entries: Entries) -> Entries:
    """Template entries made concrete for each calling team (BDR figures: null without outbound)."""
    out: Entries = {}
    for role, team in ROLES.items():
        out |= _filled(entries, {"role": role, "team": team}, _NO_BDR if role == "bdr" else "")
    return out


def _registry() -> list[KPI]:
    """Every entry, section by section, in the order of the report."""
    by_motion: Entries = {}
    for fill in _MOTIONS:
        by_motion |= _filled(_MOTION, fill)
    rows: dict[str, Entries] = {
        "totals": _TOTALS,
        "leads_by_source": _LEADS_BY_SOURCE,
        "rates": _RATES,
        "speed_to_lead": _SPEED_TO_LEAD,
        "utilisation": _UTILISATION,
        "teams": _per_team(_TEAM) | _TEAM_GOALS,
        "by_motion": by_motion,
        "staffing": _per_team(_STAFFING),
        "ae": _AE,
        "lost_reasons": _LOST_REASONS,
        "backlog": _BACKLOG,
        "end_states": _END_STATES,
    }
    if list(rows) != list(SECTION_TITLES):
        raise RuntimeError("the registry's sections must be SECTION_TITLES, in that order")
    return [k for section, entries in rows.items() for k in _section(section, entries)]


# --------------------------------------------------------------------------- the lookups

# Every entry by ``section.name``, in report order; a pattern entry under its stand-in name.
# Read-only: the registry is changed in this file, never at run time.
KPIS: Mapping[str, KPI] = MappingProxyType({k.key: k for k in _registry()})
_PATTERNS: dict[str, KPI] = {k.section: k for k in KPIS.values() if k.pattern}
# A bare name: the first section that has it (reversed, so that the first one stays).
_BY_NAME: dict[str, KPI] = {k.name: k for k in reversed(list(KPIS.values())) if not k.pattern}


def kpi(section: str, name: str) -> KPI:
    """The entry of a report key: its own, or its section's pattern (a source, a lost reason)."""
    found = KPIS.get(f"{section}.{name}") or _PATTERNS.get(section)
    if found is None:
        raise KeyError(f"no KPI {section}.{name} in the registry (simfunnel/results/kpis.py)")
    return found


def find_kpi(name: str, section: str | None = None) -> KPI | None:
    """The entry of a key as a user may write it: with its section, or bare (the first section
    in report order that has it, as ``--kpi`` reads it); None for a key the registry lacks."""
    if section is None:
        return _BY_NAME.get(name)
    try:
        return kpi(section, name)
    except KeyError:
        return None


def section_kpis(section: str) -> tuple[KPI, ...]:
    """The entries of one section, in report order."""
    return tuple(k for k in KPIS.values() if k.section == section)
