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


def test_fit_writes_the_open_pipeline_a_forecast_starts_from(tmp_path, capsys) -> None:
    """``fit --snapshot-out``: the funnel at the as-of date as a lead table, every lead created
    before it in one state (the won ones won), the counts said as written, and the command
    it names runs a forecast from today's funnel."""
    import pandas as pd

    from simfunnel.calibration import synthetic_export

    ex = synthetic_export("steady", seed=2, months=8)
    leads = ex.write(tmp_path / "exp")  # the lead table
    fitted, table_file = tmp_path / "fitted.yaml", tmp_path / "open.csv"
    args = ["fit", "--leads", str(leads), "--out", str(fitted)]
    assert main([*args, "--snapshot-out", str(table_file)]) == 0
    err = capsys.readouterr().err
    table = pd.read_csv(table_file)
    before = ex.leads[ex.leads["created"] < ex.as_of]
    assert len(table) == len(before) and table["lead_id"].is_unique
    won = before["won_date"].notna() & (before["won_date"] < ex.as_of)
    assert (table["end_state"] == "won").sum() == won.sum() > 0
    counts = ", ".join(f"{n:,} {s}" for s, n in table["end_state"].value_counts().items())
    assert f"{len(table):,} leads ({counts})" in err
    command = f"simfunnel forecast {fitted} --snapshot {table_file} --warm-up 0"
    assert command in err
    run = [*command.split()[1:], "--reps", "3", "--max-reps", "3", "--workers", "1"]
    assert main(run) == 0
    assert "starting from today's funnel" in capsys.readouterr().out
    assert main([*args, "--snapshot-out", str(fitted), "--force"]) == 2
    assert "need different paths" in capsys.readouterr().err
