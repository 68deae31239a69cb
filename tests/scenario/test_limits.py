"""The size check: a run is estimated from its scenario before anything is allocated, and one
that would need more memory than the limit is refused with one line naming what drives it."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, SCENARIOS, TINY, build

import simfunnel
from simfunnel.cli import main
from simfunnel.model import account_times
from simfunnel.scenario import (
    BYTES_PER_LEAD,
    DEFAULT_MAX_MEMORY,
    GIB,
    MAX_MEMORY_ENV,
    ScenarioError,
    check_size,
    estimate,
    memory_limit,
    parse_size,
)

Z = 4.0  # a false alarm about 1 in 16,000
QUIET = {"mean": 30, "sd": 5}  # every lead below the threshold: arrivals without rep work
HUGE = {"sources__0__rate_per_week": 500_000, "horizon": "520 weeks"}  # ~260 million leads


@pytest.fixture(autouse=True)
def _no_limit_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MAX_MEMORY_ENV, raising=False)


def test_estimated_leads_match_a_run_within_poisson_noise() -> None:
    """Seasonality by month and by ISO week, a burst and two sources: the estimate is the
    expected count, and one run's count is Poisson around it (the burst is exact)."""
    scenario = build(
        horizon="12 weeks",
        sources=[
            {
                "name": "web",
                "rate_per_week": 400,
                "seasonality": {"by_month": {1: 2.0, 3: 0.5}},
                "bursts": [{"start": "2026-02-02", "leads": 150, "over": "1 day"}],
                "score": QUIET,
            },
            {
                "name": "events",
                "rate_per_week": 100,
                "seasonality": {"by_week": {5: 10.0, 6: 0.0}},
                "score": QUIET,
            },
        ],
    )
    size = estimate(scenario)
    leads = simfunnel.simulate(scenario, seed=3).totals["leads"]
    poisson = size.leads - 150
    assert poisson == pytest.approx(400 * (4 * 2 + 4 + 4 * 0.5) + 100 * (12 - 2 + 10), rel=0.02)
    assert abs(leads - size.leads) <= Z * math.sqrt(poisson), (leads, size.leads)
    assert size.memory >= size.leads * BYTES_PER_LEAD


def test_warm_up_and_outbound_accounts_count() -> None:
    outbound = {
        "accounts": {"initial": 40, "added_per_month": 25},
        "bdr": {"headcount": 2},
        "cadence": {"connect_probability": 0.1, "contact_probability": 0.5},
        "outcomes": {"probabilities": TINY["outcomes"]["probabilities"]},
    }
    plain = build(horizon="20 weeks", sources__0__rate_per_week=70, outbound=outbound)
    warmed = build(
        horizon="20 weeks", warm_up="4 weeks", sources__0__rate_per_week=70, outbound=outbound
    )
    assert estimate(plain).accounts == len(account_times(plain)) == 40 + 4 * 25
    assert estimate(warmed).accounts == len(account_times(warmed.extended()))
    assert estimate(warmed).leads - estimate(plain).leads == pytest.approx(70 * 4)
    assert estimate(warmed).weeks == 24


def test_reps_and_trace_add_to_the_estimate() -> None:
    small = estimate(build(sdr__headcount=1))
    team = estimate(build(sdr__headcount=10, sdr__plan=[{"date": "2026-02-02", "hire": 5}]))
    assert team.spells == 15 and small.spells == 1
    assert team.rep_days == pytest.approx(15 * 56)
    assert team.memory > small.memory
    scenario = build(sources__0__rate_per_week=1000)
    assert estimate(scenario, trace=True).memory > estimate(scenario).memory
    assert estimate(scenario, snapshot_rows=500).leads == estimate(scenario).leads + 500


def test_too_large_a_run_is_refused_before_it_starts() -> None:
    scenario = build(**HUGE)
    with pytest.raises(ScenarioError) as caught:
        simfunnel.simulate(scenario)
    (line,) = caught.value.problems
    assert line.startswith("scenario 'tiny': sources[0].rate_per_week: too large to simulate: ")
    assert "driven by sources[0].rate_per_week, horizon" in line
    assert "above the limit of 4 GiB" in line and MAX_MEMORY_ENV in line


def test_the_limit_is_set_by_argument_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    huge, small = build(**HUGE), build()
    assert memory_limit() == DEFAULT_MAX_MEMORY
    assert check_size(huge, max_memory="1TiB").leads > 2e8  # allowed, not run
    monkeypatch.setenv(MAX_MEMORY_ENV, "unlimited")
    assert check_size(huge).memory > 100 * GIB
    monkeypatch.setenv(MAX_MEMORY_ENV, "1KiB")
    with pytest.raises(ScenarioError, match="above the limit of 1 KiB"):
        simfunnel.simulate(small)
    assert simfunnel.simulate(small, max_memory="1GiB").totals["leads"] == 1  # argument wins
    with pytest.raises(ScenarioError, match="above the limit of 512 bytes"):
        simfunnel.simulate(small, max_memory=512)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("16GiB", 16 * GIB),
        ("16 gib", 16 * GIB),
        ("4G", 4 * GIB),
        ("500MB", 5e8),
        ("1.5 TB", 1.5e12),
        (1024, 1024),
        ("2048", 2048),
        ("unlimited", math.inf),
    ],
)
def test_sizes_read_as_people_write_them(text: object, size: float) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["lots", "16 GiBs", "-1GB", "0", "nan", True, [4]])
def test_a_bad_size_is_one_line_naming_where_it_came_from(
    text: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_size(text)
    (line,) = caught.value.problems
    assert line.startswith(f"max_memory={text!r}: ")
    monkeypatch.setenv(MAX_MEMORY_ENV, str(text))
    with pytest.raises(ScenarioError, match=f"^{MAX_MEMORY_ENV}="):
        simfunnel.simulate(build())


def test_command_line_run_refuses_with_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    data = yaml.safe_load(yaml.safe_dump(TINY))
    data["sources"][0]["rate_per_week"] = 500_000
    data["horizon"] = "520 weeks"
    path = tmp_path / "huge.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["run", str(path)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and "too large to simulate" in lines[0], lines
    assert "Traceback" not in captured.out + captured.err


def test_an_experiment_too_large_is_refused_before_any_replication(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Experiments check every variant before the pool starts: one line, nothing run."""
    monkeypatch.setenv(MAX_MEMORY_ENV, "1KiB")
    with pytest.raises(ScenarioError, match="too large to simulate"):
        simfunnel.run(build(), reps=2, workers=1, progress=False)


@pytest.mark.parametrize(
    "path",
    [*SCENARIOS, *sorted((ROOT / "benchmarks").glob("*.yaml"))],
    ids=lambda p: p.name,
)
def test_bundled_scenarios_fit_the_default_limit(path: Path) -> None:
    size = check_size(simfunnel.load_scenario(path))
    assert size.memory < 256 * 1024**2  # the largest, reference_full, is about 80 MB


def test_the_command_line_names_the_file_of_a_scenario_too_large(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = yaml.safe_load((ROOT / "scenarios" / "inbound_saas.yaml").read_text())
    data["sources"][0]["rate_per_week"] = 1_000_000
    data["horizon"] = "520 weeks"
    path = tmp_path / "huge.yaml"
    path.write_text(yaml.safe_dump(data))
    for command in (["validate"], ["run"]):
        assert main([*command, str(path)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(str(path)), err
        assert "sources[0].rate_per_week" in err[0] and "too large to simulate" in err[0]
