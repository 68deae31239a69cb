"""docs/scenarios.md: generated from the schema, complete, and its examples really work.

The page is rendered by ``tools/docgen.py``; these tests check it from the outside: the field
paths are walked here independently of the generator, the documented defaults are fed back to the
loader, and the example scenarios are loaded from the page itself and simulated.
"""

from __future__ import annotations

import copy
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args, get_origin

import numpy as np
import pytest
import yaml
from conftest import ROOT
from pydantic import BaseModel

import simfunnel
from simfunnel.decisions import mmc_mean_wait
from simfunnel.scenario import Scenario, load_scenario, scenario_from_dict

sys.path.insert(0, str(ROOT / "tools"))  # the docs generator is developer tooling, not the package
import docgen

PAGE_PATH = ROOT / "docs" / "scenarios.md"
PAGE = PAGE_PATH.read_text(encoding="utf-8")
Z = 4.0  # as in test_theory: a false alarm about 1 in 16,000
BLOCK = re.compile(r"<!-- (scenario: \w+|fragment) -->\n```yaml\n(.*?)```", re.S)


# ----------------------------------------------------------------------------- reading the page


def _sections(text: str) -> dict[str, str]:
    """Heading (##/###) -> its text up to the next heading."""
    parts = re.split(r"^#{2,3} (.+)$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _rows(text: str) -> list[list[str]]:
    """The cells of every table row whose first cell is a code span (a field)."""
    rows = []
    for line in text.splitlines():
        if line.startswith("| `"):
            cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            assert len(cells) == len(docgen.COLUMNS), line
            rows.append(cells)
    return rows


def _reference_rows() -> dict[str, list[str]]:
    """Field path -> row, from the Field reference part of the page (before Distributions)."""
    part = PAGE.split("## Field reference", 1)[1].split("## Distributions", 1)[0]
    return {row[0].strip("`"): row for row in _rows(part)}


def _scenario_blocks() -> dict[str, str]:
    """Blocks marked ``<!-- scenario: NAME -->``: whole scenario files."""
    return {m.split(": ")[1]: body for m, body in BLOCK.findall(PAGE) if m.startswith("scenario")}


def _fragments() -> list[str]:
    """Blocks marked ``<!-- fragment -->``: parts of a scenario file."""
    return [body for m, body in BLOCK.findall(PAGE) if m == "fragment"]


def _minimal() -> dict[str, Any]:
    return yaml.safe_load(_scenario_blocks()["minimal"])


# ----------------------------------------------------------------------------- schema walk


def _list_item_model(tp: Any) -> type[BaseModel] | None:
    args = get_args(tp)
    is_list = get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis
    if is_list and isinstance(args[0], type) and issubclass(args[0], BaseModel):
        return args[0]
    return None


def _distribution_members(tp: Any) -> list[type[BaseModel]]:
    members = [a for a in get_args(tp) if a is not type(None)]
    if members and all(isinstance(m, type) and issubclass(m, BaseModel) for m in members):
        return members
    return []


def _leaves(
    model: type[BaseModel], prefix: str, forms: dict[str, set[str]]
) -> list[tuple[str, Any]]:
    """(path, FieldInfo) of every leaf field; distribution fields are leaves, their forms in ``forms``."""
    out: list[tuple[str, Any]] = []
    for name, info in model.model_fields.items():
        path = prefix + (info.alias or name)
        tp = info.annotation
        optional = [a for a in get_args(tp) if a is not type(None)]
        if len(optional) == 1 and len(get_args(tp)) == 2:  # an optional section: its fields
            tp = optional[0]
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            out += _leaves(tp, path + ".", forms)
        elif (item := _list_item_model(tp)) is not None:
            out += _leaves(item, path + "[].", forms)
        else:
            out.append((path, info))
            for member in _distribution_members(tp):
                (tag,) = get_args(member.model_fields["dist"].annotation)
                keys = {i.alias or n for n, i in member.model_fields.items()}
                forms.setdefault(tag, set()).update(keys)
    return out


FORMS: dict[str, set[str]] = {}
LEAVES = _leaves(Scenario, "", FORMS)


# ----------------------------------------------------------------------------- the page is current


def test_committed_page_is_the_rendering_of_the_schema() -> None:
    assert docgen.render() == PAGE, "docs/scenarios.md is stale: run `make docs`"


def test_check_flag_reports_a_stale_or_missing_page(tmp_path: Path, capsys) -> None:
    page = tmp_path / "scenarios.md"
    assert docgen.main(["--check", "--path", str(page)]) == 1
    assert "missing" in capsys.readouterr().err
    assert docgen.main(["--path", str(page)]) == 0
    assert docgen.main(["--check", "--path", str(page)]) == 0
    page.write_text(page.read_text() + "hand edit\n")
    assert docgen.main(["--check", "--path", str(page)]) == 1
    assert "make docs" in capsys.readouterr().err


def test_module_entry_point_checks_the_committed_page() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "docgen.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr


# ----------------------------------------------------------------------------- completeness


def test_every_leaf_field_has_a_row() -> None:
    documented = set(_reference_rows())
    missing = [path for path, _ in LEAVES if path not in documented]
    assert not missing, missing
    assert len(LEAVES) > 50  # the walk really went down into the sections


def test_every_distribution_parameter_is_documented_under_its_form() -> None:
    sections = _sections(PAGE)
    assert set(FORMS) == {"fixed", "exponential", "lognormal", "gamma", "empirical"}
    for tag, keys in FORMS.items():
        body = sections[f"`dist: {tag}`"]
        assert {row[0].strip("`") for row in _rows(body)} == keys, tag
        assert f"dist: {tag}" in body.split("```")[1] or tag == "fixed"  # the example uses it


def test_every_row_says_type_unit_default_and_meaning() -> None:
    numeric = ("number", "integer", "duration", "distribution", "mapping", "list of d")
    for row in _rows(PAGE):
        path, kind, unit, default, _constraints, description = row
        assert all(row), row
        assert description.endswith("."), row
        assert (
            default == "required"
            or default in {"section defaults", "not set"}
            or (default.startswith("`") and default.endswith("`"))
        ), row
        if kind.startswith(numeric):
            assert unit != "—", f"{path} has no unit"


def test_required_fields_are_the_schema_required_fields() -> None:
    rows = _reference_rows()
    for path, info in LEAVES:
        assert (rows[path][3] == "required") == info.is_required(), path


MINIMAL_OUTBOUND = {
    "accounts": {"initial": 100},
    "bdr": {"headcount": 1},
    "cadence": {"connect_probability": 0.1, "contact_probability": 0.5},
    "outcomes": {
        "probabilities": {
            "qualified": 0.2,
            "information_gathering": 0.3,
            "postponed": 0.1,
            "no_prospect": 0.3,
            "do_not_call": 0.1,
        }
    },
}


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    """Set a documented path (``[]`` = first item), creating sections on the way."""
    node: Any = data
    parts = path.replace("[]", ".0").split(".")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    node[parts[-1]] = value


def test_documented_defaults_are_the_defaults_the_loader_applies() -> None:
    """Writing a field's documented default into a file must change nothing."""
    checked = 0
    for path, row in _reference_rows().items():
        default = row[3]
        if default in {"required", "not set"}:
            continue
        base = _minimal()
        if path.startswith("sources[].bursts[]."):
            base["sources"][0]["bursts"] = [{"start": "2026-02-02", "leads": 10}]
        if path.startswith("sdr.plan[]."):
            base["sdr"]["plan"] = [{"date": "2026-02-02"}]
        if path.startswith("sources[].pql."):
            base["sources"][0]["pql"] = {}
        if path.startswith("nurture."):
            base["nurture"] = {}
        if path.startswith("outbound."):
            base["outbound"] = copy.deepcopy(MINIMAL_OUTBOUND)
            if path.startswith("outbound.bdr.plan[]."):
                base["outbound"]["bdr"]["plan"] = [{"date": "2026-02-02"}]
        if path.startswith("ae.team."):
            base["ae"]["team"] = {"headcount": 2, "max_open_per_ae": 10}
            if path.startswith("ae.team.plan[]."):
                base["ae"]["team"]["plan"] = [{"date": "2026-02-02"}]
        explicit = copy.deepcopy(base)
        value = {} if default == "section defaults" else yaml.safe_load(default.strip("`"))
        _set(explicit, path, value)
        assert scenario_from_dict(explicit) == scenario_from_dict(base), (path, default)
        checked += 1
    assert checked > 30


# ----------------------------------------------------------------------------- examples


def test_page_has_the_minimal_and_mmc_examples_and_one_fragment_per_form() -> None:
    assert set(_scenario_blocks()) == {"minimal", "mmc"}
    assert len(_fragments()) == len(FORMS)


@pytest.mark.parametrize("name", ["minimal", "mmc"])
def test_example_scenario_loads_from_a_file_and_runs(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_text(_scenario_blocks()[name], encoding="utf-8")
    scenario = load_scenario(path)
    short = scenario_from_dict({**yaml.safe_load(path.read_text()), "horizon": "2 weeks"})
    result = simfunnel.simulate(short, seed=1)
    assert scenario.horizon > short.horizon
    assert result.totals["leads"] > 0 and result.totals["dials"] > 0


def test_minimal_example_sets_only_required_fields() -> None:
    data = _minimal()
    for key in data:
        trimmed = {k: v for k, v in data.items() if k != key}
        with pytest.raises(simfunnel.ScenarioError, match="required field is missing"):
            scenario_from_dict(trimmed)


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def test_distribution_fragments_validate_inside_the_minimal_example() -> None:
    for fragment in _fragments():
        scenario_from_dict(_merge(_minimal(), yaml.safe_load(fragment)), "fragment")


def _batch_means(values: np.ndarray, batches: int = 30) -> tuple[float, float]:
    means = np.array([p.mean() for p in np.array_split(values, batches)])
    return float(values.mean()), float(means.std(ddof=1) / math.sqrt(batches))


def test_mmc_example_mean_wait_agrees_with_erlang_c(tmp_path: Path) -> None:
    path = tmp_path / "mmc.yaml"
    path.write_text(_scenario_blocks()["mmc"], encoding="utf-8")
    scenario = load_scenario(path)
    lam = scenario.sources[0].rate_per_week / 168
    mu = 1 / scenario.cadence.durations.conversation.mean
    theory = mmc_mean_wait(lam, mu, scenario.sdr.headcount)

    data = simfunnel.simulate(scenario, seed=7).data
    arrival, first = data.leads.arrival, data.first_attempt
    keep = (arrival > 168.0) & ~np.isnan(first)  # one week of warm-up from an empty queue
    mean, se = _batch_means((first - arrival)[keep])
    assert keep.sum() > 20_000
    assert abs(mean - theory) < Z * se, (mean, theory, se)
    assert f"{theory:.3f} h" in PAGE
