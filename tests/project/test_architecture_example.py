"""The worked example of docs/architecture.md still works: a new conversation outcome is the
diff shown there, and nothing else.

The diff is applied to a copy of the package; a run with the new outcome must use it, and the
engine, the KPI registry and the calibration defaults must pick it up from the outcome table.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

PAGE = ROOT / "docs" / "architecture.md"
CHECK = """
import json, simfunnel
from simfunnel.calibration.builder import DEFAULT_SHARES
from simfunnel.results import kpi
from simfunnel.scenario import with_overrides
s = simfunnel.load_scenario(SCENARIO)
p = s.outcomes.probabilities
s = with_overrides(s, {"horizon": "16 weeks", "outcomes.probabilities.no_prospect": p.no_prospect - 0.05,
                       "outcomes.probabilities.referred": 0.05})
r = simfunnel.simulate(s, seed=1)
print(json.dumps({"referred": r.end_states["referred"], "weekly": int(r.weekly["referred"].sum()),
                  "label": kpi("end_states", "referred").label, "default": DEFAULT_SHARES["referred"]}))
"""


def _diff() -> str:
    found = re.search(r"```diff\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)
    assert found, "docs/architecture.md lost its worked example"
    return found.group(1)


def test_the_documented_outcome_diff_is_all_a_new_outcome_needs(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "simfunnel", tmp_path / "simfunnel")
    (tmp_path / "example.diff").write_text(_diff(), encoding="utf-8")
    applied = subprocess.run(
        ["git", "apply", "--unsafe-paths", "--directory", ".", "example.diff"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert applied.returncode == 0, applied.stderr
    scenario = ROOT / "scenarios" / "inbound_saas.yaml"
    code = f"SCENARIO = {str(scenario)!r}\n{CHECK}"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["referred"] > 0 and out["weekly"] > 0  # drawn, counted, left in its state
    assert out["label"] == "referred to a colleague"  # the registry read the outcome table
    assert out["default"] == 0.05  # the fit's default came with it
