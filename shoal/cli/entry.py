"""The `shoal` console script: the CLI app, with a Ctrl+C at any moment ending the same way.

Importing the CLI (typer, rich; a command loads SQLAlchemy and the engine when it runs) and
building its commands takes a moment; a Ctrl+C then would print a traceback instead of one line. Commands
themselves report an interrupt (`shoal.cli._common.handle_errors`, `shoal.cli.progress`) and
exit 130.
"""

from __future__ import annotations

import os
import signal
import sys

from shoal.cli.exit_codes import EXIT_INTERRUPTED


def main() -> None:
    # A Ctrl+C while importing takes effect once the imports are done: raised in the middle of
    # one, it can come out as something else (DuckDB's extension reports an ImportError).
    pressed: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: pressed.append(signum))
    try:
        from shoal.cli.main import app
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        if pressed:
            raise KeyboardInterrupt
        app()
    except KeyboardInterrupt:  # while importing, or while typer built the commands: nothing done yet
        sys.stderr.write("\ninterrupted\n")
        _exit_interrupted()
    except SystemExit as exc:
        if exc.code == EXIT_INTERRUPTED:
            if _typer_took_the_interrupt(exc):  # while it parsed the command line: nothing done yet
                sys.stderr.write("\ninterrupted\n")
            _exit_interrupted()
        # The command is done and has said so: a Ctrl+C while the interpreter shuts down would
        # only add a traceback from its threading module, or turn the exit code into a SIGINT.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise


def _typer_took_the_interrupt(exc: BaseException) -> bool:
    """Did typer turn a Ctrl+C into this exit 130, saying nothing? It does while it parses the
    command line (`raise Exit(130) from KeyboardInterrupt`); the commands say what they did and
    exit `from None`."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen.__cause__, KeyboardInterrupt):
            return True
        seen = seen.__context__
    return False


def _exit_interrupted() -> None:
    """Exit 130 for sure. Under `python -m`, an interrupt that went through a string `exec`
    (dataclasses and namedtuples make their methods so) makes CPython kill itself with SIGINT
    on the way out whatever the exit code, even though it was caught; leaving without the
    interpreter's finalization avoids that. What the command did is already recorded."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()
