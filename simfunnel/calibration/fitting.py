"""Calibration from CRM exports: ``fit`` reads lead, call and opportunity tables, fits what the
data can give and returns a :class:`Calibration`, whose scenario runs.

A simulation is only as credible as its parameters, and teams have CRM exports rather than
parameters. The readers (``read_leads``, ``read_calls``, ``read_opportunities``, in
:mod:`simfunnel.data`) take the three tables a team can pull: a documented column mapping per
style, dates in any common format, every bad row reported with its line and never dropped
silently. ``fit`` then measures arrivals, conversions, stage durations with censoring, call
rates, deal values and the score curve, and writes a scenario with each fitted value's
interval and basis in a comment and the capacity figures the data cannot give marked as
assumptions. The steps live beside this module: ``estimators`` (the statistics),
``lead_stats`` (what the lead table tells), ``calls`` (what the call log tells), ``capacity``
(who does the work), ``recent`` (the present rather than the average), ``builder`` (the
scenario), ``uncertainty``, ``overrides`` (the user's values) and ``checks`` (refusals and
warnings).

Two choices shape the scenario it writes (docs/calibration.md says more):

- rates are the *observed* ones, so speed-to-lead decay is switched off (``speed_to_lead:
  {enabled: false}``): the data show contact and qualification at the team's present response
  times, and applying the default decay on top would count it twice;
- quality effects are set to 0: exports do not show latent quality, so the fitted
  probabilities are averages over the leads seen. The score curve (``score_curve``) shows how
  much the score says, for setting them by hand.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

# The readers live in simfunnel.data; their names are imported back so that
# ``from simfunnel.calibration.fitting import read_leads, CalibrationError, ...`` keeps working.
from ..base.files import save_figure, write_csv
from ..data import (
    CONTROL_CHARS,
    CalibrationError,
    ExportTable,
    check_exports,
    parse_timestamp,
    read_calls,
    read_leads,
    read_opportunities,
)
from ..scenario import ScenarioError, load_scenario, scenario_from_dict
from .builder import Estimates, build_scenario
from .calls import fit_calls
from .capacity import active_last_month, capacity_notes, capacity_table
from .checks import (
    MIN_LEADS,
    SHORT_PERIOD_WEEKS,
    blame,
    collapsed_stages,
    enough,
    small_samples,
    validate,
)
from .estimators import DISTS
from .lead_stats import (
    arrival_tables,
    conversion_table,
    deal_value_fits,
    score_tables,
    stage_durations,
)
from .overrides import apply_overrides
from .recent import present_rates
from .records import fmt, one_line, plain_values, warn
from .uncertainty import known_by_the_user

__all__ = [
    "MIN_LEADS",
    "Calibration",
    "CalibrationError",
    "ExportTable",
    "check_exports",
    "fit",
    "parse_timestamp",
    "read_calls",
    "read_leads",
    "read_opportunities",
]

# --------------------------------------------------------------------------- the result

# How each kind of parameter is marked in the YAML comments.
_TAGS = {"assumption": "ASSUMPTION", "user": "SET BY THE USER"}


@dataclass(eq=False)
class Calibration:
    """What :func:`fit` found, as tidy tables, and the scenario it implies.

    Tables: ``arrivals`` (per source: leads, weeks, rate per week and its exact Poisson
    interval, office-hours share), ``weekly`` (per source and week: leads and the multiplier
    against the mean), ``dispersion`` (per source: index of dispersion of weekly counts and the
    p-value of a constant Poisson rate), ``conversion`` (per stage and source: n, k, rate,
    Wilson interval), ``durations`` (per stage: the candidate fits, ``chosen`` by AIC),
    ``survival`` (Kaplan-Meier per stage), ``deal_values`` (fits of the amounts),
    ``score_curve`` and ``thresholds`` (when scores exist), ``attempts`` (leads by number of
    calls), ``by_attempt`` (connect and contact rates by attempt number), ``call_durations``,
    ``parameters`` (every scenario value written, with its interval, basis and whether it was
    fitted, assumed or set by the user), ``capacity`` (per role and month, the owners active:
    SDRs from the call log's reps, AEs from the deals' owners), ``overrides`` (the values the
    user set) and ``report`` (every row excluded or changed, and why, and the ``warnings``:
    values fitted from small samples, a score column that says nothing).
    """

    tables: dict[str, ExportTable]
    start: pd.Timestamp
    as_of: pd.Timestamp
    horizon_weeks: int
    arrivals: pd.DataFrame
    weekly: pd.DataFrame
    dispersion: pd.DataFrame
    conversion: pd.DataFrame
    durations: pd.DataFrame
    survival: pd.DataFrame
    deal_values: pd.DataFrame
    score_curve: pd.DataFrame
    thresholds: pd.DataFrame
    attempts: pd.DataFrame
    by_attempt: pd.DataFrame
    call_durations: pd.DataFrame
    parameters: pd.DataFrame
    notes: list[str]
    _scenario: dict[str, Any]
    warnings: list[dict[str, Any]] = field(default_factory=list)
    capacity: pd.DataFrame = field(default_factory=pd.DataFrame)
    overrides: dict[str, Any] = field(default_factory=dict)
    cohorts: Any = (
        None  # the cohort model (simfunnel.calibration.cohorts.CohortModel), if it could be fitted
    )

    @property
    def report(self) -> pd.DataFrame:
        """Every problem of every table read, with file, line, column, problem and action, and
        the fit's warnings (``action = warning``)."""
        columns = ["file", "line", "column", "problem", "value", "action"]
        frames = [t.report for t in self.tables.values() if not t.report.empty]
        if self.warnings:
            frames.append(pd.DataFrame(self.warnings, columns=columns).astype({"line": "Int64"}))
        if not frames:
            return pd.DataFrame(columns=columns)
        return pd.concat(frames, ignore_index=True)

    def scenario_dict(self) -> dict[str, Any]:
        """The fitted scenario as plain data (``scenario_from_dict`` reads it)."""
        return plain_values(self._scenario)

    def scenario(self) -> Any:
        """The fitted scenario, validated."""
        return scenario_from_dict(self.scenario_dict(), source="<calibration>")

    def to_yaml(self) -> str:
        """The scenario as YAML, each section preceded by comments with the fitted values,
        their 95% intervals and bases, and the assumptions marked ASSUMPTION."""
        data = self.scenario_dict()
        lines = [
            "# Scenario fitted by simfunnel.calibration.fitting: every value below is either FITTED from",
            "# the exports (with its 95% interval and what it rests on) or an ASSUMPTION that",
            "# the data cannot give: check the assumptions before trusting capacity questions.",
        ]
        for t in self.tables.values():
            lines.append(
                f"# {t.kind}: {t.path}: {t.rows_read} rows, {len(t.data)} used, "
                f"{t.excluded} excluded (see the calibration report); dates {t.date_format}"
            )
        lines.append(
            f"# data period: {self.start:%Y-%m-%d %H:%M} to {self.as_of:%Y-%m-%d %H:%M} "
            f"({(self.as_of - self.start).total_seconds() / 604800:.1f} weeks)"
        )
        lines.extend(f"# note: {n}" for n in self.notes)
        lines.extend(
            f"# WARNING {w['column'] + ': ' if w['column'] else ''}{w['problem']}"
            for w in self.warnings
        )
        params = self.parameters
        for _, p in params[params["kind"] == "check"].iterrows():
            lines.append(
                f"# CHECK {p['parameter']} = {fmt(p['value'], 4)} (95% {fmt(p['low'], 4)} to "
                f"{fmt(p['high'], 4)}): {p['basis']}"
            )
        for key, value in data.items():
            mine = params[params["parameter"].str.split(".").str[0].str.split("[").str[0] == key]
            if len(mine):
                lines.append("")
            if key == "uncertainty":
                lines += [
                    "",
                    "# UNCERTAINTY: how far each value fitted from data may be off (the estimate's",
                    "# standard error, not the week-to-week noise the simulation adds). `simfunnel",
                    "# forecast` draws them once per replication, so its bands cover both;",
                    "# --no-parameter-draws holds the values above fixed.",
                ]
            for _, p in mine.iterrows():
                interval = ""
                if p["low"] is not None and not pd.isna(p["low"]):
                    interval = f" (95% {fmt(p['low'], 4)} to {fmt(p['high'], 4)})"
                tag = _TAGS.get(p["kind"], str(p["kind"]).upper())
                value_text = fmt(p["value"], 4) if isinstance(p["value"], float) else p["value"]
                lines.append(f"# {tag} {p['parameter']} = {value_text}{interval}: {p['basis']}")
            flow = None if isinstance(value, dict | list) else False
            if key == "uncertainty":  # one field a line: the bases are sentences
                flow = False
            dumped = yaml.safe_dump(
                {key: plain_values(value)}, sort_keys=False, default_flow_style=flow
            )
            lines.append(dumped.rstrip("\n"))
        # A comment is one line: a line break (or any control character) in a file name or a
        # source name would end it early and put the rest into the YAML.
        lines = [CONTROL_CHARS.sub(" ", x) if x.startswith("#") else x for x in lines]
        return "\n".join(lines) + "\n"

    def write_scenario(self, path: str | Path) -> Path:
        """Write the commented scenario YAML and return the path: to a temporary name first,
        loaded back and checked there, and only then renamed over ``path``, so a scenario that
        fails its own check never replaces a good file (CalibrationError, naming the CSV
        column behind the bad value)."""
        path = Path(path)
        if path.is_dir():
            raise CalibrationError(f"{path}: a directory; name the scenario file to write")
        validate(self._scenario, self.tables)
        text = self.to_yaml()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CalibrationError(
                f"{path.parent}: cannot make the folder ({exc.strerror})"
            ) from None
        temporary = path.with_name(f".tmp-{secrets.token_hex(4)}-{path.name}")
        try:
            temporary.write_text(text, encoding="utf-8")
            load_scenario(temporary)
            os.replace(temporary, path)
        except ScenarioError as exc:
            raise CalibrationError(one_line(blame(exc.problems, self.tables))) from None
        except OSError as exc:
            raise CalibrationError(f"{path}: cannot write it ({exc.strerror or exc})") from None
        finally:
            temporary.unlink(missing_ok=True)
        return path

    def plot(self, stage: str = "sales_cycle", ax: Any = None) -> Any:
        """Kaplan-Meier survival of a stage against the chosen parametric fit; returns the axes."""
        if ax is None:
            import matplotlib.pyplot as plt  # heavy, and only needed to plot

            _, ax = plt.subplots(figsize=(7, 4))
        km = self.survival[self.survival["stage"] == stage]
        if km.empty:
            raise ValueError(f"no durations for stage {stage!r}")
        ax.step(km["time"], km["survival"], where="post", label="Kaplan-Meier", color="C0")
        best = self.durations[(self.durations["stage"] == stage) & self.durations["chosen"]]
        if len(best):
            b = best.iloc[0]
            x = np.linspace(0, float(km["time"].max()), 200)
            if b["dist"] == "fixed":
                sf = (x < b["median"]).astype(float)
                label = f"fixed at {b['median']:g} days"
            else:
                sf = DISTS[b["dist"]](b["shape"], scale=b["scale"]).sf(x)
                label = f"{b['dist']} (AIC best, KS {b['ks']:.3f})"
            ax.plot(x, sf, "--", color="C1", label=label)
        ax.set_xlabel("days")
        ax.set_ylabel("share still open")
        ax.set_title(f"{stage}: censored records included")
        ax.legend()
        ax.grid(alpha=0.3)
        return ax

    def save(self, directory: str | Path, *, dpi: int = 100) -> dict[str, Path]:
        """Write the calibration report to ``directory`` (created if need be); return the paths
        by name.

        ``arrivals.csv``, ``conversion.csv``, ``durations.csv``, ``deal_values.csv``,
        ``parameters.csv`` and ``report.csv`` always (a table the data could not give is
        written with its header only, or empty); the other tables (``weekly``, ``dispersion``,
        ``survival``, ``score_curve``, ``thresholds``, ``attempts``, ``by_attempt``,
        ``call_durations``, ``capacity``) when they have rows; ``survival_<stage>.png``,
        Kaplan-Meier against the chosen fit (:meth:`plot`), per stage with durations; and
        ``scenario.yaml``, the commented scenario (:meth:`write_scenario`).
        """
        from matplotlib.figure import Figure  # heavy, and only needed to save the figures

        out = Path(directory)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CalibrationError(f"{out}: cannot make the folder ({exc.strerror})") from None
        paths: dict[str, Path] = {}
        always = ("arrivals", "conversion", "durations", "deal_values", "parameters", "report")
        optional = (
            "weekly",
            "dispersion",
            "survival",
            "score_curve",
            "thresholds",
            "attempts",
            "by_attempt",
            "call_durations",
            "capacity",
        )
        for name in (*always, *optional):
            table = getattr(self, name)
            if name in optional and table.empty:
                continue
            paths[name] = out / f"{name}.csv"
            write_csv(table, paths[name])  # atomic, text cells made inert for spreadsheets
        stages = list(dict.fromkeys(self.survival["stage"])) if not self.survival.empty else []
        for stage in stages:
            fig = Figure(figsize=(7, 4))
            self.plot(stage, ax=fig.subplots())
            fig.tight_layout()
            paths[f"survival_{stage}"] = out / f"survival_{stage}.png"
            save_figure(fig, paths[f"survival_{stage}"], dpi=dpi)
        paths["scenario"] = self.write_scenario(out / "scenario.yaml")
        return paths

    def __repr__(self) -> str:
        n = len(self.tables["leads"].data) if "leads" in self.tables else 0
        return (
            f"Calibration({n} leads, {self.start:%Y-%m-%d} to {self.as_of:%Y-%m-%d}, "
            f"{len(self.parameters)} parameters, {len(self.report)} report rows)"
        )


