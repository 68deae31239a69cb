"""The command line: the list of commands and their parser, option checks, and one short handler per command.

Commands that simulate a scenario as it is live in ``simulating``, decisions in ``deciding``,
commands that read CRM exports in ``reading`` (with the cohort outlook in ``cohorts``); what
they share is in ``common`` and terminal formatting in ``tables``.
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
