"""Vega-Lite specifications of the page's charts, as plain dictionaries over the tidy frames of
:mod:`simfunnel.app.figures`.

Why Vega-Lite: the browser draws it (tooltips, resizing) from a few lines of JSON, with no
plotting library to import; the specs are data, so tests check them without a browser.
"""

from __future__ import annotations

from typing import Any

from .figures import STAGE_LABELS

__all__ = ["band_spec", "capacity_spec", "funnel_spec", "load_spec"]

Spec = dict[str, Any]


def funnel_spec(options: list[str], outbound: bool) -> Spec:
    """Grouped bars per stage, one colour per option, inbound and outbound side by side, on a
    linear axis from 0 (a log axis makes a small stage look big); each bar labelled with its
    conversion from the stage before, where the funnel leaks."""
    bar: Spec = {"mark": {"type": "bar", "tooltip": True}}
    label: Spec = {
        "mark": {"type": "text", "dy": -6, "fontSize": 10},
        "encoding": {"text": {"field": "conversion", "format": ".0%"}},
        "transform": [{"filter": "isValid(datum.conversion)"}],
    }
    spec: Spec = {
        "layer": [bar, label],
        "encoding": {
            "x": {
                "field": "stage",
                "type": "nominal",
                "sort": STAGE_LABELS,
                "title": None,
                "axis": {"labelAngle": 0, "labelExpr": "split(datum.label, ' ')"},
            },
            "xOffset": {"field": "option", "sort": options},
            "y": {
                "field": "count",
                "type": "quantitative",
                "stack": None,
                "scale": {"zero": True},
                "title": "mean count over replications",
            },
            "color": {"field": "option", "type": "nominal", "sort": options, "title": "option"},
            "tooltip": [
                {"field": "option"},
                {"field": "motion"},
                {"field": "stage"},
                {"field": "text", "title": "count"},
                {"field": "conversion", "format": ".1%", "title": "from the stage before"},
            ],
        },
        "height": 300,
    }
    if not outbound:
        return spec
    # A layered chart is faceted from outside; outbound is a fraction of inbound: own scales.
    return {
        "facet": {"column": {"field": "motion", "type": "nominal", "title": None}},
        "spec": spec,
        "resolve": {"scale": {"y": "independent"}},
    }


def capacity_spec(options: list[str]) -> Spec:
    """Utilisation per team, one bar per option, on a 0-100% axis."""
    return {
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "y": {"field": "team", "type": "nominal", "title": None},
            "yOffset": {"field": "option", "sort": options},
            "x": {
                "field": "utilisation",
                "type": "quantitative",
                "axis": {"format": "%"},
                "scale": {"domain": [0, 1]},
                "title": "utilisation (AE: occupancy)",
            },
            "color": {"field": "option", "type": "nominal", "sort": options, "title": "option"},
            "tooltip": [{"field": "option"}, {"field": "team"}, {"field": "text", "title": "load"}],
        },
        "height": 220,
    }


def load_spec() -> Spec:
    """Each team's load week by week, for the chosen option."""
    return {
        "mark": {"type": "line", "point": True, "tooltip": True},
        "encoding": {
            "x": {"field": "week_start", "type": "temporal", "title": "week"},
            "y": {
                "field": "utilisation",
                "type": "quantitative",
                "axis": {"format": "%"},
                "title": "load",
            },
            "color": {"field": "team", "type": "nominal"},
        },
        "height": 220,
    }


def band_spec(title: str, money: bool) -> Spec:
    """The P10-P90 band of the option, its median, and today's median dashed."""
    fmt = ",.0f" if money else ",.1f"
    x = {"field": "week_start", "type": "temporal", "title": "week starting"}
    return {
        "layer": [
            {
                "mark": {"type": "area", "opacity": 0.3},
                "encoding": {
                    "x": x,
                    "y": {"field": "p10", "type": "quantitative", "title": f"{title} per week"},
                    "y2": {"field": "p90"},
                },
            },
            {
                "mark": {"type": "line", "point": True, "tooltip": True},
                "encoding": {
                    "x": x,
                    "y": {"field": "p50", "type": "quantitative"},
                    "tooltip": [
                        {"field": "week_start", "type": "temporal", "title": "week"},
                        {"field": "p10", "format": fmt, "title": "P10"},
                        {"field": "p50", "format": fmt, "title": "P50"},
                        {"field": "p90", "format": fmt, "title": "P90"},
                        {"field": "today", "format": fmt, "title": "today's P50"},
                    ],
                },
            },
            {
                "mark": {"type": "line", "strokeDash": [4, 4], "color": "gray"},
                "encoding": {"x": x, "y": {"field": "today", "type": "quantitative"}},
            },
        ],
        "height": 300,
    }
