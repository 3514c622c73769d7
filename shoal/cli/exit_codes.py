"""The `shoal` command's exit codes. Their own module, importing nothing: the console script
(`entry.py`) needs them before anything else is loaded."""

from __future__ import annotations

EXIT_FAILED = 1  # the work ran and failed
EXIT_BAD_INPUT = 2  # the request was wrong (or conflicts with the current state); nothing was changed
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command stopped by Ctrl+C
