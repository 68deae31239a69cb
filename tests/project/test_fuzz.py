"""Fuzzing the inputs: every field of every bundled scenario and every column of the three CRM
tables, mutated to NaN, infinity, negative, zero, huge and wrong-typed values.

What must hold for every mutation: the input is either accepted or refused with an error of the
project's own (one line per problem, naming the file and the field or column); never a Python
traceback; and NaN or infinity is never accepted silently. Accepted scenario mutations are also
run (a sample, on a short horizon), and accepted CRM mutations are fitted.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import random
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from conftest import ROOT, SCENARIOS, build

import simfunnel
from simfunnel.calibration import CalibrationError, fit, read_calls, read_leads, read_opportunities
from simfunnel.cli import main
from simfunnel.results import write_exports
from simfunnel.scenario import ScenarioError, scenario_from_dict, with_overrides

NAN, INF = float("nan"), float("inf")
# (name, value): what each field is mutated to.
MUTATIONS: list[tuple[str, Any]] = [
    ("nan", NAN),
    ("inf", INF),
    ("-inf", -INF),
    ("negative", -1),
    ("zero", 0),
    ("huge", 1e308),
    ("text", "abc"),
    ("list", [1, 2]),
    ("mapping", {"x": 1}),
    ("bool", True),
    ("null", None),
]
# Leaf fields that are free text (names, descriptions): any text is a valid value there.
FREE_TEXT = ("name", "description")


def leaves(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths to every scalar in a YAML tree (dict keys and list indices)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from leaves(value, (*path, i))
    else:
        yield path


def mutated(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    node: Any = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return out


def dotted(path: tuple[Any, ...]) -> str:
    """The field as the project's error lines spell it: ``sources[0].score.mean``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@contextlib.contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """A mutation that hangs is a failure, not a stuck suite."""

    def stop(signum: int, frame: Any) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _short(scenario: simfunnel.Scenario) -> simfunnel.Scenario | None:
    """The scenario over two weeks, or None when it cannot be cut short as it is."""
    changes: dict[str, Any] = {"horizon": "2 weeks", "warm_up": "0 weeks", "sdr.plan": []}
    changes |= {f"sources.{i}.bursts": [] for i in range(len(scenario.sources))}
    if scenario.outbound is not None:
        changes["outbound.bdr.plan"] = []
    if scenario.ae.team is not None:
        changes["ae.team.plan"] = []
    try:
        return with_overrides(scenario, changes)
    except ScenarioError:
        return None


@pytest.mark.slow  # many runs: CI runs it (make test FULL=1)
@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_scenario_field_mutated(path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    source = path.name
    tried = refused = 0
    problems: list[str] = []
    accepted: list[tuple[str, simfunnel.Scenario]] = []
    for leaf in leaves(data):
        if leaf[-1] in FREE_TEXT:
            continue
        for kind, value in MUTATIONS:
            tried += 1
            case = f"{dotted(leaf)} = {kind}"
            try:
                with time_limit(10):
                    scenario = scenario_from_dict(mutated(data, leaf, value), source)
            except ScenarioError as exc:
                refused += 1
                lines = exc.problems
                if not lines or any("\n" in line or not line.startswith(source) for line in lines):
                    problems.append(f"{case}: error lines do not each name the file: {lines}")
                elif not any(dotted(leaf[:k]) in line for line in lines for k in (len(leaf), 1)):
                    problems.append(f"{case}: no error line names the field: {lines}")
                continue
            except Exception as exc:
                problems.append(f"{case}: {type(exc).__name__}: {exc}"[:300])
                continue
            if kind in ("nan", "inf", "-inf"):
                problems.append(f"{case}: accepted silently")
            accepted.append((case, scenario))
    # Run a sample of what was accepted: nothing may crash at run time either.
    ran = 0
    for case, scenario in random.Random(0).sample(accepted, min(25, len(accepted))):
        short = _short(scenario)
        if short is None:
            continue
        try:
            with time_limit(30):
                simfunnel.simulate(short, seed=1)
            ran += 1
        except ScenarioError:
            ran += 1  # refused before running (the size check): fine
        except Exception as exc:
            problems.append(f"{case} (run): {type(exc).__name__}: {exc}"[:300])
    print(f"\n{path.name}: {tried} mutations, {refused} refused, {len(accepted)} accepted, "
          f"{ran} of those run; problems {len(problems)}")  # fmt: skip
    assert not problems, "\n".join(problems[:40])


def test_scenario_files_through_the_command_line(tmp_path: Path) -> None:
    """A sample of mutations written as files and checked by `simfunnel validate`: exit 0 or
    2, never a traceback, and every error line names the file."""
    data = yaml.safe_load((ROOT / "scenarios" / "inbound_saas.yaml").read_text())
    paths = [leaf for leaf in leaves(data) if leaf[-1] not in FREE_TEXT]
    rng = random.Random(1)
    codes: Counter[int] = Counter()
    for i in range(60):
        leaf = rng.choice(paths)
        kind, value = rng.choice(MUTATIONS)
        file = tmp_path / f"case{i}.yaml"
        file.write_text(yaml.safe_dump(mutated(data, leaf, value)))
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["validate", str(file)])
        codes[code] += 1
        text = err.getvalue()
        assert code in (0, 2), (dotted(leaf), kind, code, text)
        assert "Traceback" not in text
        assert all(line.startswith(str(file)) for line in text.splitlines()), text
    print(f"\nexit codes: {dict(codes)}")


