"""Screenshots of every kind of report, to look at before a change is called done.

``make screenshots`` (or ``python tools/screenshots.py [OUT [REPORT ...]]``, default
``build/screenshots``; naming reports shoots those alone, without the app) writes, for each answer type built small from the bundled scenarios: the HTML report, its
screenshots at 1280 px and 400 px wide (whole page), its PDF as Chromium prints it, and the
first two PDF pages as PNG. The what-if page's screenshots (before and after moving a control,
and a broken upload) come from its browser test, run with ``SIMFUNNEL_SCREENSHOTS`` set.

It drives Debian's Chromium (``/usr/bin/chromium``) through Playwright; no browser is
downloaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTHS = (1280, 400)


def _answers() -> dict[str, Callable[[], Any]]:
    """One small answer of every kind, by the file stem of its report."""
    import simfunnel
    from simfunnel.calibration import backtest, fit, rolling_backtest
    from simfunnel.decisions import explain_gap
    from simfunnel.results import write_exports
    from simfunnel.scenario import with_overrides

    def scenario(name: str, weeks: int) -> Any:
        loaded = simfunnel.load_scenario(ROOT / "scenarios" / f"{name}.yaml")
        return with_overrides(loaded, {"horizon": f"{weeks} weeks"})

    saas = scenario("inbound_saas", 16)
    crm = Path(tempfile.mkdtemp(prefix="simfunnel_shots_"))
    traced = simfunnel.simulate(scenario("inbound_saas", 30), seed=3, trace=True)
    paths = write_exports(traced, crm)
    quiet = {"progress": False}
    return {
        "run": lambda: simfunnel.simulate(saas, seed=1),
        "run_mixed": lambda: simfunnel.simulate(scenario("mixed_inbound_outbound", 16), seed=1),
        "experiment": lambda: simfunnel.run(saas, reps=4, **quiet),
        "variants": lambda: simfunnel.run_variants(
            saas, {"now": {}, "two more SDRs": {"sdr.headcount": 10}}, reps=4, **quiet
        ),
        "thresholds": lambda: simfunnel.compare_thresholds(
            saas, [50, 60, 70], max_reps=8, explain=False, **quiet
        ),
        "sizing": lambda: simfunnel.size_team(
            saas,
            "sdr",
            ["speed_to_lead_1h>=0.7", "sdr_utilisation<=0.8"],
            max_reps=20,
            explain=False,
        ),
        "hiring": lambda: simfunnel.hiring_plan(
            saas, {"2026-02": 1.5}, "sdr", ["sdr_utilisation<=0.85"], reps=3, month_weeks=2
        ),
        "forecast": lambda: simfunnel.forecast(saas, weeks=8, max_reps=30, **quiet),
        "gap": lambda: explain_gap(saas, reps=2),
        "diagnosis": lambda: simfunnel.diagnose(simfunnel.simulate(saas, seed=1), levers=2),
        "calibration": lambda: fit(paths["leads"], paths["calls"], paths["opportunities"]),
        "backtest": lambda: backtest(
            paths["leads"], "2026-05-04", 8, paths["calls"], paths["opportunities"], reps=5
        ),
        "rolling": lambda: rolling_backtest(
            paths["leads"], cutoffs=["2026-04-01", "2026-05-01", "2026-06-01"], horizon_months=2
        ),
    }


def _pdf_pages(pdf: Path, out: Path, pages: int = 2) -> list[Path]:
    """The first pages of a PDF as PNG (pypdfium2 renders them)."""
    import pypdfium2 as pdfium  # a dev dependency, loaded only here

    document = pdfium.PdfDocument(str(pdf))
    written = []
    for i in range(min(pages, len(document))):
        path = out / f"{pdf.stem}-pdf-page{i + 1}.png"
        document[i].render(scale=1.5).to_pil().save(path)
        written.append(path)
    return written


def shoot(out: Path, only: list[str]) -> list[Path]:
    """Write every report (or those named in ``only``) and its screenshots into ``out``;
    return the files written."""
    from playwright.sync_api import sync_playwright

    from simfunnel.present import write_report

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        for name, make in _answers().items():
            if only and name not in only:
                continue
            print(f"{name}: building", file=sys.stderr, flush=True)
            html = write_report(make(), out / f"{name}.html")
            for width in WIDTHS:
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.goto(html.as_uri())
                shot = out / f"{name}-{width}.png"
                page.screenshot(path=str(shot), full_page=True)
                written.append(shot)
                page.close()
            page = browser.new_page()
            page.goto(html.as_uri())
            pdf = out / f"{name}.pdf"
            page.pdf(path=str(pdf), format="A4", print_background=True)
            page.close()
            written += [html, pdf, *_pdf_pages(pdf, out)]
        browser.close()
    return written


def app_shots(out: Path) -> int:
    """The what-if page before and after moving a control, from its browser test."""
    env = {**os.environ, "SIMFUNNEL_SCREENSHOTS": str(out / "app")}
    test = ROOT / "tests" / "app" / "test_app_browser.py"
    return subprocess.call([sys.executable, "-m", "pytest", "-q", str(test)], env=env, cwd=ROOT)


def main(argv: list[str]) -> int:
    if not CHROMIUM.exists():
        print(f"no browser at {CHROMIUM}: apt-get install chromium", file=sys.stderr)
        return 2
    out = Path(argv[0]) if argv else ROOT / "build" / "screenshots"
    only = argv[1:]  # report names (run, thresholds, ...): those alone, and not the app
    files = shoot(out, only)
    code = 0 if only else app_shots(out)
    print(f"wrote {len(files)} report files and the app's screenshots to {out}")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