def _as_table(x: ExportTable | str | Path | None, reader: Any, **kw: Any) -> ExportTable | None:
    """A table given as a path read with ``reader``; a table already read as it is."""
    if x is None or isinstance(x, ExportTable):
        return x
    return reader(x, **kw)


def fit(
    leads: ExportTable | str | Path,
    calls: ExportTable | str | Path | None = None,
    opportunities: ExportTable | str | Path | None = None,
    *,
    style: str = "hubspot",
    mapping: Any = None,
    date_format: str | None = None,
    start: Any = None,
    as_of: Any = None,
    horizon_weeks: int = 13,
    name: str = "fitted",
    encoding: str | None = None,
    sep: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    since: Any = None,
    half_life_weeks: float | None = None,
) -> Calibration:
    """Fit a scenario from exports (paths, or tables from the ``read_*`` functions).

    ``start`` and ``as_of`` bound the period the data cover (defaults: the day of the first
    lead, and the latest plausible date in any table, :func:`simfunnel.data.check_exports`):
    arrival rates divide by it, and records still open at ``as_of`` are right-censored there.
    The scenario written starts at ``as_of`` and runs ``horizon_weeks``, after a warm-up long
    enough to fill the pipeline. ``overrides``: scenario fields by dotted path (``{"sdr.headcount":
    32, "sources[web].rate_per_week": 70}``) that the user knows better than the exports; set
    after the fit, validated like a scenario file, marked "set by the user" in the YAML.
    Arrival rates and the MQL->SQL and SQL->opportunity rates describe the present where the
    cohort model finds it differs from the average (:mod:`simfunnel.calibration.recent`); ``since`` and
    ``half_life_weeks`` choose its window (default: all cohorts, or those since a detected
    shift).

    Refused with :class:`CalibrationError` (one line): fewer than ``MIN_LEADS`` usable leads
    in the period or fewer than ``MIN_MQLS`` MQLs, and a scenario that would fail its own
    validation (naming the CSV column behind the bad value). Values fitted from fewer than
    ``SMALL_SAMPLE`` events are kept with a warning (``warnings``, the report and the YAML).
    """
    kw = {"style": style, "mapping": mapping, "date_format": date_format}
    kw |= {"encoding": encoding, "sep": sep}
    inputs = _checked_inputs(
        _as_table(leads, read_leads, **kw),
        _as_table(calls, read_calls, **kw),
        _as_table(opportunities, read_opportunities, **kw),
        start,
        as_of,
        horizon_weeks,
    )
    frames, est = _measure(inputs, since, half_life_weeks)
    scenario, params = build_scenario(name, inputs.as_of, horizon_weeks, est)
    small_samples(
        inputs.warned,
        inputs.tables,
        est.arrivals,
        est.conversion,
        est.chosen,
        est.deal_values,
        est.calls,
    )
    collapsed_stages(inputs.warned, inputs.tables["leads"], est.leads, est.cohorts)
    validate(scenario, inputs.tables)
    user = overrides or {}
    scenario = known_by_the_user(scenario, apply_overrides(scenario, user, params), user)
    return Calibration(
        tables=inputs.tables,
        start=inputs.start,
        as_of=inputs.as_of,
        horizon_weeks=horizon_weeks,
        parameters=pd.DataFrame(params),
        notes=inputs.notes,
        _scenario=scenario,
        warnings=inputs.warned,
        cohorts=est.cohorts,
        overrides=dict(user),
        **frames,
    )


