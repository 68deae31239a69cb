"""What an experiment tells a reader: its verdict in words (how many replications of what, whether
they all finished, how precise the means are), the summary ``simfunnel run --reps`` prints, the
spread of one KPI across replications as a chart, and its report. :class:`~.experiment.Experiment`
offers them through the interface of every answer; they read its data (:class:`Replications`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..results import Unit, find_kpi, headline_keys, kpi_text, plots, section_title
from ..results.answer import Report
from ..results.text import level_text
from ..scenario import Currency
from .headline import experiment_points, experiment_tiles
from .intervals import kpi_key
from .replications import Replications

__all__ = [
    "clipped_interval",
    "clipped_note",
    "experiment_report",
    "experiment_verdict",
    "replication_counts",
    "spread",
    "summary_text",
]

_SHOWN_VARIANTS = 4  # variants named in the verdict; more are counted
# Units whose figures are never below 0 (a share also never above 1): counts, shares, times,
# money, headcounts and levels of things waiting. A unit that may go negative stays out.
_NOT_NEGATIVE = frozenset(
    (Unit.COUNT, Unit.SHARE, Unit.DURATION, Unit.HOURS, Unit.MONEY, Unit.HEADCOUNT, Unit.NUMBER)
)


def _what_ran(experiment: Replications) -> str:
    """How many replications of which scenario or variants, with the seed and the horizon."""
    s = experiment.scenario
    names = list(experiment.scenarios)
    if len(names) == 1:
        what = f"{experiment.runs_text()} replications of {s.name}"
    else:
        shown = ", ".join(names[:_SHOWN_VARIANTS])
        if len(names) > _SHOWN_VARIANTS:
            shown += f" and {len(names) - _SHOWN_VARIANTS} more"
        what = (
            f"{experiment.runs_text()} replications of each of {len(names)} variants of {s.name} "
            f"({shown})"
        )
    return f"{what}, seed {experiment.seed}, {s.period} from {s.start_date}"


def replication_counts(experiment: Replications) -> tuple[int, int]:
    """Replications finished, and asked for, over every variant. Under a stopping rule a
    variant still running was asked for the round it was in (``reps``), one that stopped for
    what it ran: so an interrupted run says how far the cut round got."""
    finished = experiment.totals.groupby("variant", sort=False)["replication"].nunique()
    done = int(finished.sum())
    if experiment.settled is None:
        return done, max(done, experiment.reps * len(experiment.scenarios))
    settled = experiment.settled
    stopped = settled[settled["status"] != "running"]
    ran = dict(zip(stopped["variant"].astype(str), stopped["replications"].tolist(), strict=True))
    asked = sum(int(ran.get(v, experiment.reps)) for v in experiment.scenarios)
    return done, max(done, asked)


def _state(experiment: Replications) -> str:
    """Complete, or what is missing: interrupted, failed replications."""
    if experiment.complete:
        return "complete"
    done, asked = replication_counts(experiment)
    parts = []
    if experiment.interrupted:
        parts.append(f"interrupted, {done} of {asked} finished")
    failed = len(experiment.failures)
    if failed:
        parts.append(f"{failed} failed (see the failures table)")
    if not parts:
        parts.append(f"{done} of {asked} finished")
    return "INCOMPLETE: " + "; ".join(parts)


def _precision(precision: pd.DataFrame) -> str:
    """Each precision target against the widest interval over the variants."""
    worst = precision.groupby("kpi", sort=False).agg(
        rel=("rel_half_width", "max"), target=("target", "first"), reached=("reached", "all")
    )

    def one(kpi: str, row: Any) -> str:
        rel = float(row.rel)
        width = f"±{rel:.1%}" if math.isfinite(rel) else "not measurable yet"
        return f"{kpi} {width} of its mean (target ±{float(row.target):.1%})"

    said = "; ".join(one(str(kpi), row) for kpi, row in worst.iterrows())
    state = "reached" if bool(worst["reached"].all()) else "not reached"
    return f"Precision target {state}: {said}."


def experiment_verdict(experiment: Replications) -> str:
    """What ran and whether it all finished; with ``precision=`` targets, whether they were met."""
    text = f"{_what_ran(experiment)}: {_state(experiment)}."
    if experiment.precision is not None and not experiment.precision.empty:
        text += " " + _precision(experiment.precision)
    return text


def _figures(values: tuple[Any, ...], metric: str, section: str, currency: Currency) -> str:
    """One figure, or the two ends of a range, each written by its unit; " to " between the
    ends, since " - " next to a minus sign reads as a subtraction."""
    return " to ".join(kpi_text(v, metric, section, currency=currency).strip() for v in values)


def clipped_interval(low: float, high: float, metric: str, section: str) -> tuple[float, float]:
    """The ends of a confidence interval as printed: at most the bounds the KPI can take (0,
    and 1 for a share). A t interval from few replications can reach below 0 deals; what the
    KPI cannot be says nothing about the mean, and the data keep the raw ends."""
    entry = find_kpi(metric, section)
    if entry is None or entry.unit not in _NOT_NEGATIVE:
        return low, high
    top = 1.0 if entry.unit is Unit.SHARE else math.inf
    return (
        low if math.isnan(low) else min(max(low, 0.0), top),
        high if math.isnan(high) else max(min(high, top), 0.0),
    )


def _interval(row: Any, metric: str, section: str) -> tuple[tuple[float, float], bool]:
    """A summary row's interval as printed, and whether it was cut at a bound."""
    raw = (float(row.ci_low), float(row.ci_high))
    shown = clipped_interval(*raw, metric, section)
    return shown, shown != raw and not any(map(math.isnan, raw))


