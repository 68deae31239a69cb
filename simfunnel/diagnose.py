"""Bottleneck diagnosis of one run: where the funnel leaks, and which team's capacity binds.

Two questions leaders ask of a run (DOMAIN.md, question 4):

1. *Where does the funnel leak?* Each stage's conversion against a benchmark range (defaults:
   the published waterfall ranges and connect rates in DOMAIN.md; ``ranges=`` overrides). The
   stages are serial, so lifting one stage to the low end of its range multiplies the output by
   low / rate whatever the others do: the stage with the largest such factor is the bottleneck.
   Per-team connect and contact rates, and the share of MQLs ever attempted, are detail rows
   that say *why* the contact stage leaks (list quality, opening talk, or no time to call).
2. *Which capacity binds, and when?* Week by week from ``result.weekly``: SDRs or BDRs at or
   above 90% utilisation, the untouched MQL backlog growing past a week's intake, AEs at or above
   90% occupancy or tossed-up leads waiting for an AE.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .results import SimulationResult

Range = tuple[float, float]

# Published figures (../shared/DOMAIN.md, "Published figures"): the Demand Waterfall ranges,
# and connect rates per dial (inbound MQLs near 50%; cold outbound 5-13%, Gong 2024 / Belkins
# 2025). No published range exists for contact per connect, SQL -> valid or valid -> won alone:
# give them with ``ranges=`` to judge them.
DEFAULT_RANGES: dict[str, Range] = {
    "inquiry_to_mql": (0.10, 0.25),
    "mql_to_sal": (0.40, 0.60),
    "sal_to_sql": (0.50, 0.70),
    "sql_to_won": (0.20, 0.30),
    "sdr_connect_rate": (0.40, 0.60),
    "bdr_connect_rate": (0.05, 0.13),
}

BUSY = 0.9  # utilisation or occupancy at which a team counts as full

_COLUMNS = [
    "key",
    "stage",
    "kind",
    "parent",
    "lever",
    "numerator",
    "denominator",
    "rate",
    "low",
    "high",
    "status",
    "gap",
    "uplift",
    "bottleneck",
]


@dataclass(frozen=True)
class _Row:
    key: str
    stage: str
    kind: str  # "stage" (serial) or "detail" (explains its parent stage)
    parent: str | None
    lever: str
    numerator: float
    denominator: float
    rate: float | None = None  # when not numerator / denominator


def _share(numerator: float, denominator: float) -> float:
    if denominator is None or not denominator or math.isnan(float(denominator)):
        return math.nan
    return float(numerator) / float(denominator)


def _rows(result: SimulationResult) -> list[_Row]:
    t, m, teams, r = result.totals, result.by_motion, result.teams, result.rates
    sql_to_won = r["sql_to_valid"] * r["win_rate"]
    rows = [
        _Row("inquiry_to_mql", "inquiry -> MQL", "stage", None, "scoring and lead mix",
             t["mqls"], t["leads"]),
        _Row("mql_to_sal", "MQL -> SAL", "stage", None, "reaching the MQLs", m["sals"], t["mqls"]),
        _Row("mql_attempted", "MQLs attempted", "detail", "mql_to_sal", "SDR time to call",
             m["inbound_attempted"], t["mqls"]),
        _Row("sdr_connect_rate", "SDR connect rate", "detail", "mql_to_sal", "list quality",
             teams["sdr_connects"], teams["sdr_dials"]),
        _Row("sdr_contact_rate", "SDR contact rate", "detail", "mql_to_sal", "opening talk",
             teams["sdr_contacts"], teams["sdr_connects"]),
        _Row("sal_to_sql", "SAL -> SQL", "stage", None, "qualification",
             m["inbound_sqls"], m["sals"]),
        _Row("sql_to_won", "SQL -> won", "stage", None, "AE acceptance and closing",
             math.nan, math.nan, sql_to_won),
        _Row("sql_to_valid", "SQL -> valid opportunity", "detail", "sql_to_won",
             "toss-up quality", math.nan, math.nan, r["sql_to_valid"]),
        _Row("valid_to_won", "valid opportunity -> won", "detail", "sql_to_won", "closing",
             t["won"], t["won"] + t["lost"]),
    ]  # fmt: skip
    if result.scenario.outbound is not None:
        rows += [
            _Row("account_to_sgl", "account -> SGL", "stage", None, "reaching the accounts",
                 m["sgls"], m["outbound_attempted"]),
            _Row("bdr_connect_rate", "BDR connect rate", "detail", "account_to_sgl",
                 "list quality", teams["bdr_connects"], teams["bdr_dials"]),
            _Row("bdr_contact_rate", "BDR contact rate", "detail", "account_to_sgl",
                 "opening talk", teams["bdr_contacts"], teams["bdr_connects"]),
            _Row("sgl_to_sql", "SGL -> SQL", "stage", None, "qualification",
                 m["outbound_sqls"], m["sgls"]),
        ]  # fmt: skip
    return rows


def _merge_ranges(ranges: Mapping[str, Range | None] | None) -> dict[str, Range]:
    merged: dict[str, Range | None] = dict(DEFAULT_RANGES)
    for key, value in (ranges or {}).items():
        if value is not None:
            low, high = value
            if not 0.0 <= low <= high <= 1.0:
                raise ValueError(f"range for {key!r} must satisfy 0 <= low <= high <= 1")
        merged[key] = value
    return {k: v for k, v in merged.items() if v is not None}


def stage_table(
    result: SimulationResult, ranges: Mapping[str, Range | None] | None = None
) -> pd.DataFrame:
    """Each stage's conversion against its range: status, gap below the low end, and the uplift
    (low / rate: how much the output would multiply if the stage reached the low end).

    ``ranges`` maps row keys to (low, high) shares; ``None`` drops a default. The bottleneck is
    the serial stage with the largest uplift; if no serial stage is below its range, the detail
    row with the largest uplift; if nothing is below, none.
    """
    bounds = _merge_ranges(ranges)
    known = {row.key for row in _rows(result)} | set(DEFAULT_RANGES)
    unknown = sorted(set(ranges or {}) - known)
    if unknown:
        raise ValueError(f"unknown stage keys in ranges: {', '.join(unknown)}")
    records = []
    for row in _rows(result):
        rate = row.rate if row.rate is not None else _share(row.numerator, row.denominator)
        low, high = bounds.get(row.key, (math.nan, math.nan))
        if math.isnan(low) or math.isnan(rate):
            status = "no range" if math.isnan(low) else "no data"
            gap, uplift = math.nan, math.nan
        else:
            status = "below" if rate < low else "above" if rate > high else "within"
            gap = max(0.0, low - rate)
            uplift = low / rate if rate > 0 else math.inf
        records.append(
            {
                "key": row.key,
                "stage": row.stage,
                "kind": row.kind,
                "parent": row.parent,
                "lever": row.lever,
                "numerator": float(row.numerator),
                "denominator": float(row.denominator),
                "rate": rate,
                "low": low,
                "high": high,
                "status": status,
                "gap": gap,
                "uplift": uplift,
                "bottleneck": False,
            }
        )
    table = pd.DataFrame.from_records(records, columns=_COLUMNS)
    below = table[table["status"] == "below"]
    candidates = below[below["kind"] == "stage"]
    if candidates.empty:
        candidates = below
    if not candidates.empty:
        table.loc[candidates["uplift"].idxmax(), "bottleneck"] = True
    return table


# --------------------------------------------------------------------------- capacity


def capacity_weeks(result: SimulationResult, busy: float = BUSY) -> pd.DataFrame:
    """Week by week, which team is at capacity (columns are ``result.weekly``'s):

    - ``sdr_full``: SDR ``utilisation`` >= busy; ``sdr_backlog_grows``: the untouched backlog
      at the week's end (``backlog_end``) rose and exceeds the week's MQLs (more than a week of
      intake waiting for a first call, which weekend arrivals alone never make);
    - ``bdr_full``: ``bdr_utilisation`` >= busy (BDRs research when nothing is due, so this
      means the target list outruns the team), only with an outbound section;
    - ``ae_full``: ``ae_occupancy`` >= busy; ``ae_queue``: ``ae_queue_mean`` > 0 (tossed-up
      leads waited for an AE with room), only with an AE team;
    - ``sdr_binds``, ``bdr_binds``, ``ae_binds``: any of the role's signs.
    """
    w = result.weekly
    out = pd.DataFrame({"week": w["week"], "week_start": w["week_start"]})
    out["sdr_utilisation"] = w["utilisation"]
    out["sdr_full"] = w["utilisation"].fillna(0.0) >= busy
    end = w["backlog_end"].to_numpy(dtype=float)
    rose = np.diff(end, prepend=0.0) > 0
    out["backlog_end"] = w["backlog_end"]
    out["sdr_backlog_grows"] = rose & (end > w["mqls"].to_numpy(dtype=float))
    out["sdr_binds"] = out["sdr_full"] | out["sdr_backlog_grows"]
    if "bdr_utilisation" in w:
        out["bdr_utilisation"] = w["bdr_utilisation"]
        out["bdr_full"] = w["bdr_utilisation"].fillna(0.0) >= busy
        out["bdr_binds"] = out["bdr_full"]
    out["ae_occupancy"] = w["ae_occupancy"]
    out["ae_queue_mean"] = w["ae_queue_mean"]
    out["ae_full"] = w["ae_occupancy"].fillna(0.0) >= busy
    out["ae_queue"] = w["ae_queue_mean"].fillna(0.0) > 0
    out["ae_binds"] = out["ae_full"] | out["ae_queue"]
    return out


_SIGNS = {
    "sdr": (
        ("sdr_full", "utilisation at or above {busy:.0%}"),
        ("sdr_backlog_grows", "the untouched MQL backlog grows"),
    ),
    "bdr": (("bdr_full", "utilisation at or above {busy:.0%}"),),
    "ae": (
        ("ae_full", "occupancy at or above {busy:.0%}"),
        ("ae_queue", "tossed-up leads wait for an AE"),
    ),
}
_LEVEL = {"sdr": "sdr_utilisation", "bdr": "bdr_utilisation", "ae": "ae_occupancy"}


def capacity_table(weeks: pd.DataFrame, busy: float = BUSY) -> pd.DataFrame:
    """One row per role: whether it binds, in how many weeks, from when, and why."""
    records = []
    for role, signs in _SIGNS.items():
        if f"{role}_binds" not in weeks:
            continue
        binds = weeks[f"{role}_binds"].to_numpy(dtype=bool)
        level = weeks[_LEVEL[role]]
        first = int(np.argmax(binds)) if binds.any() else None
        reasons = [
            text.format(busy=busy) for col, text in signs if weeks[col].to_numpy(dtype=bool).any()
        ]
        records.append(
            {
                "role": role,
                "binds": bool(binds.any()),
                "weeks_binding": int(binds.sum()),
                "share_of_weeks": float(binds.mean()) if binds.size else math.nan,
                "first_week": first,
                "first_week_start": weeks["week_start"].iloc[first] if first is not None else None,
                "binding_weeks": [int(x) for x in weeks["week"].to_numpy()[binds]],
                "mean_level": float(level.mean()) if level.notna().any() else math.nan,
                "peak_level": float(level.max()) if level.notna().any() else math.nan,
                "why": " and ".join(reasons),
            }
        )
    table = pd.DataFrame.from_records(records)
    if not table.empty:
        table["first_week"] = table["first_week"].astype("Int64")
    return table


# --------------------------------------------------------------------------- the diagnosis


@dataclass(frozen=True)
class Diagnosis:
    """Where one run's funnel leaks and which capacity binds, with a plain-language verdict.

    ``table``: stages against their ranges (:func:`stage_table`); ``capacity``: one row per
    role (:func:`capacity_table`); ``weeks``: the weekly flags (:func:`capacity_weeks`);
    ``bottleneck``: the key of the flagged stage (None if every stage meets its range);
    ``binding``: the role binding in most weeks (None if no team is at capacity).
    Week numbers are those of ``result.weekly`` (0 is the first week).
    """

    table: pd.DataFrame = field(repr=False)
    capacity: pd.DataFrame = field(repr=False)
    weeks: pd.DataFrame = field(repr=False)
    bottleneck: str | None
    binding: str | None
    verdict: str

    def __str__(self) -> str:
        shown = self.table[["stage", "rate", "low", "high", "status", "uplift", "bottleneck"]]
        return f"{self.verdict}\n\n{shown.to_string(index=False, float_format='{:.3f}'.format)}"


def _pct(x: float) -> str:
    return f"{x:.0%}"


def _range_text(row: pd.Series) -> str:
    return f"{_pct(row['low'])}-{_pct(row['high'])}"


def _leak_sentence(table: pd.DataFrame) -> str:
    flagged = table[table["bottleneck"]]
    if flagged.empty:
        judged = table[table["status"] != "no range"]
        names = ", ".join(judged["stage"])
        return f"Every stage with a benchmark ({names}) is within or above its range."
    row = flagged.iloc[0]
    text = (
        f"The funnel leaks most at {row['stage']} ({row['lever']}): {_pct(row['rate'])} against "
        f"{_range_text(row)}, so reaching the low end would multiply what follows by "
        f"{row['uplift']:.1f}x"
    )
    details = table[(table["parent"] == row["key"]) & table["rate"].notna()]
    if not details.empty:
        parts = []
        for _, d in details.iterrows():
            judged = "" if d["status"] == "no range" else f", {d['status']} {_range_text(d)}"
            parts.append(f"{d['stage']} {_pct(d['rate'])}{judged} ({d['lever']})")
        text += "; " + ", ".join(parts)
    return text + "."


_ROLE_NAME = {"sdr": "SDR", "bdr": "BDR", "ae": "AE"}


def _capacity_sentence(capacity: pd.DataFrame, n_weeks: int) -> str:
    binding = capacity[capacity["binds"]] if not capacity.empty else capacity
    if binding.empty:
        peaks = ", ".join(
            f"{_ROLE_NAME[r['role']]} {_pct(r['peak_level'])}"
            for _, r in capacity.iterrows()
            if not math.isnan(r["peak_level"])
        )
        return f"No team's capacity binds (peak weekly utilisation or occupancy: {peaks})."
    ordered = binding.sort_values(["weeks_binding", "first_week"], ascending=[False, True])
    parts = []
    for i, (_, r) in enumerate(ordered.iterrows()):
        also = " also" if i else ""
        parts.append(
            f"{_ROLE_NAME[r['role']]} capacity{also} binds from week {int(r['first_week'])} "
            f"({r['first_week_start']}), in {r['weeks_binding']} of {n_weeks} weeks: {r['why']}"
        )
    return "; ".join(parts) + "."


def diagnose(
    result: SimulationResult,
    ranges: Mapping[str, Range | None] | None = None,
    *,
    busy: float = BUSY,
) -> Diagnosis:
    """Diagnose one run: the leaking stage against benchmark ranges, and the binding capacity.

    ``ranges`` overrides :data:`DEFAULT_RANGES` by row key (``inquiry_to_mql``, ``mql_to_sal``,
    ``mql_attempted``, ``sdr_connect_rate``, ``sdr_contact_rate``, ``sal_to_sql``,
    ``sql_to_won``, ``sql_to_valid``, ``valid_to_won``, and with outbound ``account_to_sgl``,
    ``bdr_connect_rate``, ``bdr_contact_rate``, ``sgl_to_sql``); a value of None drops a
    default. ``busy`` is the utilisation or occupancy at which a team counts as full.

    Conversions are over the whole run, so stages far down the funnel (wins) undercount what
    was created late and had no time to close; compare runs of the same horizon.
    """
    table = stage_table(result, ranges)
    weeks = capacity_weeks(result, busy)
    capacity = capacity_table(weeks, busy)
    flagged = table.loc[table["bottleneck"], "key"]
    binding_rows = capacity[capacity["binds"]] if not capacity.empty else capacity
    binding = None
    if not binding_rows.empty:
        top = binding_rows.sort_values(["weeks_binding", "first_week"], ascending=[False, True])
        binding = str(top.iloc[0]["role"])
    verdict = f"{_leak_sentence(table)} {_capacity_sentence(capacity, len(weeks))}"
    return Diagnosis(
        table=table,
        capacity=capacity,
        weeks=weeks,
        bottleneck=str(flagged.iloc[0]) if not flagged.empty else None,
        binding=binding,
        verdict=verdict,
    )