@dataclass(eq=False)
class _Inputs:
    """The exports checked against each other and the data period: what each step reads.
    ``leads``: the lead table's rows, source filled; ``outside``: leads created outside the
    period; ``notes`` and ``warned`` gather what the steps say."""

    tables: dict[str, ExportTable]
    calls: ExportTable | None
    opportunities: ExportTable | None
    leads: pd.DataFrame
    start: pd.Timestamp
    as_of: pd.Timestamp
    weeks: float
    outside: pd.Series
    notes: list[str]
    warned: list[dict[str, Any]]


def _checked_inputs(
    lt: ExportTable | None,
    ct: ExportTable | None,
    ot: ExportTable | None,
    start: Any,
    as_of: Any,
    horizon_weeks: Any,
) -> _Inputs:
    """The tables checked (:func:`simfunnel.data.check_exports`) and the data period set,
    refusing what no fit can use: no lead table, a bad horizon, an empty period, too few
    leads or MQLs; a short period is kept with a warning."""
    if lt is None:
        raise CalibrationError("fit needs a lead table")
    if isinstance(horizon_weeks, bool) or not isinstance(horizon_weeks, int) or horizon_weeks < 1:
        raise CalibrationError(f"horizon_weeks must be a whole number >= 1 (got {horizon_weeks!r})")
    t0 = parse_timestamp(start, "start") if start is not None else None
    if len(lt.data) < MIN_LEADS:  # before the checks across tables, which would say less
        enough(lt, lt.data, pd.Series(False, index=lt.data.index), None, None)
    lt, ct, ot, t1 = check_exports(lt, ct, ot, as_of=as_of)
    tables = {"leads": lt} | ({"calls": ct} if ct else {}) | ({"opportunities": ot} if ot else {})
    L = lt.data.copy()
    L["source"] = L["source"].fillna("unknown")
    notes: list[str] = []
    warned: list[dict[str, Any]] = []
    if t0 is None:
        t0 = L["created"].min().normalize()
    weeks = (t1 - t0).total_seconds() / 604800
    if weeks <= 0:
        raise CalibrationError(
            f"{lt.path}: the data period is empty (start {t0:%Y-%m-%d %H:%M} is not before the "
            f"as-of date {t1:%Y-%m-%d %H:%M})"
        )
    outside = (L["created"] < t0) | (L["created"] > t1)
    if outside.any():
        notes.append(f"{int(outside.sum())} leads created outside the period left out of rates")
    enough(lt, L, outside, t0, t1)
    if weeks < SHORT_PERIOD_WEEKS:
        warn(
            warned,
            lt.path,
            lt.columns.get("created"),
            f"the data period is {weeks * 7:.1f} days ({t0:%Y-%m-%d %H:%M} to "
            f"{t1:%Y-%m-%d %H:%M}): rates from under {SHORT_PERIOD_WEEKS} weeks",
        )
    return _Inputs(tables, ct, ot, L, t0, t1, weeks, outside, notes, warned)


