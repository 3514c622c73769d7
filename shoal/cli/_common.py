"""What every CLI command shares: opening the store, error handling, JSON output, params."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from shoal.cli.entry import EXIT_INTERRUPTED
from shoal.errors import Conflict, InvalidInput, NotFound, ShoalError, StoreUnavailable
from shoal.store import Store, open_store
from shoal.store.retry import DATABASE_AWAY, db_error_text

console = Console()
err_console = Console(stderr=True)
P = ParamSpec("P")
R = TypeVar("R")

EXIT_FAILED = 1  # the work ran and failed
EXIT_BAD_INPUT = 2  # the request was wrong (or conflicts with the current state); nothing was changed


def store() -> Store:
    return open_store()


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Print a ShoalError's message (no traceback) and exit 2 for bad input, 1 otherwise; a
    Ctrl+C is one line and exit 130 (commands that hold runs say more, see `progress`)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (InvalidInput, NotFound, Conflict, StoreUnavailable) as exc:
            # Nothing was changed: the request was wrong (or wrong for the current state), or the
            # database it names cannot be opened.
            err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except ShoalError as exc:
            err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_FAILED) from None
        except DATABASE_AWAY as exc:
            # The database went away in the middle of the command: what it did is what the
            # database says (`shoal runs list`); run it again once the database answers.
            err_console.print(f"[red]error:[/red] the metadata database failed: {escape(db_error_text(exc))}; "
                              "check it is up and run the command again", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_FAILED) from None
        except KeyboardInterrupt:
            # What the command committed stays (each change is one transaction, all or nothing).
            err_console.print("interrupted: what the command had done stays done (`shoal runs list`, "
                              "`shoal workflow list` show it)", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper


def _default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(value)
    return str(value)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, default=_default, indent=2) + "\n")


def parse_params(pairs: list[str] | None) -> dict[str, str]:
    """`-p key=value` options -> dict; a pair without '=' is bad input."""
    params: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"parameter {pair!r} must look like key=value")
        params[key.strip()] = value
    return params


def plain(value: object) -> Text:
    """A table cell shown exactly as written: names, notes, outputs and descriptions come from
    users and tasks, so a `[...]` in them is text, never rich markup (which would crash or vanish)."""
    return Text("" if value is None else str(value))


def fmt_time(value: datetime | None) -> str:
    return value.isoformat(sep=" ", timespec="seconds") if value else "-"


STATE_STYLE = {
    "success": "green", "failed": "red", "upstream_failed": "red", "running": "cyan",
    "queued": "yellow", "retrying": "magenta", "pending": "dim", "skipped": "dim", "stopped": "yellow",
    "paused": "yellow",
}


def styled(state: str | None) -> str:
    if state is None:
        return "-"
    return f"[{STATE_STYLE.get(state, 'white')}]{state}[/]"