def clipped_note(n: int) -> str:
    """Said once under a table where an interval was cut at a bound the KPI cannot pass."""
    return (
        "Note: where a confidence interval reached below 0 (or above 100% for a share), it is "
        f"shown cut there, as these figures cannot go beyond it: the t interval from {n} "
        "replications is that wide. More replications narrow it; the data keep the raw ends "
        "(ci_low, ci_high)."
    )


def summary_text(experiment: Replications, level: float = 0.95) -> str:
    """Replications as aligned plain text: mean, confidence interval of the mean, P10 to P90;
    what ``simfunnel run --reps`` prints."""
    summary = experiment.summary(level)
    scenario = next(iter(experiment.scenarios.values()))
    n = int(experiment.totals["replication"].nunique())
    lines = [
        f"{scenario.name}  ({n} replications, seed {experiment.seed}, {scenario.period} "
        f"from {scenario.start_date})",
        "",
        f"{'':<26}{'mean':>14}{f'{level_text(level)} CI of the mean':>30}"
        f"{'P10 to P90 of replications':>30}",
    ]
    cut = False
    for section, rows in summary.groupby("section", sort=False):
        title = section_title(str(section))
        lines += ["", title, "-" * len(title)]
        for row in rows.itertuples(index=False):
            key = str(row.metric)
            label = key.removesuffix("_h").replace("_", " ")
            interval, clipped = _interval(row, key, str(section))
            cut |= clipped
            mean, ci, p10_p90 = (
                _figures(values, key, str(section), scenario.currency)
                for values in ((row.mean,), interval, (row.p10, row.p90))
            )
            lines.append(f"  {label:<24}{mean:>14}{ci:>30}{p10_p90:>30}")
    return "\n".join(lines + (["", clipped_note(n)] if cut else []))


def _label(section: str, metric: str) -> tuple[str, bool]:
    """A KPI's words from the registry, and whether it is a share (drawn in percent)."""
    entry = find_kpi(metric, section)
    if entry is None:
        return metric.replace("_", " "), False
    return entry.label, entry.unit is Unit.SHARE


