"""Broken scenario files: each gives one line per problem, naming file and field, and exit 2.

The table is the contract of ``simfunnel validate`` and ``simfunnel run`` with a user who made
a mistake: never a traceback, always the file, the field path, what is wrong and what was found.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, SCENARIOS, TINY, set_path

from simfunnel.cli import main


def broken(**changes: Any) -> str:
    """TINY as YAML with dotted-path changes (``__`` = ``.``); ``None`` deletes the key."""
    data = copy.deepcopy(TINY)
    for key, value in changes.items():
        dotted = key.replace("__", ".")
        if value is None:
            *parents, last = dotted.split(".")
            node: Any = data
            for part in parents:
                node = node[int(part)] if isinstance(node, list) else node[part]
            del node[last]
        else:
            set_path(data, dotted, value)
    return yaml.safe_dump(data, sort_keys=False)


def renamed(old: str, new: str) -> str:
    """TINY with one key of the ``sdr`` section misspelt."""
    data = copy.deepcopy(TINY)
    data["sdr"][new] = data["sdr"].pop(old)
    return yaml.safe_dump(data, sort_keys=False)


VALID = broken()

# id -> (file text, expected lines as (field path, message fragment, got-fragment or None)).
CASES: dict[str, tuple[str, list[tuple[str, str, str | None]]]] = {
    "negative rate": (
        broken(sources__0__rate_per_week=-5),
        [("sources[0].rate_per_week", "greater than or equal to 0", "-5")],
    ),
    "probability above 1": (
        broken(cadence__connect_probability=1.2),
        [("cadence.connect_probability", "less than or equal to 1", "1.2")],
    ),
    "planned exits beyond the team": (
        broken(sdr__plan=[{"date": "2026-01-12", "hire": 1}, {"date": "2026-01-19", "leave": 3}]),
        [("sdr.plan[1].leave", "by the plan only 2 are on the team that day", "3")],
    ),
    "outcomes not summing to 1": (
        broken(outcomes__probabilities__qualified=0.5),
        [("outcomes.probabilities", "sum to 1", "0.5")],
    ),
    "unknown key with hint": (
        renamed("headcount", "headcont"),
        [("sdr.headcont", "unknown key; did you mean 'headcount'?", None)],
    ),
    "wrong type": (
        broken(sdr__headcount="many"),
        [("sdr.headcount", "write a plain number", "'many'")],
    ),
    "a quoted number": (
        broken(sdr__headcount="2", sources__0__rate_per_week="200"),
        [
            ("sources[0].rate_per_week", "write a plain number, without quotes", "'200'"),
            ("sdr.headcount", "write a plain number, without quotes", "'2'"),
        ],
    ),
    "missing section": (
        broken(cadence=None),
        [("cadence", "required field is missing", None)],
    ),
    "zero reps while leads arrive": (
        broken(sdr__headcount=0),
        [("sdr.headcount", "needs at least 1 SDR", "0")],
    ),
    "duration without unit": (
        broken(cadence__gaps__0="15"),
        [("cadence.gaps[0]", "a duration is a number and a unit", "'15'")],
    ),
    "unknown distribution with hint": (
        broken(cadence__durations__conversation={"dist": "lognormall", "median": "9 min"}),
        [("cadence.durations.conversation.dist", "did you mean 'lognormal'?", "'lognormall'")],
    ),
    "lognormal median without p90": (
        broken(cadence__durations__conversation={"dist": "lognormal", "median": "9 min"}),
        [("cadence.durations.conversation", "'median' and 'p90' go together", None)],
    ),
    "shorthand duration without unit": (
        broken(ae__sales_cycle=45),
        [("ae.sales_cycle", "a duration needs a unit", "45")],
    ),
    "gaps of the wrong length": (
        broken(cadence__gaps=["1 day", "2 days"]),
        [("cadence.gaps", "needs 1 value or max_attempts - 1 = 5 values", "2")],
    ),
    "burst outside the horizon": (
        broken(sources__0__bursts__0__start="2027-06-01"),
        [
            (
                "sources[0].bursts[0].start",
                "must fall inside the simulated period",
                "'2027-06-01 00:00'",
            )
        ],
    ),
    "bad working hours": (
        broken(calendar__hours="9-18"),
        [("calendar.hours", "HH:MM-HH:MM", "'9-18'")],
    ),
    "two problems, two lines": (
        broken(cadence__connect_probability=-1, sdr__shrinkage=1.5),
        [
            ("sdr.shrinkage", "less than 1", "1.5"),
            ("cadence.connect_probability", "greater than or equal to 0", "-1"),
        ],
    ),
    "ramp share above 1": (
        broken(sdr__ramp=[0.5, 1.2]),
        [("sdr.ramp[1]", "less than or equal to 1", "1.2")],
    ),
    "hire dated outside the horizon": (
        broken(sdr__plan=[{"date": "2027-01-01", "hire": 2}]),
        [("sdr.plan[0].date", "must fall inside the simulated period", "'2027-01-01'")],
    ),
    "every date outside the horizon, in one round": (
        broken(
            sources__0__bursts__0__start="2027-06-01",
            sdr__plan=[{"date": "2027-01-01", "hire": 2}, {"date": "2027-02-01", "hire": 1}],
        ),
        [
            ("sources[0].bursts[0].start", "must fall inside the simulated period", None),
            ("sdr.plan[0].date", "up to (not including)", "'2027-01-01'"),
            ("sdr.plan[1].date", "up to (not including)", "'2027-02-01'"),
        ],
    ),
    "more leave than working days": (
        broken(sdr__pto_days_per_year=300),
        [("sdr.pto_days_per_year", "below the calendar's 261 working days a year", "300.0")],
    ),
    "AE team without its limit": (
        broken(ae__team={"headcount": 3}),
        [("ae.team.max_open_per_ae", "required field is missing", None)],
    ),
    "AE wait effect that raises acceptance": (
        broken(ae__wait_effect=0.2),
        [("ae.wait_effect", "less than or equal to 0", "0.2")],
    ),
    "lost reasons not summing to 1": (
        broken(ae__lost_reasons={"price": 0.3, "timing": 0.3}),
        [("ae.lost_reasons", "shares must sum to 1", None)],
    ),
    "patience without a unit": (
        broken(speed_to_lead__patience=3),
        [("speed_to_lead.patience", "a duration needs a unit", "3")],
    ),
    "nurture cool-down under a day": (
        broken(nurture={"cool_down": "3 h"}),
        [("nurture.cool_down", "must be at least 1 day", None)],
    ),
    "nurture unknown key with hint": (
        broken(nurture={"decay_per_wek": 1}),
        [("nurture.decay_per_wek", "did you mean 'decay_per_week'?", None)],
    ),
    "nurture engagement every 0 h": (
        broken(nurture={"engagement_every": "0 h"}),
        [("nurture.engagement_every", "needs a mean of at least 1 h", "0 min")],
    ),
    "instant email replies": (
        broken(cadence__email_reply_after="0 min"),
        [("cadence.email_reply_after", "needs a mean of at least 1 min", "0 min")],
    ),
    "budget share without periods": (
        broken(outcomes__budget_period_share=0.5),
        [("outcomes.budget_periods", "give the budget-period starts", "[]")],
    ),
    "impossible budget date": (
        broken(outcomes__budget_periods=["02-30"]),
        [("outcomes.budget_periods[0]", "not a valid month and day", "'02-30'")],
    ),
    "email reply probability above 1": (
        broken(cadence__email_reply_probability=2),
        [("cadence.email_reply_probability", "less than or equal to 1", "2")],
    ),
    "PQL trial of zero length": (
        broken(sources__0__pql={"trial_length": "0 days"}),
        [("sources[0].pql.trial_length", "greater than 0", None)],
    ),
}

OUTBOUND = {
    "accounts": {"initial": 10},
    "bdr": {"headcount": 1},
    "cadence": {"connect_probability": 0.1, "contact_probability": 0.5},
    "outcomes": {"probabilities": TINY["outcomes"]["probabilities"]},
}


def broken_outbound(**changes: Any) -> str:
    """TINY plus a valid outbound section, then dotted-path changes (``None`` deletes)."""
    data = yaml.safe_load(broken())
    data["outbound"] = copy.deepcopy(OUTBOUND)
    text = yaml.safe_dump(data, sort_keys=False)
    for key, value in changes.items():
        data = yaml.safe_load(text)
        dotted = key.replace("__", ".")
        if value is None:
            *parents, last = dotted.split(".")
            node: Any = data
            for part in parents:
                node = node[part]
            del node[last]
        else:
            set_path(data, dotted, value)
        text = yaml.safe_dump(data, sort_keys=False)
    return text


CASES.update(
    {
        "outbound list named like a source": (
            broken_outbound(outbound__accounts__name="one"),
            [("outbound.accounts.name", "must differ from the inbound source names", "'one'")],
        ),
        "accounts but no BDRs": (
            broken_outbound(outbound__bdr__headcount=0),
            [("outbound.bdr.headcount", "needs at least 1 BDR", "0")],
        ),
        "negative account count": (
            broken_outbound(outbound__accounts__initial=-3),
            [("outbound.accounts.initial", "greater than or equal to 0", "-3")],
        ),
        "outbound cadence without odds": (
            broken_outbound(outbound__cadence__connect_probability=None),
            [("outbound.cadence.connect_probability", "required field is missing", None)],
        ),
        "email touch past the last touch": (
            broken_outbound(outbound__cadence__email_touches=[2, 9]),
            [("outbound.cadence.email_touches[1]", "from 1 to max_attempts = 6", "9")],
        ),
        "email touches only": (
            broken_outbound(
                outbound__cadence__max_attempts=2,
                outbound__cadence__gaps=["1 day"],
                outbound__cadence__email_touches=[1, 2],
            ),
            [("outbound.cadence.email_touches", "at least one touch must be a call", "(1, 2)")],
        ),
        "repeated email touch": (
            broken_outbound(outbound__cadence__email_touches=[2, 2]),
            [("outbound.cadence.email_touches", "must not repeat", "(2, 2)")],
        ),
        "outbound outcomes not summing to 1": (
            broken_outbound(outbound__outcomes__probabilities__qualified=0.5),
            [("outbound.outcomes.probabilities", "sum to 1", "0.5")],
        ),
        "misspelt outbound key": (
            broken_outbound(outbound__reserch="10 min"),
            [("outbound.reserch", "unknown key; did you mean 'research'?", None)],
        ),
        "negative activity goal": (
            broken_outbound(outbound__goals={"dials_per_day": -5}),
            [("outbound.goals.dials_per_day", "greater than or equal to 0", "-5")],
        ),
        "research without a unit": (
            broken_outbound(outbound__research=20),
            [("outbound.research", "a duration needs a unit", "20")],
        ),
        "warm-up not in whole weeks": (
            broken(warm_up="10 days"),
            [("warm_up", "must be whole weeks", None)],
        ),
        "BDR hire outside the horizon": (
            broken_outbound(outbound__bdr__plan=[{"date": "2027-01-01", "hire": 1}]),
            [("outbound.bdr.plan[0].date", "must fall inside the simulated period", None)],
        ),
    }
)

DUPLICATE_SOURCES = copy.deepcopy(TINY)
DUPLICATE_SOURCES["sources"] = [TINY["sources"][0], TINY["sources"][0]]
CASES["duplicate source names"] = (
    yaml.safe_dump(DUPLICATE_SOURCES, sort_keys=False),
    [("sources", "source names must be unique", "['one']")],
)

# Issue 14: numbers that are not numbers, and numbers far outside what a field can mean. Each
# bound is in the error line; nothing is silently accepted, nothing overflows or allocates.
NAN, INF = float("nan"), float("inf")
NURTURE_SOURCE = {"name": "one", "rate_per_week": 1, "score": {"mean": 80, "sd": 0}}
CASES.update(
    {
        "horizon of 1e308 weeks": (
            broken(horizon="1e308 weeks"),
            [("horizon", "must be at most 10 years (3653 days)", "'1e308 weeks'")],
        ),
        "horizon of 1,000 years": (
            broken(horizon="52000 weeks"),
            [("horizon", "must be at most 10 years", "'52000 weeks'")],
        ),
        "warm-up of 10 years": (
            broken(warm_up="520 weeks"),
            [("warm_up", "less than or equal to 1820 days", "'520 weeks'")],
        ),
        "start in year 9999": (
            broken(start_date="9999-01-04"),
            [("start_date", "must be from 1990-01-01 to 2100-12-31", "'9999-01-04'")],
        ),
        "start in year 1": (
            broken(start_date="0001-01-01"),
            [("start_date", "must be from 1990-01-01 to 2100-12-31", "'0001-01-01'")],
        ),
        "a start date that does not exist": (
            broken(start_date="2026-02-30"),
            [("start_date", "valid date", "'2026-02-30'")],
        ),
        "a start date written as a number": (
            broken(start_date=0),
            [("start_date", "write a date as YYYY-MM-DD", "0")],
        ),
        "a holiday in year 3000": (
            broken(calendar__holidays=["3000-01-01"]),
            [("calendar.holidays[0]", "must be from 1990-01-01 to 2100-12-31", None)],
        ),
        "a burst with a time zone": (
            broken(sources__0__bursts__0__start="2026-01-05 10:00:00+02:00"),
            [("sources[0].bursts[0].start", "without a time zone", None)],
        ),
        "a burst at a number": (
            broken(sources__0__bursts__0__start=5),
            [("sources[0].bursts[0].start", "write a date and time", "5")],
        ),
        "quality effect of 1e6": (
            broken(outcomes__quality_effect={"qualified": 1e6}),
            [("outcomes.quality_effect.qualified", "less than or equal to 10", "1000000.0")],
        ),
        "infinite quality effect": (
            broken(outcomes__quality_effect={"no_prospect": -INF}),
            [("outcomes.quality_effect.no_prospect", "finite number", "-inf")],
        ),
        "NaN acceptance quality effect": (
            broken(ae__acceptance={"probability": 0.5, "quality_effect": NAN}),
            [("ae.acceptance.quality_effect", "finite number", "nan")],
        ),
        "quality mean of 1e308": (
            broken(sources__0__quality={"mean": 1e308}),
            [("sources[0].quality.mean", "less than or equal to 5", "1e+308")],
        ),
        "NaN quality mean": (
            broken(sources__0__quality={"mean": NAN}),
            [("sources[0].quality.mean", "finite number", "nan")],
        ),
        "infinite quality sd": (
            broken(sources__0__quality={"sd": INF}),
            [("sources[0].quality.sd", "finite number", "inf")],
        ),
        "quality sd of 100": (
            broken(sources__0__quality={"sd": 100}),
            [("sources[0].quality.sd", "less than or equal to 5", "100")],
        ),
        "NaN score mean": (
            broken(sources__0__score={"mean": NAN, "sd": 0}),
            [("sources[0].score.mean", "finite number", "nan")],
        ),
        "infinite score sd": (
            broken(sources__0__score={"mean": 80, "sd": INF}),
            [("sources[0].score.sd", "finite number", "inf")],
        ),
        "NaN threshold": (
            broken(scoring__threshold=NAN),
            [("scoring.threshold", "finite number", "nan")],
        ),
        "infinite threshold": (
            broken(scoring__threshold=INF),
            [("scoring.threshold", "finite number", "inf")],
        ),
        "negative threshold": (
            broken(scoring__threshold=-5),
            [("scoring.threshold", "on the sources' score scale, from 0 to 100", "-5.0")],
        ),
        "threshold above the score scale": (
            broken(scoring__threshold=101),
            [("scoring.threshold", "on the sources' score scale, from 0 to 100", "101.0")],
        ),
        "NaN distribution parameter": (
            broken(ae__sales_cycle={"dist": "gamma", "mean": "10 days", "cv": NAN}),
            [("ae.sales_cycle.cv", "finite number", "nan")],
        ),
        "infinite fixed duration": (
            broken(cadence__durations__conversation="1e400 min"),
            [("cadence.durations.conversation", "must be at most 10 years", None)],
        ),
        "gamma cv of 1e-200": (
            broken(ae__sales_cycle={"dist": "gamma", "mean": "10 days", "cv": 1e-200}),
            [("ae.sales_cycle.cv", "greater than or equal to 0.001", "1e-200")],
        ),
        "lognormal spread that overflows": (
            broken(ae__sales_cycle={"dist": "lognormal", "median": "1e-300 h", "p90": "9 days"}),
            [("ae.sales_cycle", "p90 must be at most 1000 x the median", None)],
        ),
        "empirical weight of infinity": (
            broken(
                cadence__durations__conversation={
                    "dist": "empirical",
                    "values": ["5 min", "9 min"],
                    "weights": [1, INF],
                }
            ),
            [("cadence.durations.conversation.weights[1]", "finite number", "inf")],
        ),
        "headcount of 1e9": (
            broken(sdr__headcount=1e9),
            [("sdr.headcount", "less than or equal to 10000", "1000000000.0")],
        ),
        "headcount true": (
            broken(sdr__headcount=True),
            [("sdr.headcount", "write a number, not true or false", "True")],
        ),
        "probability true": (
            broken(cadence__connect_probability=True),
            [("cadence.connect_probability", "write a number, not true or false", "True")],
        ),
        "true in a list of numbers": (
            broken(sdr__ramp=[0.5, True]),
            [("sdr.ramp[1]", "write a number, not true or false", "True")],
        ),
        "huge hiring plan": (
            broken(sdr__plan=[{"date": "2026-01-12", "hire": 10**9}]),
            [("sdr.plan[0].hire", "less than or equal to 10000", "1000000000")],
        ),
        "hiring plan of 1,001 dates": (
            broken(sdr__plan=[{"date": "2026-01-12", "hire": 1}] * 1001),
            [("sdr.plan", "at most 1000 items", None)],
        ),
        "attrition of 1e9 a year": (
            broken(sdr__attrition_per_year=1e9),
            [("sdr.attrition_per_year", "less than or equal to 12", None)],
        ),
        "rate of 1e7 a week": (
            broken(sources__0__rate_per_week=1e7),
            [("sources[0].rate_per_week", "less than or equal to 1000000", "10000000.0")],
        ),
        "rate of 1e12 a week": (
            broken(sources__0__rate_per_week=1e12),
            [("sources[0].rate_per_week", "less than or equal to 1000000", None)],
        ),
        "infinite rate": (
            broken(sources__0__rate_per_week=INF),
            [("sources[0].rate_per_week", "finite number", "inf")],
        ),
        "burst of 1e9 leads": (
            broken(sources__0__bursts__0__leads=10**9),
            [("sources[0].bursts[0].leads", "less than or equal to 1000000", "1000000000")],
        ),
        "huge seasonality": (
            broken(sources__0__seasonality={"by_month": {1: 1e300}}),
            [("sources[0].seasonality.by_month[1]", "less than or equal to 100", "1e+300")],
        ),
        "zero cadence gap": (
            broken(cadence__gaps=["0 h"]),
            [("cadence.gaps[0]", "greater than or equal to 1 min", "'0 h'")],
        ),
        "infinite deal value": (
            broken(ae__deal_value=INF),
            [("ae.deal_value", "finite number", "inf")],
        ),
        "deal value of 1e308": (
            broken(ae__deal_value=1e308),
            [("ae.deal_value", "less than or equal to 1000000000000", "1e+308")],
        ),
        "infinite cost": (
            broken(costs={"sdr_per_year": INF}),
            [("costs.sdr_per_year", "finite number", "inf")],
        ),
        "1,001 sources": (
            broken(sources=[dict(NURTURE_SOURCE, name=f"s{i}") for i in range(1001)]),
            [("sources", "at most 1000 items", None)],
        ),
        "nurture engagement every second": (
            broken(nurture={"engagement_every": "1 s"}),
            [("nurture.engagement_every", "needs a mean of at least 1 h", "1 s")],
        ),
        "nurture engagement too frequent for its age-out": (
            broken(
                nurture={"engagement_every": "1 h", "quality_effect": 3, "age_out": "156 weeks"}
            ),
            [("nurture.engagement_every", "too frequent", "'1 h'")],
        ),
        "instant BDR research": (
            broken_outbound(outbound__research="0 min"),
            [("outbound.research", "needs a mean of at least 1 min", "0 min")],
        ),
        "ICP fit mean of infinity": (
            broken_outbound(outbound__accounts__icp_fit={"mean": INF}),
            [("outbound.accounts.icp_fit.mean", "finite number", "inf")],
        ),
    }
)

# Problems found before the schema: the file itself.
LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 10)}]\n"
    for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)  # 10**9 strings once expanded, from about 600 bytes
RAW: dict[str, tuple[str, str]] = {
    "malformed YAML": ("sdr: {headcount: 2\ncadence: [\n", "line 2"),
    "object-constructing tag": (
        "name: !!python/object/apply:os.system ['echo pwned > PWNED']\n",
        "tag",
    ),
    "duplicate key": (VALID + "horizon: 2 weeks\n", "horizon"),
    "empty file": ("", "empty"),
    "only comments": ("# nothing yet\n", "empty"),
    "a list, not a mapping": ("- 1\n- 2\n", "mapping"),
    "deeply nested YAML": ("name: " + "[" * 100_000 + "]" * 100_000 + "\n", "50 levels deep"),
    "deeply nested mappings": (
        "x:\n" + "".join("  " * i + "a:\n" for i in range(1, 80)),
        "50 levels deep",
    ),
    "a mapping as a key": (VALID + "{a: 1}: 2\n", "a key must be a plain name or number"),
    "a list as a key, in a section": (
        VALID.replace("sdr:\n", "sdr:\n  ? [1, 2]\n  : 3\n"),
        ": sdr: line",
    ),
    "billion laughs": (LAUGHS, "expands to more than 100,000 values"),
    "an alias inside itself": ("a: &a [1, *a]\n", "contains itself"),
    "an integer of 5,000 digits": (
        VALID.replace("headcount: 1", "headcount: " + "9" * 5000),
        "sdr.headcount",
    ),
}


def run_cli(tmp_path: Path, capsys, text: str, command: str = "validate") -> tuple[int, list[str]]:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    code = main([command, str(path)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, captured.err.splitlines()


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_broken_scenario_gives_one_line_per_problem(case: str, tmp_path, capsys) -> None:
    text, expected = CASES[case]
    code, lines = run_cli(tmp_path, capsys, text)
    assert code == 2
    assert len(lines) == len(expected), lines
    for (path, fragment, got), line in zip(expected, sorted_like(lines, expected), strict=True):
        assert line.startswith(f"{tmp_path / 'bad.yaml'}: {path}: "), line
        assert fragment in line, line
        if got is not None:
            assert line.endswith(f"(got {got})"), line


def sorted_like(lines: list[str], expected: list[tuple[str, str, str | None]]) -> list[str]:
    """Lines in the order of the expected paths (the loader's order is the schema's)."""
    out = []
    for path, _, _ in expected:
        match = [line for line in lines if f": {path}: " in line]
        assert match, (path, lines)
        out.append(match[0])
    return out


@pytest.mark.parametrize("case", list(RAW), ids=list(RAW))
def test_unreadable_file_gives_one_line_and_exit_2(case: str, tmp_path, capsys) -> None:
    text, fragment = RAW[case]
    code, lines = run_cli(tmp_path, capsys, text)
    assert code == 2
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{tmp_path / 'bad.yaml'}: ")
    assert fragment in lines[0].lower() or fragment in lines[0]


def test_object_constructing_tag_never_runs(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    run_cli(tmp_path, capsys, RAW["object-constructing tag"][0])
    assert not (tmp_path / "PWNED").exists()


# Files that are not text, or not UTF-8: one line naming the file (and the byte), exit 2.
BYTES: dict[str, tuple[bytes, str]] = {
    "a binary file": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a binary file, not YAML text"),
    "UTF-16 without a byte-order mark": (
        VALID.encode("utf-16-le"),
        "UTF-16 text without a byte-order mark",
    ),
    "Latin-1 text": (
        VALID.replace("name: tiny", "name: caf\xe9").encode("latin-1"),
        "not UTF-8 text: byte 0xE9 at offset 9 (line 1)",
    ),
    "broken UTF-16 after its byte-order mark": (
        b"\xff\xfe" + "name: x\n".encode("utf-16-le") + b"\x00\xd8",
        "not valid UTF-16 text",
    ),
    "a file over 1 MiB": (b"# " + b"x" * (1 << 20) + b"\n", "larger than 1 MiB"),
}


@pytest.mark.parametrize("case", list(BYTES), ids=list(BYTES))
def test_file_that_is_not_utf8_text_gives_one_line_and_exit_2(case: str, tmp_path, capsys) -> None:
    data, fragment = BYTES[case]
    path = tmp_path / "bad.yaml"
    path.write_bytes(data)
    code = main(["validate", str(path)])
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert code == 2
    assert "Traceback" not in captured.out + captured.err
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{path}: ") and fragment in lines[0], lines[0]


def test_directory_gives_one_line_and_exit_2(tmp_path, capsys) -> None:
    code = main(["validate", str(tmp_path)])
    err = capsys.readouterr().err.splitlines()
    assert code == 2
    assert err == [f"{tmp_path}: is a directory, not a scenario file"]


def test_missing_file_gives_one_line_and_exit_2(tmp_path, capsys) -> None:
    code = main(["validate", str(tmp_path / "nowhere.yaml")])
    err = capsys.readouterr().err.splitlines()
    assert code == 2
    assert len(err) == 1 and "nowhere.yaml" in err[0]


def test_run_rejects_a_broken_file_the_same_way(tmp_path, capsys) -> None:
    code, lines = run_cli(tmp_path, capsys, broken(sdr__headcount=-1), command="run")
    assert code == 2
    assert len(lines) == 1 and ": sdr.headcount: " in lines[0]


def test_console_command_exits_2_without_traceback(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(broken(cadence__contact_probability=7))
    exe = Path(sys.executable).with_name("simfunnel")
    done = subprocess.run(
        [str(exe), "run", str(path)], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"{path}: cadence.contact_probability: Input should be less than or equal to 1 (got 7)"
    ]


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_bundled_scenarios_validate(path: Path, capsys) -> None:
    assert main(["validate", str(path)]) == 0
