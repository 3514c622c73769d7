"""Guarded state changes: each is one UPDATE ... WHERE state IN (allowed sources).

The caller owns the transaction, so a task finishing and its downstream being decided commit
together. A move the table does not allow raises `InvalidTransition` before touching the
database; a move whose guard fails (someone else changed the state first) returns 0 rows.

These UPDATEs are the engine's hot path, so each distinct shape is built once with bind
parameters and cached: building a SQLAlchemy statement costs more than SQLite executing it.

`DeferredWrites` stands in for the connection when the driver wants to act on a decision before
writing it down (see `Driver._record`): the moves are recorded, answered as if their guards
held, and executed later, in order, in one transaction that fails if any guard did not hold.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import Connection, Table, Update, bindparam, update

from shoal.engine.states import RUN_TRANSITIONS, TASK_TRANSITIONS, RunState, TaskRunState
from shoal.errors import InvalidTransition
from shoal.store.models import runs, task_runs


class Increment:
    """A value meaning "the column's current value plus one" (e.g. the attempt counter)."""


INCREMENT = Increment()


class Writer(Protocol):
    """What a move needs from its connection: a real `Connection`, or `DeferredWrites`."""

    def execute(self, statement: Any, parameters: dict[str, Any]) -> Any: ...


class _Assumed:
    """The result a deferred move reports: every id it names moved."""

    def __init__(self, ids: list[int]) -> None:
        self.rowcount = len(ids)
        self._ids = ids

    def scalars(self) -> Iterator[int]:
        return iter(self._ids)


class DeferredWrites:
    """Guarded moves recorded now and executed by `apply` later, in the order they were made."""

    def __init__(self) -> None:
        self.moves: list[tuple[Any, dict[str, Any], int]] = []

    def execute(self, statement: Any, parameters: dict[str, Any]) -> _Assumed:
        ids = list(parameters["_ids"]) if "_ids" in parameters else [parameters["_id"]]
        self.moves.append((statement, parameters, len(ids)))
        return _Assumed(ids)

    def apply(self, conn: Connection) -> bool:
        """Execute the moves in `conn`'s transaction; False as soon as one guard did not hold
        (someone else changed a state first), leaving the caller to roll back."""
        for statement, parameters, expected in self.moves:
            result = conn.execute(statement, parameters)
            moved = len(result.all()) if result.returns_rows else result.rowcount
            if moved != expected:
                return False
        return True


def _check(table: dict[Any, str], frm: Iterable[Any], to: Any, what: str) -> tuple[str, ...]:
    sources = tuple(sorted(str(f) for f in frm))
    for f in sources:
        if (type(to)(f), to) not in table:
            raise InvalidTransition(f"{what} cannot move from {f} to {to}")
    return sources


@lru_cache(maxsize=256)
def _statement(
    table: Table, batch: bool, sources: tuple[str, ...], keys: tuple[str, ...], increments: tuple[str, ...],
    returning: bool,
) -> Update:
    ident = table.c.id.in_(bindparam("_ids", expanding=True)) if batch else table.c.id == bindparam("_id")
    values: dict[str, Any] = {"state": bindparam("_to")}
    values.update({k: bindparam(f"v_{k}") for k in keys})
    values.update({k: table.c[k] + 1 for k in increments})
    # One source compares with `=`: an IN list is an "expanding" parameter that SQLAlchemy
    # re-renders on every execution, which costs more than the UPDATE itself.
    guard = table.c.state == sources[0] if len(sources) == 1 else table.c.state.in_(sources)
    stmt = update(table).where(ident, guard).values(**values)
    return stmt.returning(table.c.id) if returning else stmt


def _execute(
    conn: Writer, table: Table, ids: Collection[int], sources: tuple[str, ...], to: str,
    values: dict[str, Any], returning: bool,
) -> Any:
    increments = tuple(sorted(k for k, v in values.items() if v is INCREMENT))
    keys = tuple(sorted(k for k, v in values.items() if v is not INCREMENT))
    batch = len(ids) != 1
    stmt = _statement(table, batch, sources, keys, increments, returning)
    params: dict[str, Any] = {"_to": to, **{f"v_{k}": values[k] for k in keys}}
    if batch:
        params["_ids"] = list(ids)
    else:
        params["_id"] = next(iter(ids))
    return conn.execute(stmt, params)


def move_tasks(
    conn: Writer,
    ids: Collection[int],
    frm: Iterable[TaskRunState],
    to: TaskRunState,
    **values: Any,
) -> int:
    """Move task runs `ids` that are in one of `frm` to `to`; returns how many moved."""
    sources = _check(TASK_TRANSITIONS, frm, to, "a task run")
    if not ids:
        return 0
    return _execute(conn, task_runs, ids, sources, str(to), values, returning=False).rowcount


def move_tasks_returning(
    conn: Writer,
    ids: Collection[int],
    frm: Iterable[TaskRunState],
    to: TaskRunState,
    **values: Any,
) -> set[int]:
    """Like `move_tasks`, for a batch: returns the ids that actually moved."""
    sources = _check(TASK_TRANSITIONS, frm, to, "a task run")
    if not ids:
        return set()
    return set(_execute(conn, task_runs, ids, sources, str(to), values, returning=True).scalars())


def move_run(
    conn: Writer, run_id: int, frm: Iterable[RunState], to: RunState, **values: Any
) -> bool:
    """Move run `run_id` from one of `frm` to `to`; False if its state was not one of `frm`."""
    sources = _check(RUN_TRANSITIONS, frm, to, "a run")
    return _execute(conn, runs, [run_id], sources, str(to), values, returning=False).rowcount == 1
