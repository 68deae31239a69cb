"""The command line: the parser, its option checks, and one handler per command."""

from __future__ import annotations

from .commands import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED, MEMORY_VARIABLE, main

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_INTERRUPTED", "MEMORY_VARIABLE", "main"]
