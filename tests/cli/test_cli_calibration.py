"""The calibration commands: export a simulated CRM, fit a scenario from it, backtest it."""

from __future__ import annotations

import matplotlib
import yaml
from conftest import crm_dict

import simfunnel
from simfunnel.cli import main

matplotlib.use("Agg")


def test_export_fit_backtest_from_the_command_line(tmp_path, capsys) -> None:
    data = crm_dict("20 weeks")
    scenario_file = tmp_path / "s.yaml"
    scenario_file.write_text(yaml.safe_dump(data))
    crm = tmp_path / "crm"
    assert main(["export", str(scenario_file), "--seed", "4", "--out", str(crm)]) == 0
    files = [crm / "leads.csv", crm / "calls.csv", crm / "opportunities.csv"]
    assert all(f.stat().st_size > 0 for f in files)
    capsys.readouterr()
    fitted = tmp_path / "fitted.yaml"
    args = ["fit", "--leads", str(files[0]), "--calls", str(files[1])]
    tables = tmp_path / "tables"
    args += ["--opportunities", str(files[2]), "--tables", str(tables)]
    assert main([*args, "--out", str(fitted), "--report", str(tmp_path / "fit.html")]) == 0
    assert (tables / "parameters.csv").stat().st_size > 0
    assert 'id="assumptions"' in (tmp_path / "fit.html").read_text()
    assert "fitted parameters" in capsys.readouterr().out
    scenario = simfunnel.load_scenario(fitted)
    assert scenario.ae.deal_value.mean == 10_000  # one list price: fixed, not a failed fit
    assert simfunnel.simulate(scenario, seed=1).totals["leads"] > 0
    out = tmp_path / "bt"
    args = ["backtest", "--leads", str(files[0]), "--cutoff", "2026-03-30", "--horizon", "4"]
    args += ["--arrivals", "actual", "--freq", "M", "--report", str(tmp_path / "bt.html")]
    assert main([*args, "--reps", "9", "--workers", "1", "--out", str(out)]) == 0
    assert "inside the band" in capsys.readouterr().out
    assert (out / "summary.csv").stat().st_size > 0
    assert (tmp_path / "bt.html").read_text().startswith("<!DOCTYPE html>")
    assert main(["fit", "--leads", str(tmp_path / "none.csv"), "--out", str(fitted)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "none.csv" in line
