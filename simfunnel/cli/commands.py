"""The ``simfunnel`` command: the list of commands, the parser built from it, and ``main``.

Exit codes: 0 success, 1 a replication failed or a file could not be written (one line naming
it), 2 bad input (a scenario problem, a bad option or an output path that cannot be written, one
line each, before any work; never a traceback), 130 interrupted (Ctrl-C; what finished is still
reported). Each command is one row of ``COMMANDS``: its options and its handler live in
:mod:`simfunnel.cli.simulating`, :mod:`simfunnel.cli.deciding` or :mod:`simfunnel.cli.reading`;
option checks are in :mod:`simfunnel.cli.options`, safe writing in :mod:`simfunnel.base.files`.

Building the parser loads the standard library and this package's command line only: each
handler loads the layers it needs when it runs, so that ``simfunnel --help`` and a mistyped
option answer at once (``tests/cli/test_startup.py``; ``benchmarks/bench_startup.py`` times it).
"""

from __future__ import annotations

import argparse
import os
import sys

from ..base.version import __version__
from . import deciding, launching, reading, simulating
from . import options as opt
from .common import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    MEMORY_VARIABLE,
    check_replications,
)

# Every command: those that simulate a scenario as it is, the decisions, those that read CRM
# exports, the web app. A new command is a row in its module's COMMANDS.
COMMANDS = (*simulating.COMMANDS, *deciding.COMMANDS, *reading.COMMANDS, *launching.COMMANDS)

# The expected failures, each one line on standard error and exit code 2: a package that
# exports the class, and its name. They are looked up among the modules already loaded when one
# is raised (a layer that is not loaded raised nothing), so that catching them loads nothing.
EXPECTED = (
    ("simfunnel.scenario", "ScenarioError"),
    ("simfunnel.data", "CalibrationError"),
    ("simfunnel.experiments", "ExperimentError"),
    ("simfunnel.base.files", "OutputError"),
)


def _memory_option(parser: argparse.ArgumentParser, default: str | None) -> None:
    parser.add_argument(
        "--max-memory",
        type=opt.memory_size,
        default=default,
        metavar="SIZE",
        help=f"most memory a run may plan to use, e.g. 16GiB (sets {MEMORY_VARIABLE})",
    )


def _quiet_option(parser: argparse.ArgumentParser, default: bool | str) -> None:
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=default,
        help="no progress bar and no messages on standard error (errors are still shown)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command, in the order ``simfunnel --help`` lists them."""
    parser = opt.OneLineParser(
        prog="simfunnel",
        description="Simulate a B2B inside-sales funnel from a scenario file.",
    )
    parser.add_argument("--version", action="version", version=f"simfunnel {__version__}")
    _memory_option(parser, None)
    _quiet_option(parser, False)
    # Also after the command; SUPPRESS keeps a value given before it.
    common = opt.OneLineParser(add_help=False)
    _memory_option(common, argparse.SUPPRESS)
    _quiet_option(common, argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.arguments(sub.add_parser(command.name, parents=[common], help=command.help))
    return parser


def expected_failure(exc: Exception) -> list[str] | None:
    """The lines that report an expected failure (:data:`EXPECTED`, or an OSError: read-only,
    no space, a folder where a file goes...), or None for a bug, which keeps its traceback."""
    for module, name in EXPECTED:
        kind = getattr(sys.modules.get(module), name, None)
        if isinstance(kind, type) and isinstance(exc, kind):
            problems = getattr(exc, "problems", None)  # a ScenarioError lists every problem
            return [str(p) for p in problems] if problems else [str(exc)]
    if isinstance(exc, OSError):
        return [opt.os_error(exc)]
    return None


def _dispatch(args: argparse.Namespace) -> int:
    """Run the command; every expected failure becomes one line on standard error."""
    handlers = {command.name: command.handler for command in COMMANDS}
    guard = sys.stdout = opt.GuardedStdout(sys.stdout)
    try:
        opt.check_outputs(args)  # every output path, before any simulation or fit
        check_replications(args)
        code = handlers[args.command](args)
        sys.stdout.flush()  # here, so that a closed pipe is seen while it can be handled
        # `simfunnel ... | head`: the work went on; exit code 1, as Python's on EPIPE (the
        # docs' note on SIGPIPE).
        return EXIT_FAILED if guard.closed and code == EXIT_OK else code
    except BrokenPipeError:  # not through the guard (a library writing to the file itself)
        opt.stdout_gone()
        return EXIT_FAILED
    except KeyboardInterrupt:  # Ctrl-C outside the replications, which keep what finished
        print("interrupted before there was an answer to report", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        lines = expected_failure(exc)
        if lines is None:
            raise
        for line in lines:
            print(line, file=sys.stderr)
        return EXIT_FAILED if isinstance(exc, OSError) else EXIT_BAD_INPUT
    finally:
        sys.stdout = guard.stream


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad option (one line already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    if getattr(args, "max_memory", None) is not None:
        os.environ[MEMORY_VARIABLE] = args.max_memory  # before any work, and for the workers
    return _dispatch(args)
