"""The command line: the list of commands and their parser, option checks, and one short handler per command.

Commands that simulate a scenario as it is live in ``simulating``, decisions in ``deciding``,
commands that read CRM exports in ``reading`` (with the cohort outlook in ``cohorts``), the web
page's ``app`` in ``launching``; what they share is in ``common``, how an answer is printed and
written in ``output``, its JSON and CSV shapes in ``tables``. Building the parser loads none of
the other layers: each handler loads what it needs when it runs.
"""

from __future__ import annotations

from .commands import COMMANDS, build_parser, main
from .common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, MEMORY_VARIABLE

__all__ = [
    "COMMANDS",
    "EXIT_BAD_INPUT",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "MEMORY_VARIABLE",
    "build_parser",
    "main",
]
