"""Start-up time of the ``simfunnel`` command: ``--help``, ``run --help`` and ``validate``.

Why a baseline in the same run: machines are shared and noisy, so the ratio to a bare
``python -c pass`` timed a moment later is what we track. Each command runs in a fresh
interpreter, best of ``--repeat`` runs (the one least disturbed by other load); a second pass
with ``-X importtime`` sums the import time of the top-level modules and lists the heavy
libraries loaded. Target: ``--help`` and ``validate`` under 0.5 s. Run with
``python benchmarks/bench_startup.py [--repeat 5] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "inbound_saas.yaml"
HEAVY = ("pandas", "numpy", "scipy", "simpy", "matplotlib", "statsmodels", "pydantic", "yaml")
# The console script's own code, run the same way on any install (no PATH lookup).
MAIN = "import sys; from simfunnel.cli import main; sys.exit(main(sys.argv[1:]))"
CASES: dict[str, list[str]] = {
    "python -c pass": ["-c", "pass"],
    "simfunnel --help": ["-c", MAIN, "--help"],
    "simfunnel run --help": ["-c", MAIN, "run", "--help"],
    "simfunnel validate": ["-c", MAIN, "validate", str(SCENARIO)],
}
_LINE = re.compile(r"import time:\s+\d+ \|\s+(\d+) \|( +)(\S+)")


def wall(argv: list[str], repeat: int) -> float:
    """The best wall time, in seconds, of ``repeat`` runs in fresh interpreters."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, *argv], capture_output=True, check=True, cwd=ROOT)
        best = min(best, time.perf_counter() - start)
    return best


def imports(argv: list[str]) -> tuple[float, list[str]]:
    """Import time of the top-level modules (seconds, as ``-X importtime`` counts it, which
    inflates it a little) and the heavy libraries imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *argv], capture_output=True, text=True, cwd=ROOT
    )
    total, names = 0, set()
    for match in _LINE.finditer(done.stderr):
        cumulative, indent, module = match.groups()
        names.add(module.split(".")[0])
        if len(indent) == 1:  # a top-level import: its cumulative time holds its children's
            total += int(cumulative)
    return total / 1e6, sorted(names.intersection(HEAVY))


def measure(repeat: int) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for name, argv in CASES.items():
        seconds = wall(argv, repeat)
        import_seconds, heavy = imports(argv)
        rows[name] = {"wall_s": seconds, "import_s": import_seconds, "heavy": heavy}
    base = rows["python -c pass"]["wall_s"]
    for row in rows.values():
        row["ratio"] = row["wall_s"] / base
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per command (default 5)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    rows = measure(max(args.repeat, 1))
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"best of {args.repeat} runs, {sys.executable}")
    print(f"{'command':24} {'wall':>8} {'x python':>9} {'imports':>8}  heavy libraries loaded")
    for name, row in rows.items():
        print(
            f"{name:24} {row['wall_s']:7.3f}s {row['ratio']:8.1f}x {row['import_s']:7.3f}s  "
            f"{', '.join(row['heavy']) or '-'}"
        )


if __name__ == "__main__":
    main()
