"""The what-if page in a real browser: Debian's Chromium, driven by Playwright, against the
server ``simfunnel app`` starts (the same command, on a free port of 127.0.0.1).

It loads the page, checks the tiles against the library's own experiment for today's settings,
moves the SDR headcount, waits for the update, checks the tiles again against
``simfunnel.run`` for the new setting on the same seed, and uploads a broken scenario to see
its message. With ``SIMFUNNEL_SCREENSHOTS=DIR`` it saves the page before and after the move.
Skipped only when no browser (``/usr/bin/chromium``) or no Playwright is installed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from app_scenarios import ROOT

import simfunnel
from simfunnel.app.launcher import streamlit_command
from simfunnel.app.runs import Plan
from simfunnel.scenario import with_overrides

sys.path.insert(0, str(ROOT / "tools"))  # make screenshots drives the same browser, same flags
from screenshots import ARGS, CHROMIUM

# CI sets SIMFUNNEL_BROWSER_REQUIRED once Chromium is installed: there a missing browser or
# driver is a failure, so that a passing CI run shows that the browser test ran.
REQUIRED = bool(os.environ.get("SIMFUNNEL_BROWSER_REQUIRED"))
if not CHROMIUM.exists():
    reason = f"no browser: {CHROMIUM} is missing (apt-get install chromium)"
    if REQUIRED:
        pytest.fail(f"SIMFUNNEL_BROWSER_REQUIRED is set, but {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)
if REQUIRED:
    import streamlit  # noqa: F401
    from playwright import sync_api
else:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
    )
    pytest.importorskip("streamlit", reason="streamlit is not installed (pip install streamlit)")

SCENARIO = ROOT / "scenarios" / "inbound_saas.yaml"
PLAN = Plan()  # the page's own plan: what the tiles show
WAIT_MS = 45_000  # the longest wait for the page (the test as a whole keeps under a minute)
BROKEN = b"name: broken\nsdr:\n  headcont: 3\n"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, server: subprocess.Popen[bytes], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server stopped with exit code {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"the server did not answer at {url} within {seconds:.0f} s")


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """The page, served as ``simfunnel app scenarios/inbound_saas.yaml`` serves it."""
    port = _free_port()
    command = streamlit_command(str(SCENARIO), port=port, open_browser=False)
    server = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    address = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(address, server)
        yield address
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def page(url: str) -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        tab.set_default_timeout(WAIT_MS)
        tab.goto(url)
        yield tab
        browser.close()


def _expected(overrides: dict[str, object]) -> dict[str, float]:
    """The tiles' figures by the library alone: ``simfunnel.run`` on the page's plan (its
    weeks, replications and seed), the April trade-show burst falling after the 13 weeks."""
    scenario = simfunnel.load_scenario(SCENARIO)
    short = {"horizon": f"{PLAN.weeks} weeks", "sources[2].bursts": []}
    run = with_overrides(scenario, {**short, **overrides})
    experiment = simfunnel.run(run, reps=PLAN.reps, seed=PLAN.seed, workers=1, progress=False)
    s = experiment.summary().set_index(["section", "metric"])["mean"]
    return {
        "Valid opportunities": s[("totals", "valid_opportunities")],
        "Deals won": s[("totals", "won")],
        "Won value": s[("totals", "won_value")],
        "SDR utilisation": s[("utilisation", "sdr")],
    }


def _tiles(page: Any) -> dict[str, str]:
    """Each KPI tile's label and value, as the browser shows them."""
    tab = page
    tab.locator('[data-testid="stMetricValue"]').first.wait_for()
    out = {}
    for tile in tab.locator('[data-testid="stMetric"]').all():
        label = tile.locator('[data-testid="stMetricLabel"]').inner_text().strip()
        out[label] = tile.locator('[data-testid="stMetricValue"]').inner_text().strip()
    return out


def _shown_as(expected: dict[str, float]) -> dict[str, str]:
    currency = simfunnel.load_scenario(SCENARIO).currency
    return {
        "Valid opportunities": f"{round(expected['Valid opportunities']):,}",
        "Deals won": f"{round(expected['Deals won']):,}",
        "Won value": currency.format(expected["Won value"]),
        "SDR utilisation": f"{expected['SDR utilisation']:.1%}",
    }


def _screenshot(page: Any, name: str) -> None:
    folder = os.environ.get("SIMFUNNEL_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def test_moving_a_control_shows_what_the_library_computes(page: Any) -> None:
    tab = page
    tab.get_by_text("Showing: today's settings").wait_for()
    before = _tiles(tab)
    _screenshot(tab, "app-before.png")
    expected = _shown_as(_expected({}))
    assert {k: before[k] for k in expected} == expected

    sdrs = tab.get_by_role("spinbutton", name="SDRs")
    sdrs.fill("10")
    sdrs.press("Enter")
    tab.get_by_text("Showing: SDRs 10 (today 8)").wait_for()
    after = _tiles(tab)
    _screenshot(tab, "app-after.png")
    expected = _shown_as(_expected({"sdr.headcount": 10}))
    assert {k: after[k] for k in expected} == expected
    assert after["SDR utilisation"] != before["SDR utilisation"]  # two more SDRs: less busy


def test_a_broken_upload_shows_its_problems_not_a_traceback(page: Any) -> None:
    tab = page
    tab.get_by_text("Upload a scenario (YAML)").click()
    tab.locator('input[type="file"]').set_input_files(
        files=[{"name": "broken.yaml", "mimeType": "application/x-yaml", "buffer": BROKEN}]
    )
    tab.get_by_text("This scenario cannot be used").wait_for()
    tab.get_by_text("sdr.headcont: unknown key").wait_for()  # the lines' block draws after
    text = tab.locator("body").inner_text()
    assert "broken.yaml: sdr.headcont: unknown key; did you mean 'headcount'?" in text
    assert "broken.yaml: start_date: required field is missing" in text
    assert "Traceback" not in text
    _screenshot(tab, "app-bad-upload.png")


def test_exports_named_otherwise_fit_with_an_uploaded_mapping(page: Any, tmp_path: Path) -> None:
    """A lead export whose date column has the CRM's own name is fitted on the page with a
    column mapping uploaded beside it; the page then shows the fitted scenario."""
    from simfunnel.results import write_exports

    run = simfunnel.simulate(simfunnel.load_scenario(SCENARIO), seed=2)
    leads = write_exports(run, tmp_path)["leads"].read_bytes()
    own = leads.replace(b"Create Date", b"Created On", 1)
    tab = page
    tab.get_by_text("Fit from CRM exports").click()
    tab.get_by_text("Leads export (CSV)").wait_for()
    inputs = tab.locator('input[type="file"]')
    inputs.nth(0).set_input_files(
        files=[{"name": "crm leads.csv", "mimeType": "text/csv", "buffer": own}]
    )
    inputs.nth(3).set_input_files(
        files=[
            {
                "name": "mapping.yaml",
                "mimeType": "application/x-yaml",
                "buffer": b"leads:\n  created: Created On\n",
            }
        ]
    )
    tab.get_by_role("button", name="Fit").click()
    tab.get_by_text("fitted from crm leads.csv").wait_for(timeout=3 * WAIT_MS)
    text = tab.locator("body").inner_text()
    assert "Traceback" not in text and "cannot be fitted" not in text
    _screenshot(tab, "app-fitted-mapping.png")
