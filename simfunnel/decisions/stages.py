"""Where one run's funnel leaks: each stage's conversion against a benchmark range.

The stages are serial, so lifting one to the low end of its range multiplies the output by
low / rate whatever the others do: the stage with the largest such factor is the bottleneck.
Per-team connect and contact rates and the share of MQLs ever attempted are detail rows that say
*why* the contact stage leaks. :mod:`simfunnel.decisions.diagnosis` builds its verdict on this
table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from ..base.formatting import share
from ..results import SimulationResult

Range = tuple[float, float]

# Published figures (../shared/DOMAIN.md, "Published figures"): the Demand Waterfall ranges,
# and cold outbound connect rates per dial (5-13%, Gong 2024 / Belkins 2025). SDR connect and
# contact follow seed 001 (the Konica Minolta case): a connect rate near 50% means check the
# list quality, so the range starts at 60%; a low contact rate means fix the opening talk, and
# "low" is below 20% of connects (the published ~10% of first calls reaching the person, at the
# 50% connect rate the case already calls a list problem). No published range exists for SQL ->
# valid or valid -> won alone: give them with ``ranges=`` to judge them.
DEFAULT_RANGES: dict[str, Range] = {
    "inquiry_to_mql": (0.10, 0.25),
    "mql_to_sal": (0.40, 0.60),
    "sal_to_sql": (0.50, 0.70),
    "sql_to_won": (0.20, 0.30),
    "sdr_connect_rate": (0.60, 1.00),
    "sdr_contact_rate": (0.20, 1.00),
    "bdr_connect_rate": (0.05, 0.13),
}
# What to do when a row is below its range (the seeds' diagnostics).
ADVICE = {
    "sdr_connect_rate": "check the list quality",
    "bdr_connect_rate": "check the list quality",
    "sdr_contact_rate": "fix the opening talk",
    "bdr_contact_rate": "fix the opening talk",
    "mql_attempted": "give the SDRs time to call",
}

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
    "advice",
]


# What each row is: key -> (stage, kind, parent, lever). A "stage" is serial; a "detail"
# explains its parent stage. The figures come from the run (:func:`_rows`).
_ROW_MEANINGS: dict[str, tuple[str, str, str | None, str]] = {
    "inquiry_to_mql": ("inquiry -> MQL", "stage", None, "scoring and lead mix"),
    "mql_to_sal": ("MQL -> reached", "stage", None, "reaching the MQLs"),
    "mql_attempted": ("MQLs attempted", "detail", "mql_to_sal", "SDR time to call"),
    "sdr_connect_rate": ("SDR connect rate", "detail", "mql_to_sal", "list quality"),
    "sdr_contact_rate": ("SDR contact rate", "detail", "mql_to_sal", "opening talk"),
    "sal_to_sql": ("reached -> SQL", "stage", None, "qualification"),
    "sql_to_won": ("SQL -> won", "stage", None, "AE acceptance and closing"),
    "sql_to_valid": ("SQL -> valid opportunity", "detail", "sql_to_won", "toss-up quality"),
    "valid_to_won": (
        "valid opportunity -> won (open at win odds)",
        "detail",
        "sql_to_won",
        "closing",
    ),
    "account_to_sgl": ("account -> reached", "stage", None, "reaching the accounts"),
    "bdr_connect_rate": ("BDR connect rate", "detail", "account_to_sgl", "list quality"),
    "bdr_contact_rate": ("BDR contact rate", "detail", "account_to_sgl", "opening talk"),
    "sgl_to_sql": ("account reached -> SGL", "stage", None, "qualification"),
}


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


def _row(key: str, numerator: float, denominator: float, rate: float | None = None) -> _Row:
    """A row of the table: what it is from ``_ROW_MEANINGS``, its figures from the run."""
    return _Row(key, *_ROW_MEANINGS[key], numerator, denominator, rate)


def _rows(result: SimulationResult) -> list[_Row]:
    """The stages and their detail rows. The waterfall's MQL -> SAL and SAL -> SQL ranges judge
    the MQLs inside sales reached (engaged) and the reached that became SQLs (results.py now
    counts SALs and SGLs as SQLs split by origin, so SAL -> SQL itself would always be 1)."""
    t, m, teams, r = result.totals, result.by_motion, result.teams, result.rates
    # Won of every valid opportunity, the open ones counted at their win probability: of the
    # deals closed inside a horizon shorter than the cycle, losses (which close faster) are
    # over-represented, and a quarter of a 90-day cycle once read 4% against 12% for the year.
    won = t["won"] + t["open_wins_expected"]
    deals = t["won"] + t["lost"] + t["open_opportunities"]
    win = won / deals if deals > 0 else math.nan
    sql_to_won = r["sql_to_valid"] * win
    rows = [
        _row("inquiry_to_mql", t["mqls"], t["leads"]),
        _row("mql_to_sal", m["inbound_contacted"], t["mqls"]),
        _row("mql_attempted", m["inbound_attempted"], t["mqls"]),
        _row("sdr_connect_rate", teams["sdr_connects"], teams["sdr_dials"]),
        _row("sdr_contact_rate", teams["sdr_contacts"], teams["sdr_connects"]),
        _row("sal_to_sql", m["inbound_sqls"], m["inbound_contacted"]),
        _row("sql_to_won", math.nan, math.nan, sql_to_won),
        _row("sql_to_valid", math.nan, math.nan, r["sql_to_valid"]),
        _row("valid_to_won", won, deals),
    ]
    if result.scenario.outbound is not None:
        rows += [
            _row("account_to_sgl", m["outbound_contacted"], m["outbound_attempted"]),
            _row("bdr_connect_rate", teams["bdr_connects"], teams["bdr_dials"]),
            _row("bdr_contact_rate", teams["bdr_contacts"], teams["bdr_connects"]),
            _row("sgl_to_sql", m["outbound_sqls"], m["outbound_contacted"]),
        ]
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
        rate = row.rate if row.rate is not None else share(row.numerator, row.denominator)
        low, high = bounds.get(row.key, (math.nan, math.nan))
        if math.isnan(low) or math.isnan(rate):
            status = "no range" if math.isnan(low) else "no data"
            gap, uplift = math.nan, math.nan
        else:
            status = "below" if rate < low else "above" if rate > high else "within"
            gap = max(0.0, low - rate)
            # The factor that lifts the stage to its range's low end: 1 where it is there already
            # (a factor below 1 would read as a cut).
            uplift = 1.0 if rate >= low else low / rate if rate > 0 else math.inf
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
                "advice": ADVICE.get(row.key, "") if status == "below" else "",
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
