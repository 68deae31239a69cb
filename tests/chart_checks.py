"""Structural checks of a chart, shared by the tests of the run's charts and the decisions':
drawn as the HTML report draws it (no pyplot, constrained layout, 100 dpi), then read back from
matplotlib's objects rather than from pixels: the words a reader sees, where the legends lie,
where share axes start and what money ticks say."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from typing import Any

from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from simfunnel.results.plots import COLORS, PALETTE

# A code name as the code writes it ("mqls" aside): two lowercase words joined by "_".
CODE_NAME = re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b")


def render(
    draw: Callable[[Any], Any], size: tuple[float, float] = (8, 4.5)
) -> tuple[Any, bytes, Any]:
    """Draw as the report does (simfunnel/present/page.py png_uri): what the chart returned, the
    PNG bytes, and the axes it was given. The figure is laid out, so positions are final."""
    fig = Figure(figsize=size, layout="constrained")
    ax = fig.subplots()
    out = draw(ax)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return out, buffer.getvalue(), ax


def every_axes(ax: Any) -> Iterator[Any]:
    """Every axes of the figure: its own, their panels (child axes) and twins."""
    seen: list[Any] = []
    stack = list(ax.figure.axes)
    while stack:
        a = stack.pop(0)
        if any(a is s for s in seen):
            continue
        seen.append(a)
        stack.extend(a.child_axes)
    yield from seen


def data_axes(ax: Any) -> list[Any]:
    """The axes that draw data: visible, with their axis on (a frame of panels is not one)."""
    return [a for a in every_axes(ax) if a.get_visible() and a.axison]


def words(ax: Any) -> list[str]:
    """Every title, axis label, tick label on a category axis and legend entry a reader sees."""
    out = []
    for a in every_axes(ax):
        out += [a.get_title(loc=loc) for loc in ("left", "center", "right")]
        out += [a.get_xlabel(), a.get_ylabel()]
        legend = a.get_legend()
        if legend is not None:
            out += [t.get_text() for t in legend.get_texts()]
    return [w for w in out if w]


def legend_texts(ax: Any) -> list[str]:
    return [
        t.get_text()
        for a in every_axes(ax)
        if a.get_legend() is not None
        for t in a.get_legend().get_texts()
    ]


def check_words(ax: Any) -> None:
    """No code name ("valid_opportunities") and no "currency" as a unit, anywhere a reader looks;
    and a title at least."""
    seen = words(ax)
    assert ax.get_title(), "the chart has no title"
    bad = [w for w in seen if CODE_NAME.search(w) or "currency" in w.lower()]
    assert not bad, bad


def check_legends_outside(ax: Any) -> None:
    """Each legend lies clear of every plot area of the figure (after the layout)."""
    areas = [a.get_window_extent() for a in data_axes(ax)]
    for a in every_axes(ax):
        legend = a.get_legend()
        if legend is None:
            continue
        box = legend.get_window_extent()
        for area in areas:
            inside_x = box.x0 < area.x1 - 1 and box.x1 > area.x0 + 1
            inside_y = box.y0 < area.y1 - 1 and box.y1 > area.y0 + 1
            assert not (inside_x and inside_y), f"legend {box} covers the plot area {area}"


def check_shares_from_zero(ax: Any) -> int:
    """Every percent axis starts at 0; returns how many there are."""
    n = 0
    for a in data_axes(ax):
        for axis, limits in ((a.xaxis, a.get_xlim()), (a.yaxis, a.get_ylim())):
            if isinstance(axis.get_major_formatter(), PercentFormatter):
                n += 1
                assert min(limits) == 0, f"a share axis runs {limits}, not from 0"
    return n


def tick_texts(axis: Any) -> list[str]:
    """The tick labels a reader sees on an axis (after a draw)."""
    lo, hi = sorted(axis.get_view_interval())
    return [
        t.get_text()
        for t, v in zip(axis.get_ticklabels(), axis.get_ticklocs(), strict=False)
        if t.get_text() and lo <= v <= hi
    ]


def _colours(a: Any) -> Iterator[str]:
    """The colours of what an axes draws: lines, bars and areas (alpha aside)."""
    for line in a.lines:
        for c in (line.get_color(), line.get_markerfacecolor(), line.get_markeredgecolor()):
            if str(c) != "none":
                yield to_hex(c, keep_alpha=False)
    for patch in a.patches:
        if patch.get_fill():
            yield to_hex(patch.get_facecolor(), keep_alpha=False)
    for collection in a.collections:
        for c in collection.get_facecolor():
            yield to_hex(c, keep_alpha=False)


def check_palette(ax: Any) -> None:
    """Everything drawn in the palette of simfunnel.results.plots (Okabe-Ito) or a grey: no
    matplotlib default blue, no red against green."""
    allowed = {c.lower() for c in (*PALETTE.values(), *COLORS.values())}
    for a in data_axes(ax):
        for c in _colours(a):
            r, g, b = c[1:3], c[3:5], c[5:7]
            assert c in allowed or r == g == b, f"{c} is not in the palette"


def check_chart(ax: Any) -> None:
    """What every chart owes a reader: words, legends clear of the data, shares from 0, the
    palette."""
    check_words(ax)
    check_legends_outside(ax)
    check_shares_from_zero(ax)
    check_palette(ax)
