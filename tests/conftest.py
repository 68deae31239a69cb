"""Shared builders: tiny hand-checkable scenarios, and the bundled example scenarios."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from simfunnel.scenario import Scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))

# 2026-01-05 is a Monday: t = 0 h is Monday 00:00, t = 9 h Monday 09:00.
TINY: dict[str, Any] = {
    "name": "tiny",
    "start_date": "2026-01-05",
    "horizon": "8 weeks",
    "calendar": {"days": ["mon", "tue", "wed", "thu", "fri"], "hours": "09:00-18:00"},
    "sources": [
        {
            "name": "one",
            "rate_per_week": 0,
            "bursts": [{"start": "2026-01-05 10:00", "leads": 1, "over": "0 h"}],
            "score": {"mean": 80, "sd": 0},
        }
    ],
    "scoring": {"threshold": 60},
    "sdr": {"headcount": 1, "shrinkage": 0},
    "cadence": {
        "max_attempts": 6,
        "gaps": ["1 day", "2 days", "2 days", "3 days", "4 days"],
        "connect_probability": 1,
        "contact_probability": 1,
        "durations": {
            "no_connect": "2 min",
            "connect": "3 min",
            "conversation": "10 min",
            "after_call_work": "5 min",
        },
    },
    "speed_to_lead": {"enabled": False},
    "outcomes": {
        "probabilities": {
            "qualified": 1,
            "information_gathering": 0,
            "postponed": 0,
            "no_prospect": 0,
            "do_not_call": 0,
        },
        "follow_ups": ["14 days"],
        "callback_after": "30 days",
        "max_callbacks": 1,
    },
    "ae": {
        "meeting_delay": "2 days",
        "acceptance": {"probability": 1},
        "sales_cycle": "30 days",
        "win": {"probability": 1},
        "deal_value": 10000,
    },
}


# A small two-source team as YAML text, for tests that write scenario files or drive the CLI.
# A steady Poisson flow of 25 leads a week, ample SDRs (20), acceptance 0.6, an exponential
# sales cycle of mean 5 days and a win rate of 0.5: forecasts whose bands theory can check.
STEADY_FLOW = {
    "sources__0__rate_per_week": 25,
    "sources__0__bursts": [],
    "sdr__headcount": 20,
    "ae__acceptance": {"probability": 0.6},
    "ae__sales_cycle": {"dist": "exponential", "mean": "5 days"},
    "ae__win": {"probability": 0.5},
}

SMALL_YAML = """
name: small team
start_date: 2026-01-05
horizon: 2 weeks
currency: USD
sources:
  - {name: web, rate_per_week: 150, score: {mean: 55, sd: 15}}
  - {name: events, rate_per_week: 40, score: {mean: 45, sd: 20}}
scoring: {threshold: 50}
sdr: {headcount: 2}
cadence: {connect_probability: 0.5, contact_probability: 0.4}
outcomes:
  probabilities:
    {qualified: 0.3, information_gathering: 0.2, postponed: 0.1, no_prospect: 0.3, do_not_call: 0.1}
ae:
  acceptance: {probability: 0.7}
  sales_cycle: {dist: exponential, mean: 10 days}
  win: {probability: 0.3}
  deal_value: 10000
"""


def crm_dict(horizon: str) -> dict[str, Any]:
    """TINY with one steady source and every outcome possible: a run whose CRM exports have
    enough of each stage for fit and backtest."""
    data = copy.deepcopy(TINY)
    data["horizon"] = horizon
    data["sources"] = [{"name": "web", "rate_per_week": 60, "score": {"mean": 60, "sd": 15}}]
    data["cadence"] |= {"connect_probability": 0.5, "contact_probability": 0.5}
    data["outcomes"]["probabilities"] = {
        "qualified": 0.4,
        "information_gathering": 0.2,
        "postponed": 0.1,
        "no_prospect": 0.2,
        "do_not_call": 0.1,
    }
    data["ae"] |= {"sales_cycle": {"dist": "lognormal", "median": "20 days", "p90": "40 days"}}
    data["ae"]["win"] = {"probability": 0.3}
    return data


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b.c`` (list items as integers: ``sources.0.rate_per_week``) in a nested dict."""
    *parents, last = dotted.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[int(last) if isinstance(node, list) else last] = value


def build(base: dict[str, Any] | None = None, **changes: Any) -> Scenario:
    """A validated scenario from ``base`` (TINY by default) with dotted-path changes (``__`` = ``.``)."""
    data = copy.deepcopy(TINY if base is None else base)
    for key, value in changes.items():
        set_path(data, key.replace("__", "."), value)
    return scenario_from_dict(data, "test")


def busy(**changes: Any) -> Scenario:
    """Four weeks around the clock, more MQLs than two SDRs call at once: capacity matters
    (the small scenario of the answer tests; ``changes`` as :func:`build` takes them)."""
    base = {
        "horizon": "4 weeks",
        "calendar": "24/7",
        "sources": [{"name": "web", "rate_per_week": 300, "score": {"mean": 60, "sd": 15}}],
        "sdr__headcount": 2,
        "cadence__connect_probability": 0.5,
        "cadence__contact_probability": 0.5,
        "cadence__gaps": ["2 h"],
    }
    return build(**(base | changes))


def outcome_only(name: str) -> dict[str, float]:
    """Outcome probabilities where ``name`` is certain."""
    probs = dict.fromkeys(
        ("qualified", "information_gathering", "postponed", "no_prospect", "do_not_call"), 0.0
    )
    probs[name] = 1.0
    return probs


def load_yaml(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="session")
def saas_dict() -> dict[str, Any]:
    return load_yaml(ROOT / "scenarios" / "inbound_saas.yaml")


# The known outcome shares of KNOWN.
OUTCOMES = {
    "qualified": 0.4,
    "information_gathering": 0.2,
    "postponed": 0.1,
    "no_prospect": 0.25,
    "do_not_call": 0.05,
}

# A scenario the calibration family contains: exported, fitted and read back by the calibration,
# backtest, report and CRM-error tests.
KNOWN = {
    "name": "round trip",
    "start_date": "2026-01-05",
    "horizon": "52 weeks",
    "sources": [
        {"name": "web", "rate_per_week": 80, "score": {"mean": 50, "sd": 15}},
        {"name": "event", "rate_per_week": 40, "score": {"mean": 58, "sd": 12}},
    ],
    "scoring": {"threshold": 55},
    "sdr": {"headcount": 3},
    "cadence": {"connect_probability": 0.4, "contact_probability": 0.5},
    # Exports show no latent quality and the fit writes observed rates: the known scenario is
    # one the fitted family contains (no decay, no quality effects).
    "speed_to_lead": {"enabled": False},
    "outcomes": {"probabilities": OUTCOMES, "quality_effect": dict.fromkeys(OUTCOMES, 0)},
    "ae": {
        "acceptance": {"probability": 0.75},
        "sales_cycle": {"dist": "lognormal", "median": "45 days", "p90": "90 days"},
        "win": {"probability": 0.3},
        "deal_value": {"dist": "lognormal", "median": 12000, "p90": 30000},
    },
}


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """The command line in this process: its exit code, standard output and standard error."""
    import contextlib
    import io

    from simfunnel.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def small(tmp_path: Path) -> str:
    """:data:`SMALL_YAML` as a file (a test module may define its own ``small``)."""
    path = tmp_path / "small.yaml"
    path.write_text(SMALL_YAML)
    return str(path)


def one_line(err: str) -> str:
    """A refusal is one line on standard error, never a traceback: that line."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]
