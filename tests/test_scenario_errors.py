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
        [("sdr.headcount", "valid integer", "'many'")],
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
        [("nurture.engagement_every", "needs a mean above 0", None)],
    ),
    "instant email replies": (
        broken(cadence__email_reply_after="0 min"),
        [("cadence.email_reply_after", "needs a mean above 0", None)],
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

# Problems found before the schema: the file itself.
RAW: dict[str, tuple[str, str]] = {
    "malformed YAML": ("sdr: {headcount: 2\ncadence: [\n", "line 2"),
    "object-constructing tag": (
        "name: !!python/object/apply:os.system ['echo pwned > PWNED']\n",
        "tag",
    ),
    "duplicate key": (VALID + "horizon: 2 weeks\n", "horizon"),
    "empty file": ("", "empty"),
    "a list, not a mapping": ("- 1\n- 2\n", "mapping"),
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