# --------------------------------------------------------------------------- CRM exports

CRM_MUTATIONS: list[tuple[str, Any]] = [
    ("blank", ""),
    ("nan", "nan"),
    ("inf", "inf"),
    ("negative", "-1"),
    ("zero", "0"),
    ("huge", "1e308"),
    ("text", "abc"),
    ("far date", "2099-01-01"),
    ("old date", "0001-01-01"),
]


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    scenario = build(
        horizon="12 weeks",
        sources__0__rate_per_week=25,
        sources__0__bursts=[],
        sources__0__score={"mean": 60, "sd": 15},
        cadence__connect_probability=0.6,
        cadence__contact_probability=0.6,
        outcomes__probabilities={
            "qualified": 0.4,
            "information_gathering": 0.2,
            "postponed": 0.1,
            "no_prospect": 0.2,
            "do_not_call": 0.1,
        },
        ae__acceptance={"probability": 0.7},
        ae__win={"probability": 0.4},
        ae__sales_cycle={"dist": "lognormal", "median": "20 days", "p90": "40 days"},
        ae__deal_value={"dist": "lognormal", "median": 10000, "p90": 30000},
    )
    result = simfunnel.simulate(scenario, seed=1, trace=True)
    return write_exports(result, tmp_path_factory.mktemp("crm"))


READERS = {"leads": read_leads, "calls": read_calls, "opportunities": read_opportunities}
# Every mutation is read; these are fitted too (a fit takes about a quarter of a second).
FITTED = ("text", "huge", "dropped", "half text")


def _fit(paths: dict[str, Path]) -> None:
    fit(paths["leads"], paths.get("calls"), paths.get("opportunities"))


@pytest.mark.slow  # many runs: CI runs it (make test FULL=1)
@pytest.mark.parametrize("table", list(READERS))
def test_every_crm_column_mutated(table: str, export: dict[str, Path], tmp_path: Path) -> None:
    """Every column of each table: all its cells set to each mutation (read, then fitted for a
    few kinds), and each column dropped."""
    frame = pd.read_csv(export[table], dtype=str, keep_default_na=False)
    tried = 0
    problems: list[str] = []
    for column in frame.columns:
        cases = [(kind, frame.assign(**{column: value})) for kind, value in CRM_MUTATIONS]
        cases.append(("dropped", frame.drop(columns=[column])))
        # Half the rows mutated: a few bad cells among good ones.
        half = frame.copy()
        half.loc[half.index % 2 == 0, column] = "abc"
        cases.append(("half text", half))
        for kind, bad in cases:
            tried += 1
            file = tmp_path / f"{table}.csv"
            bad.to_csv(file, index=False)
            paths = dict(export) | {table: file}
            case = f"{table}.{column} = {kind}"
            try:
                with time_limit(30):
                    READERS[table](file)
                    if kind in FITTED:
                        _fit(paths)
            except (CalibrationError, ScenarioError) as exc:
                text = str(exc)
                if str(file) not in text and file.name not in text:
                    problems.append(f"{case}: the error does not name the file: {text[:200]}")
            except Exception as exc:
                problems.append(f"{case}: {type(exc).__name__}: {exc}"[:300])
    print(f"\n{table}: {tried} mutations; problems {len(problems)}")
    assert not problems, "\n".join(problems[:40])


def test_fit_never_writes_nan_or_inf(export: dict[str, Path], tmp_path: Path) -> None:
    """Whatever the export, a fitted scenario that is written validates and holds no NaN."""
    frame = pd.read_csv(export["leads"], dtype=str, keep_default_na=False)
    score = next(c for c in frame.columns if "Score" in c)
    for value in ("inf", "1e308", "nan"):
        file = tmp_path / "leads.csv"
        frame.assign(**{score: value}).to_csv(file, index=False)
        try:
            calibration = fit(file, export["calls"], export["opportunities"])
        except CalibrationError:
            continue
        text = yaml.safe_dump(calibration.scenario_dict())
        assert ".nan" not in text and ".inf" not in text
        assert all(math.isfinite(v) for v in _numbers(calibration.scenario_dict()))


def _numbers(node: Any) -> Iterator[float]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _numbers(value)
    elif isinstance(node, list):
        for value in node:
            yield from _numbers(value)
    elif isinstance(node, float):
        yield node