def spread(experiment: Replications, what: str | None = None, ax: Any = None) -> Any:
    """One KPI (``won`` or ``section.metric``; default ``won``) across replications, per
    variant: each replication a dot, the mean with its 95% confidence interval beside them."""
    section, metric = kpi_key(what or "won", experiment.totals)
    label, share = _label(section, metric)
    entry = find_kpi(metric, section)
    unit = entry.unit if entry is not None else None
    scale = 100.0 if share else 1.0
    totals = experiment.totals
    rows = totals[(totals["section"] == section) & (totals["metric"] == metric)]
    summary = experiment.summary()
    summary = summary[(summary["section"] == section) & (summary["metric"] == metric)]
    ax = plots.axes(ax, (8, 4.5))
    names = list(experiment.scenarios)
    for i, name in enumerate(names):
        values = rows.loc[rows["variant"] == name, "value"].dropna().to_numpy(dtype=float)
        offsets = (
            np.linspace(-0.15, 0.15, values.size) if values.size > 1 else np.zeros(values.size)
        )
        first = i == 0
        ax.scatter(
            i - 0.1 + offsets,
            values * scale,
            s=14,
            alpha=0.5,
            color=plots.COLORS["sdr"],
            label="one replication" if first else None,
        )
        found = summary[summary["variant"] == name]
        if found.empty or math.isnan(float(found["mean"].iloc[0])):
            continue
        mean, half = float(found["mean"].iloc[0]), float(found["half_width"].iloc[0])
        ax.errorbar(
            i + 0.25,
            mean * scale,
            yerr=0 if math.isnan(half) else half * scale,
            fmt="o",
            color=plots.COLORS["mark"],
            capsize=5,
            label="mean, 95% CI of the mean" if first else None,
        )
    ax.set_xticks(range(len(names)), names, fontsize="small")
    ax.set_xlim(-0.7, len(names) - 0.3)
    n = int(totals["replication"].nunique())
    currency = experiment.scenario.currency
    ylabel = label.removesuffix(" (h)")
    if share:  # from 0: a spread of two points must not look like a wide one
        plots.share_axis(ax, rows["value"] * scale)
    elif unit is Unit.MONEY:
        plots.money_axis(ax.yaxis, currency)
        ylabel = f"{label} in {currency.code}"
    elif unit is Unit.DURATION:
        plots.duration_axis(ax.yaxis)
    else:
        plots.count_axis(ax.yaxis)
    plots.finish(
        ax,
        f"{experiment.scenario.name}: {label} across {n} replications",
        "variant" if len(names) > 1 else "",
        ylabel,
    )
    plots.legend_outside(ax)
    return ax


def _key_figures(experiment: Replications) -> tuple[pd.DataFrame, bool]:
    """The headline KPIs per variant: mean, the interval of the mean (cut at the bounds the
    KPI can take) and P10 to P90, as text; and whether an interval was cut."""
    summary = experiment.summary()
    keys = headline_keys(experiment.scenario.outbound is not None)
    several = len(experiment.scenarios) > 1
    rows, cut = [], False
    for key in keys:
        section, metric = key.split(".", 1)
        label, _ = _label(section, metric)
        found = summary[(summary["section"] == section) & (summary["metric"] == metric)]
        for r in found.itertuples(index=False):
            interval, clipped = _interval(r, metric, section)
            cut |= clipped
            figures = [(r.mean,), interval, (r.p10, r.p90)]
            row = [label, *([str(r.variant)] if several else [])]
            rows.append(
                row
                + [
                    _figures(values, metric, section, experiment.scenario.currency)
                    for values in figures
                ]
            )
    columns = ["KPI", *(["variant"] if several else []), "mean", "95% CI of the mean"]
    return pd.DataFrame(rows, columns=[*columns, "P10 to P90 of replications"]), cut


def experiment_report(experiment: Replications) -> Report:
    """The experiment's report: the verdict, the headline KPIs with their intervals, the spread
    of deals won across replications, and every KPI of the summary folded away."""
    s = experiment.scenario
    kpis, cut = _key_figures(experiment)
    n = int(experiment.totals["replication"].nunique())
    return Report(
        title=s.name,
        subtitle=f"{experiment.reps} replications, seed {experiment.seed}, {s.period}",
        verdict=[experiment_verdict(experiment)],
        tiles=experiment_tiles(experiment),
        points=experiment_points(experiment),
        charts=[
            (
                "Deals won in each replication, and their mean with its 95% interval.",
                lambda ax: spread(experiment, ax=ax),
                (8, 4.5),
            )
        ],
        kpis=kpis,
        kpi_note=(
            "Mean over replications, the 95% confidence interval of the mean (how well the "
            "mean is known) and P10 to P90 of the replications (the range one year could bring)."
            + (f" {clipped_note(n)}" if cut else "")
        ),
        scenario=s,
        notes=[f"seed: {experiment.seed}", f"replications: {experiment.reps} per variant"],
        details=experiment.summary(),
    )
