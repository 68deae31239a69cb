"""Reading scenario files safely: encodings, limits on the YAML, messages that never expand a
value, and scenarios that survive the trip to a worker process.

The one-line messages and exit codes of bad files are in the table of test_scenario_errors.py;
these tests check what those lines rest on.
"""

from __future__ import annotations

import codecs
import copy
import os
import pickle
from pathlib import Path

import pytest
import yaml
from conftest import TINY, build

from simfunnel.cli import main
from simfunnel.scenario import (
    MAX_NODES,
    MAX_PROBLEMS,
    ScenarioError,
    load_scenario,
    parse_scenario,
    scenario_from_dict,
)

VALID = yaml.safe_dump(TINY, sort_keys=False)


@pytest.mark.parametrize(
    "encoded",
    [
        codecs.BOM_UTF8 + VALID.encode("utf-8"),
        VALID.encode("utf-16"),  # with its byte-order mark, in the machine's order
        codecs.BOM_UTF16_BE + VALID.encode("utf-16-be"),
        VALID.encode("utf-32"),
    ],
    ids=["utf-8 with BOM", "utf-16", "utf-16 big-endian", "utf-32"],
)
def test_text_with_a_byte_order_mark_reads_like_utf8(encoded: bytes, tmp_path: Path) -> None:
    plain, marked = tmp_path / "plain.yaml", tmp_path / "marked.yaml"
    plain.write_text(VALID, encoding="utf-8")
    marked.write_bytes(encoded)
    assert load_scenario(marked) == load_scenario(plain)


def test_a_billion_laughs_is_refused_before_it_expands() -> None:
    """About 600 bytes that expand to 10**9 strings: refused while the YAML is composed (this
    returns at once; expanding it would take minutes and gigabytes)."""
    laughs = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for a, b in zip("abcdefgh", "bcdefghi", strict=True):
        laughs += f"{b}: &{b} [{', '.join([f'*{a}'] * 10)}]\n"
    text = VALID + laughs.replace("a: &a", "x_a: &a")
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, source="bomb.yaml")
    (line,) = caught.value.problems
    assert line.startswith("bomb.yaml: line ")
    assert f"expands to more than {MAX_NODES:,} values" in line


def test_aliases_within_the_limit_are_fine() -> None:
    """Anchors and aliases are ordinary YAML: one score model shared by two sources."""
    text = VALID.replace("  score:\n", "  score: &score\n", 1).replace(
        "scoring:\n", "- {name: two, rate_per_week: 1, score: *score}\nscoring:\n", 1
    )
    scenario = parse_scenario(text)
    assert [s.name for s in scenario.sources] == ["one", "two"]
    assert scenario.sources[0].score == scenario.sources[1].score


def test_a_huge_shared_structure_is_shown_cut_short() -> None:
    """A value built from shared references (10**9 leaves) is reported without being expanded:
    one short line naming the field."""
    big: object = [1] * 10
    for _ in range(8):
        big = [big] * 10
    data = copy.deepcopy(TINY)
    data["description"] = big
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(data, "shared")
    (line,) = caught.value.problems
    assert line.startswith("shared: description: Input should be a valid string (got [[[[")
    assert len(line) < 200


def test_a_key_that_is_a_mapping_is_refused_with_its_path() -> None:
    text = VALID.replace("  score:\n", "  score:\n    ? {a: 1}\n    : 2\n", 1)
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, source="keys.yaml")
    (line,) = caught.value.problems
    assert line.startswith("keys.yaml: sources[0].score: line ")
    assert line.endswith("a key must be a plain name or number, not a mapping")


def test_problems_beyond_the_cap_are_counted_on_one_line() -> None:
    data = copy.deepcopy(TINY)
    data["calendar"]["holidays"] = ["not a date"] * 200
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(data, "many")
    lines = caught.value.problems
    assert len(lines) == MAX_PROBLEMS + 1
    assert lines[0].startswith("many: calendar.holidays[0]: ")
    assert lines[-1] == f"many: ... and {200 - MAX_PROBLEMS} more problems"


def test_forty_thousand_sources_are_refused_at_once() -> None:
    data = copy.deepcopy(TINY)
    data["sources"] = [
        {"name": f"s{i}", "rate_per_week": 1, "score": {"mean": 50, "sd": 1}} for i in range(40_000)
    ]
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(data, "wide")
    (line,) = caught.value.problems
    assert line.startswith("wide: sources: ") and "at most 1000 items" in line


def test_a_date_that_does_not_exist_is_the_field_s_problem() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(VALID.replace("start_date: '2026-01-05'", "start_date: 2026-02-30"), "d")
    (line,) = caught.value.problems
    assert line.startswith("d: start_date: ") and "'2026-02-30'" in line


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_gives_one_line(tmp_path: Path, capsys) -> None:
    path = tmp_path / "locked.yaml"
    path.write_text(VALID)
    path.chmod(0)
    try:
        assert main(["validate", str(path)]) == 2
    finally:
        path.chmod(0o600)
    assert capsys.readouterr().err.splitlines() == [
        f"{path}: cannot read the file (permission denied)"
    ]


def test_scenario_with_every_distribution_form_pickles() -> None:
    """Experiments send scenarios to worker processes by pickle, which finds the generic
    distribution classes by name: a bound with a decimal point in that name would break it."""
    scenario = build(
        cadence__durations__conversation={"dist": "exponential", "mean": "10 min"},
        cadence__durations__no_connect={"dist": "gamma", "mean": "2 min", "cv": 0.5},
        cadence__durations__connect={"dist": "empirical", "values": ["1 min", "2 min"]},
        ae__sales_cycle={"dist": "lognormal", "median": "20 days", "p90": "60 days"},
        ae__deal_value={"dist": "lognormal", "mean": 10_000, "cv": 1.2},
    )
    assert pickle.loads(pickle.dumps(scenario)) == scenario


@pytest.mark.parametrize(
    ("horizon", "said"),
    [
        ("52 weeks", "52 weeks"),
        ("1 week", "1 week"),
        ("1 day", "1 day"),
        ("90 min", "1.5 h"),
        ("36 h", "1.5 days"),
        ("10 days", "10 days"),
    ],
)
def test_a_period_reads_as_people_say_it(horizon: str, said: str) -> None:
    """Not '1 weeks' for a day: a horizon of whole weeks in weeks, any other in its own unit."""
    assert build(horizon=horizon, sources__0__bursts=[]).period == said
