"""``simfunnel app``: the what-if web page, started from the command line.

The page lives in :mod:`simfunnel.app` and needs an optional extra; this command only starts it
(loaded on use), and says in one line how to install the extra when it is missing.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from .common import EXIT_BAD_INPUT, Command

APP_EXTRA = "pip install simfunnel[app]"
APP_LIBRARIES = ("streamlit",)  # what the extra installs and the page cannot start without


def port(text: str) -> int:
    """An argparse type: a TCP port, 1 to 65535."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"needs a port from 1 to 65535 (got {text!r})")
    return value


def app_args(app: argparse.ArgumentParser) -> None:
    """The options of `simfunnel app`."""
    app.add_argument(
        "scenario",
        type=Path,
        nargs="?",
        default=None,
        help="scenario YAML file the page opens with (default: a bundled example)",
    )
    app.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to serve on (default 127.0.0.1: this computer only)",
    )
    app.add_argument("--port", type=port, default=8501, help="port to serve on (default 8501)")
    app.add_argument(
        "--no-browser", action="store_true", help="do not open the page in a web browser"
    )


def app_command(args: argparse.Namespace) -> int:
    """Serve the page until it is stopped (the app checks the scenario and the port); exit 2
    with one line when the app or its extra is not installed."""
    missing = [name for name in APP_LIBRARIES if importlib.util.find_spec(name) is None]
    if missing:
        needs = ", ".join(missing)
        print(f"simfunnel app needs {needs}, the web app's extra: {APP_EXTRA}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        from ..app import launch
    except ImportError as exc:
        reason = " ".join(str(exc).split())
        print(f"simfunnel app cannot start ({reason}): {APP_EXTRA}", file=sys.stderr)
        return EXIT_BAD_INPUT
    scenario = None if args.scenario is None else str(args.scenario)
    code: int = launch(scenario, host=args.host, port=args.port, open_browser=not args.no_browser)
    return code


# This module's commands, in the order `simfunnel --help` lists them.
COMMANDS = (
    Command(
        "app",
        "open the what-if web page on a scenario (needs pip install simfunnel[app])",
        app_args,
        app_command,
    ),
)
