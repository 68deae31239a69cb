"""What one more unit of each lever buys: the binding constraint, measured.

Utilisation says which team is busy, not what relief would buy. Each lever (one more rep of each
calling role, one more AE with a finite team, another queue rule) is run against the scenario as
it is on common random numbers, and the lever whose valid-opportunity gain is largest, with its
interval above 0, is the binding constraint.
"""

from __future__ import annotations

import math
from typing import Any, cast

import pandas as pd

from ..experiments import Experiment
from ..scenario import Scenario

ROLE_NAME = {"sdr": "SDR", "bdr": "BDR", "ae": "AE"}


ROLE_PATHS = {"sdr": "sdr", "bdr": "outbound.bdr", "ae": "ae.team"}


def headcount_path(scenario: Scenario, role: str) -> str:
    """The scenario field of the role's headcount; a role the scenario lacks is refused."""
    if role not in ROLE_PATHS:
        raise ValueError(f"role must be one of {', '.join(ROLE_PATHS)} (got {role!r})")
    if role == "bdr" and scenario.outbound is None:
        raise ValueError("role 'bdr' needs an outbound section in the scenario")
    if role == "ae" and scenario.ae.team is None:
        raise ValueError("role 'ae' needs ae.team in the scenario (otherwise AEs are unlimited)")
    return ROLE_PATHS[role] + ".headcount"


def staff_of(scenario: Scenario, role: str) -> Any:
    """The role's team settings (None for a role the scenario lacks)."""
    return {
        "sdr": scenario.sdr,
        "bdr": getattr(scenario.outbound, "bdr", None),
        "ae": scenario.ae.team,
    }[role]


def role_name(role: str, n: float | None) -> str:
    """A role as the verdicts name ``n`` of them: ``1 SDR``, ``3 SDRs``."""
    return role.upper() + ("" if n == 1 else "s")


def lever_variants(scenario: Any) -> dict[str, dict[str, Any]]:
    """One more unit of each lever, as overrides: one more rep of each calling role present,
    one more AE (only with a finite AE team), and each queue rule other than the scenario's."""
    out: dict[str, dict[str, Any]] = {"sdr": {"sdr.headcount": scenario.sdr.headcount + 1}}
    if scenario.outbound is not None:
        out["bdr"] = {"outbound.bdr.headcount": scenario.outbound.bdr.headcount + 1}
    if scenario.ae.team is not None:
        out["ae"] = {"ae.team.headcount": scenario.ae.team.headcount + 1}
    for rule in ("new_first", "fifo", "score"):
        if rule != scenario.sdr.queue_rule:
            out[f"queue_rule:{rule}"] = {"sdr.queue_rule": rule}
    return out


def lever_table(experiment: Experiment) -> pd.DataFrame:
    """Per lever: valid opportunities and wins gained against the scenario as it is (``now``),
    paired over replications, with 95% intervals; ``significant``: the valid-opportunity gain's
    interval is above 0; ``binding``: the significant lever that gains most."""
    d = experiment.compare(baseline="now")
    d = d[d["section"] == "totals"].set_index(["variant", "metric"])
    rows = []
    for key in [v for v in experiment.variants if v != "now"]:
        rule = key.startswith("queue_rule:")
        what = f"queue rule {key[len('queue_rule:') :]}" if rule else f"one more {ROLE_NAME[key]}"
        row: dict[str, Any] = {"lever": key, "what": what}
        for metric, name in (("valid_opportunities", "valid"), ("won", "won")):
            # A full (variant, metric) key of the MultiIndex picks one row; the stubs read the
            # tuple as (row, column) and type the result as a single cell.
            c = cast(pd.Series, d.loc[(key, metric)])
            row |= {f"{name}_now": float(c["baseline_mean"]), f"{name}_gain": float(c["diff"])}
            row |= {f"{name}_low": float(c["ci_low"]), f"{name}_high": float(c["ci_high"])}
        now = row["valid_now"]
        row["valid_gain_share"] = row["valid_gain"] / now if now else math.nan
        rows.append(row | {"significant": row["valid_low"] > 0})
    table = pd.DataFrame(rows)
    table["binding"] = False
    sig = table[table["significant"]] if not table.empty else table
    if not sig.empty:
        table.loc[sig["valid_gain"].idxmax(), "binding"] = True
    return table


def lever_sentence(levers: pd.DataFrame, reps: int) -> str:
    """The levers in words: each gain with its interval, and the binding one."""
    if levers.empty:
        return ""
    parts = []
    for _, r in levers.sort_values("valid_gain", ascending=False).iterrows():
        share = r["valid_gain_share"]
        parts.append(
            f"{r['what']} {r['valid_gain']:+,.0f} valid opportunities ("
            + (f"{share:+.0%}, " if share == share else "")
            + f"95% CI {r['valid_low']:+,.0f} to {r['valid_high']:+,.0f}) and "
            f"{r['won_gain']:+,.0f} wins (95% CI {r['won_low']:+,.0f} to {r['won_high']:+,.0f})"
        )
    text = f"What one more unit of each lever buys ({reps} replications, common random numbers): "
    text += "; ".join(parts) + "."
    top = levers[levers["binding"]]
    if top.empty:
        return text + (
            " No lever buys a significant gain (no interval above 0): neither capacity nor the "
            "queue rule binds; the stages are where to look."
        )
    key = str(top.iloc[0]["lever"])
    what = (
        f"the queue rule ({key.split(':', 1)[1]} buys most)"
        if key.startswith("queue_rule:")
        else f"{ROLE_NAME[key]} capacity (one more {ROLE_NAME[key]} buys most)"
    )
    return text + f" The binding constraint: {what}."
