"""What every CLI command shares: error handling, JSON or table output, params, state colours.

Cheap to import (typer and rich's console only): every command module imports it, and so does
`shoal --help`. What a command needs beyond that it imports when it runs: the services (and
with them SQLAlchemy and the engine), and the store (`shoal.cli._store`).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text

from shoal.cli.exit_codes import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED
from shoal.errors import Conflict, Forbidden, InvalidInput, NotFound, ShoalError, StoreUnavailable, Unauthorized
from shoal.services.encoding import jsonable

__all__ = [
    "EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_INTERRUPTED", "Column", "console", "err_console", "fmt_time",
    "handle_errors", "parse_params", "plain", "print_json", "print_rows", "styled",
]  # and `store`, loaded on first use (see __getattr__)

console = Console()
err_console = Console(stderr=True)
P = ParamSpec("P")
R = TypeVar("R")


def __getattr__(name: str) -> Any:
    # `store` opens the database, which loads SQLAlchemy: it lives in `_store`, loaded when a
    # command first asks for it (`from shoal.cli._common import store` keeps working).
    if name == "store":
        from shoal.cli._store import store

        return store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Print a ShoalError's message (no traceback) and exit 2 for bad input, 1 otherwise; a
    Ctrl+C is one line and exit 130 (commands that hold runs say more, see `progress`)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):  # the command has said what it had to
            raise
        except NotFound as exc:
            # Say where it was looked for: the wrong home (another directory, a demo's) is the
            # usual reason something that exists is not found.
            from shoal.cli._backend import services

            _error(f"{exc} (looked in {services.home.where()})")
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except (InvalidInput, Conflict, Forbidden, Unauthorized, StoreUnavailable) as exc:
            # Nothing was changed: the request was wrong (or wrong for the current state, or not
            # the user's to make, or its token was refused), or the database (the server) it
            # names cannot be opened (reached).
            _error(str(exc))
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except ShoalError as exc:
            _error(str(exc))
            raise typer.Exit(EXIT_FAILED) from None
        except KeyboardInterrupt:
            # What the command committed stays (each change is one transaction, all or nothing).
            err_console.print("interrupted: what the command had done stays done (`shoal runs list`, "
                              "`shoal workflow list` show it)", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:
            # Only an error can have come from the database: it is loaded by now.
            from shoal.services.home import database_failure

            text = database_failure(exc)
            if text is None:
                raise
            # The database went away in the middle of the command: what it did is what the
            # database says (`shoal runs list`); run it again once the database answers.
            _error(f"the metadata database failed: {text}; check it is up and run the command again")
            raise typer.Exit(EXIT_FAILED) from None

    return wrapper


def _error(message: str) -> None:
    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    """`data` (the services' dataclasses, lists and dicts of them) as indented JSON on stdout."""
    sys.stdout.write(json.dumps(data, default=jsonable, indent=2) + "\n")


@dataclass(frozen=True)
class Column:
    """A column of `print_rows`: its header, the cell of a row, and how it fits a narrow terminal.

    No word is ever cut in two: a `whole` column (ids, names, states, dates) keeps each cell on
    one line, another folds between words (a word longer than FOLD_WORD may fold inside). When
    the words do not fit the terminal's width, columns with a `drop` rank leave the table, the
    highest rank first, and a caption says which (`--json` has them all).
    """

    header: str
    cell: Callable[[Any], str | Text]
    whole: bool = False
    min_width: int | None = None  # a floor under what its words need (e.g. 10 for a date)
    drop: int = 0  # 0: always shown


FOLD_WORD = 16  # a longer word (a path, a URL) in a folding column may fold inside


def print_rows(rows: Sequence[Any], columns: Sequence[Column], json_out: bool) -> None:
    """The "JSON or a table" of every list command: `rows` as JSON, else as a rich table that
    fits the terminal without cutting a name or a date in two."""
    if json_out:
        print_json(list(rows))
        return
    from rich.table import Table

    cells = [[col.cell(row) for row in rows] for col in columns]
    widths = [_width(col, column) for col, column in zip(columns, cells, strict=True)]
    shown = list(range(len(columns)))
    # A table's frame takes 3 characters a column (a border and a space each side) and 1 more.
    while sum(widths[i] + 3 for i in shown) + 1 > console.width and any(columns[i].drop for i in shown):
        shown.remove(max((i for i in shown if columns[i].drop), key=lambda i: columns[i].drop))
    hidden = [col.header for i, col in enumerate(columns) if i not in shown]
    table = Table(caption=f"hidden at this width: {', '.join(hidden)} (see --json)" if hidden else None)
    folded = _fold_widths([i for i in shown if not columns[i].whole], widths, cells, columns,
                          console.width - sum(widths[i] + 3 for i in shown) - 1)
    for i in shown:
        col = columns[i]
        if col.whole:
            table.add_column(col.header, no_wrap=True, min_width=widths[i])
        else:
            table.add_column(col.header, overflow="fold", min_width=widths[i], width=folded.get(i))
    for r in range(len(rows)):
        table.add_row(*(cells[i][r] for i in shown))
    console.print(table)


def _fold_widths(folding: list[int], widths: list[int], cells: list[list[str | Text]], columns: Sequence[Column],
                 spare: int) -> dict[int, int]:
    """Widths for the folding columns when the table cannot show every cell on one line: each
    gets its narrowest width plus a fair share of the spare room, up to what its longest line
    needs. Empty when everything fits (rich then sizes the table itself). Rich's own shrinking
    reduces the widest columns first and can leave a table wider than the terminal, which then
    cuts off its right edge."""
    wants = {i: max(_longest_line(columns[i].header, cells[i]) - widths[i], 0) for i in folding}
    if spare >= sum(wants.values()) or spare < 0:
        return {}
    out: dict[int, int] = {}
    for n, i in enumerate(sorted(folding, key=lambda i: wants[i])):
        given = min(wants[i], spare // (len(folding) - n))
        out[i] = widths[i] + given
        spare -= given
    return out


def _longest_line(header: str, cells: list[str | Text]) -> int:
    texts = [c.plain if isinstance(c, Text) else Text.from_markup(c).plain for c in cells]
    return max([len(header), *(len(line) for text in texts for line in text.splitlines() or [""])])


def _width(col: Column, cells: list[str | Text]) -> int:
    """The narrowest `col` can be without cutting a word of its header or of a cell (whole: a cell)."""
    texts = [c.plain if isinstance(c, Text) else Text.from_markup(c).plain for c in cells]
    words = [len(w) for w in col.header.split()]
    for text in texts:
        if col.whole:
            words.extend(len(line) for line in text.splitlines() or [""])
        else:
            words.extend(min(len(w), FOLD_WORD) for w in text.split())
    return max([*words, col.min_width or 1])


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


@functools.cache
def state_styles() -> dict[str, str]:
    """The colour of every run and task-run state, keyed by the states themselves (a state the
    engine adds without a colour here shows white; a test keeps them in step)."""
    from shoal.services import RunState as Run
    from shoal.services import TaskRunState as Task

    colours = {
        "green": (Run.SUCCESS, Task.SUCCESS),
        "red": (Run.FAILED, Task.FAILED, Task.UPSTREAM_FAILED),
        "cyan": (Run.RUNNING, Task.RUNNING),
        "yellow": (Run.QUEUED, Task.QUEUED, Run.STOPPED, Task.STOPPED, Run.PAUSED),
        "magenta": (Task.RETRYING,),
        "dim": (Task.PENDING, Task.SKIPPED),
    }
    return {str(state): colour for colour, states in colours.items() for state in states}


def styled(state: str | None) -> str:
    if state is None:
        return "-"
    return f"[{state_styles().get(state, 'white')}]{state}[/]"
