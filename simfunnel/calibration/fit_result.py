"""A fit's result, :class:`Calibration`: the tables :func:`simfunnel.calibration.fitting.fit`
measured, the scenario they imply and its commented YAML, and the answer interface (verdict,
table, charts, files, report, terminal text).

The fit itself (reading, checking, measuring) lives in :mod:`simfunnel.calibration.fitting`;
what the verdict and the report say is in :mod:`simfunnel.calibration.fit_report`.
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

from ..base.files import save_figure, write_csv, write_text
from ..base.formatting import one_line
from ..data import CONTROL_CHARS, CalibrationError, ExportTable
from ..results.answer import AnswerBase, Report
from ..scenario import Scenario, ScenarioError, load_scenario, scenario_from_dict
from .checks import blame, validate
from .estimators import DISTS
from .fit_report import calibration_report, fit_verdict, problem_summary
from .records import fmt, plain_values

__all__ = ["Calibration"]

# How each kind of parameter is marked in the YAML comments.
_TAGS = {"assumption": "ASSUMPTION", "user": "SET BY THE USER"}
# The tables ``save`` writes always (a table the data could not give has its header only) ...
_ALWAYS = ("arrivals", "conversion", "durations", "deal_values", "parameters", "report")
# ... and those it writes when they have rows.
_OPTIONAL = (
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


@dataclass(eq=False, repr=False)
class Calibration(AnswerBase):
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
    fitted, assumed or set by the user; also ``table``), ``capacity`` (per role and month, the
    owners active: SDRs from the call log's reps, AEs from the deals' owners), ``overrides``
    (the values the user set) and ``problems`` (every row excluded or changed, and why, and the
    ``warnings``: values fitted from small samples, a score column that says nothing).
    ``exports``: the tables read, by kind (``leads``, ``calls``, ``opportunities``).
    """

    exports: dict[str, ExportTable]
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
    def problems(self) -> pd.DataFrame:
        """Every problem of every table read, with file, line, column, problem and action, and
        the fit's warnings (``action = warning``); saved as ``report.csv``."""
        columns = ["file", "line", "column", "problem", "value", "action"]
        frames = [t.report for t in self.exports.values() if not t.report.empty]
        if self.warnings:
            frames.append(pd.DataFrame(self.warnings, columns=columns).astype({"line": "Int64"}))
        if not frames:
            return pd.DataFrame(columns=columns)
        return pd.concat(frames, ignore_index=True)

    def scenario_dict(self) -> dict[str, Any]:
        """The fitted scenario as plain data (``scenario_from_dict`` reads it)."""
        return plain_values(self._scenario)

    @property
    def scenario(self) -> Scenario:
        """The fitted scenario, validated."""
        return scenario_from_dict(self.scenario_dict(), source="<calibration>")

    @property
    def verdict(self) -> str:
        """What was fitted from how much data, the window the rates describe and the loudest
        warnings, in words."""
        return fit_verdict(self)

    @property
    def table(self) -> pd.DataFrame:
        """Every value the scenario gets: ``parameters``."""
        return self.parameters

    def to_yaml(self) -> str:
        """The scenario as YAML, each section preceded by comments with the fitted values,
        their 95% intervals and bases, and the assumptions marked ASSUMPTION."""
        data = self.scenario_dict()
        lines = [
            "# Scenario fitted by simfunnel fit: every value below is either FITTED from",
            "# the exports (with its 95% interval and what it rests on) or an ASSUMPTION that",
            "# the data cannot give: check the assumptions before trusting capacity questions.",
        ]
        for t in self.exports.values():
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
        validate(self._scenario, self.exports)
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
            raise CalibrationError(one_line(blame(exc.problems, self.exports))) from None
        except OSError as exc:
            raise CalibrationError(f"{path}: cannot write it ({exc.strerror or exc})") from None
        finally:
            temporary.unlink(missing_ok=True)
        return path

    def plot(self, what: str | None = None, *, ax: Any = None) -> Any:
        """Kaplan-Meier survival of a stage (``what``; default the sales cycle, else the first
        stage with durations) against the chosen parametric fit; returns the axes."""
        stages = self.stages()
        stage = what if what is not None else ("sales_cycle" if "sales_cycle" in stages else None)
        if stage is None and stages:
            stage = stages[0]
        km = self.survival[self.survival["stage"] == stage] if stages else self.survival
        if km.empty:
            raise ValueError(f"no durations for stage {stage!r}")
        if ax is None:
            import matplotlib.pyplot as plt  # heavy, and only needed to plot

            _, ax = plt.subplots(figsize=(7, 4))
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

    def stages(self) -> list[str]:
        """The stages with durations (a survival chart each), in the order fitted."""
        return list(dict.fromkeys(self.survival["stage"])) if not self.survival.empty else []

    def tables(self) -> Mapping[str, pd.DataFrame]:
        """The tables ``save`` writes: ``arrivals``, ``conversion``, ``durations``,
        ``deal_values``, ``parameters`` and ``report`` (``problems``) always, the others when
        they have rows."""
        out = {name: getattr(self, name) for name in _ALWAYS[:-1]} | {"report": self.problems}
        for name in _OPTIONAL:
            if not getattr(self, name).empty:
                out[name] = getattr(self, name)
        return out

    def charts(self) -> Mapping[str, str | None]:
        """``survival_<stage>``: Kaplan-Meier against the chosen fit, per stage with durations."""
        return {f"survival_{stage}": stage for stage in self.stages()}

    def save(self, directory: str | Path, *, dpi: int = 100) -> dict[str, Path]:
        """Write the calibration report to ``directory`` (created if need be); return the paths
        by file name.

        Every table of :meth:`tables` as CSV (``arrivals.csv``, ``report.csv``, ...), every
        chart of :meth:`charts` as PNG (``survival_<stage>.png``), ``scenario.yaml``, the
        commented scenario (:meth:`write_scenario`), and ``verdict.txt``.
        """
        from matplotlib.figure import Figure  # heavy, and only needed to save the figures

        out = Path(directory)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CalibrationError(f"{out}: cannot make the folder ({exc.strerror})") from None
        paths: dict[str, Path] = {}
        for name, table in self.tables().items():
            # atomic, text cells made inert for spreadsheets
            paths[f"{name}.csv"] = write_csv(table, out / f"{name}.csv")
        for name, stage in self.charts().items():
            fig = Figure(figsize=(7, 4))
            self.plot(stage, ax=fig.subplots())
            fig.tight_layout()
            paths[f"{name}.png"] = save_figure(fig, out / f"{name}.png", dpi=dpi)
        paths["scenario.yaml"] = self.write_scenario(out / "scenario.yaml")
        paths["verdict.txt"] = write_text(out / "verdict.txt", self.verdict + "\n")
        return paths

    def text(self) -> str:
        """What ``simfunnel fit`` prints after the scenario's path: the parameters written, the
        rows reported, and those rows counted by file, kind of problem and action, with the
        first lines of each (560 duplicates are one line, not 560)."""
        problems = self.problems
        text = f"{len(self.parameters)} fitted parameters; {len(problems)} rows reported"
        if len(problems):
            table = problem_summary(problems).rename(columns={"lines": "first lines"})
            text += "\n" + table.to_string(index=False)
        return text

    def report(self) -> Report:
        """The HTML report's content: how well the scenario was fitted, from what, and what had
        to be assumed."""
        return calibration_report(self)

    def __repr__(self) -> str:
        n = len(self.exports["leads"].data) if "leads" in self.exports else 0
        return (
            f"Calibration({n} leads, {self.start:%Y-%m-%d} to {self.as_of:%Y-%m-%d}, "
            f"{len(self.parameters)} parameters, {len(self.problems)} report rows)"
        )
