"""Redraw the figures the README shows (``make figures``): a run of the mixed scenario and a
13-week pipeline forecast of the inbound one, at fixed seeds."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import simfunnel
from simfunnel.results import plots
from simfunnel.scenario import with_overrides

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "images"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    mixed = simfunnel.load_scenario(ROOT / "scenarios" / "mixed_inbound_outbound.yaml")
    run = simfunnel.simulate(mixed, seed=1)
    for name in ("funnel", "capacity"):
        ax = getattr(plots, name)(run)
        ax.figure.savefig(OUT / f"{name}.png", dpi=80, bbox_inches="tight")
    inbound = simfunnel.load_scenario(ROOT / "scenarios" / "inbound_saas.yaml")
    quarter = with_overrides(inbound, {"horizon": "13 weeks", "sources.2.bursts": []})
    fc = simfunnel.forecast(quarter, reps=20, seed=1, workers=2, progress=False)
    ax = fc.plot("pipeline_value", cumulative=True)
    ax.figure.savefig(OUT / "forecast.png", dpi=80, bbox_inches="tight")
    print(f"wrote funnel.png, capacity.png, forecast.png to {OUT}")


if __name__ == "__main__":
    main()
