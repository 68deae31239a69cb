"""Starting the what-if page: a Streamlit server for this machine's browser.

``launch`` checks what it can before anything starts (the scenario file, the port, that
Streamlit is installed) and says what is wrong in one line; then it runs
``python -m streamlit run`` on :mod:`simfunnel.app.script` in a child process and returns its
exit code. It binds to 127.0.0.1 unless told otherwise: the page runs simulations for whoever
reaches it.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from ..base.formatting import one_line
from ..scenario import ScenarioError, load_scenario

__all__ = ["SCRIPT", "launch", "streamlit_command"]

SCRIPT = Path(__file__).with_name("script.py")


def streamlit_command(
    scenario: str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8501,
    open_browser: bool = True,
) -> list[str]:
    """The command that serves the page: no usage statistics, no file watcher, no traceback
    in the browser (the page shows its own messages)."""
    options = {
        "server.address": host,
        "server.port": str(port),
        "server.headless": "false" if open_browser else "true",
        "server.fileWatcherType": "none",
        "server.runOnSave": "false",
        "browser.gatherUsageStats": "false",
        "client.showErrorDetails": "none",
        "client.toolbarMode": "viewer",
        "global.developmentMode": "false",
    }
    command = [sys.executable, "-m", "streamlit", "run", str(SCRIPT)]
    command += [f"--{name}={value}" for name, value in options.items()]
    if scenario is not None:
        command += ["--", str(Path(scenario).resolve())]
    return command


def launch(
    scenario: str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8501,
    open_browser: bool = True,
) -> int:
    """Serve the what-if page at ``http://host:port`` until stopped (Ctrl-C); return the exit
    code: 0 when stopped, 2 for a bad scenario or port (one line each on standard error), 1
    when Streamlit is missing or the server fails. ``scenario``: a YAML file to open with
    (the bundled examples and uploads are offered too)."""
    if importlib.util.find_spec("streamlit") is None:
        print(
            "simfunnel app: needs Streamlit; install it with: pip install 'simfunnel[app]'",
            file=sys.stderr,
        )
        return 1
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        print(
            f"simfunnel app: port must be a whole number from 1 to 65535 (got {port!r})",
            file=sys.stderr,
        )
        return 2
    if scenario is not None:
        try:
            load_scenario(scenario)
        except ScenarioError as exc:
            print("\n".join(exc.problems), file=sys.stderr)
            return 2
    print(f"simfunnel app: serving http://{host}:{port} (Ctrl-C stops it)", file=sys.stderr)
    command = streamlit_command(scenario, host=host, port=port, open_browser=open_browser)
    try:
        with subprocess.Popen(command) as server:
            try:
                return server.wait()
            except KeyboardInterrupt:  # the server got the same Ctrl-C and stops by itself
                server.wait()
                return 0
    except OSError as exc:
        print(f"simfunnel app: cannot start the server: {one_line(exc)}", file=sys.stderr)
        return 1