def _measure(
    inputs: _Inputs, since: Any, half_life_weeks: float | None
) -> tuple[dict[str, pd.DataFrame], Estimates]:
    """Every table the fit reports (by the name of its :class:`Calibration` field) and what
    the scenario is built from; notes and warnings go to ``inputs``."""
    L, t0, t1, notes = inputs.leads, inputs.start, inputs.as_of, inputs.notes
    ct, ot = inputs.calls, inputs.opportunities
    arrivals = arrival_tables(L[~inputs.outside], t0, t1, inputs.weeks)
    notes.extend(arrivals.notes)
    conversion = conversion_table(L)
    cohorts, rates, conversion, said = present_rates(
        L[~inputs.outside], t0, t1, arrivals.rates, conversion, since, half_life_weeks
    )
    notes.extend(said)
    durations, survival, chosen, said = stage_durations(L, ot, t1)
    notes.extend(said)
    deal_values = deal_value_fits(L, ot)
    score_tab, thresholds, threshold = score_tables(L, inputs.tables["leads"], inputs.warned)
    # Calls (those for leads not in the lead table were excluded by check_exports).
    attempts, by_attempt, call_durations = pd.DataFrame(), pd.DataFrame(), pd.DataFrame()
    call_fit: dict[str, Any] = {}
    if ct is not None and not ct.data.empty:
        attempts, by_attempt, call_durations, call_fit = fit_calls(ct.data, L)
    capacity = capacity_table(ct, ot, call_fit.get("reps", []), t0, t1)
    active = active_last_month(capacity)
    notes.extend(capacity_notes(capacity, active))
    frames = {
        "arrivals": rates,
        "weekly": arrivals.weekly,
        "dispersion": arrivals.dispersion,
        "conversion": conversion,
        "durations": durations,
        "survival": survival,
        "deal_values": deal_values,
        "score_curve": score_tab,
        "thresholds": thresholds,
        "attempts": attempts,
        "by_attempt": by_attempt,
        "call_durations": call_durations,
        "capacity": capacity,
    }
    est = Estimates(
        L,
        rates,
        arrivals.seasons,
        conversion,
        chosen,
        deal_values,
        threshold,
        call_fit,
        ot,
        active,
        cohorts,
    )
    return frames, est
