"""Guarded state changes: each is one UPDATE ... WHERE state IN (allowed sources).

The caller owns the transaction, so a task finishing and its downstream being decided commit
together. A move the table does not allow raises `InvalidTransition` before touching the
database; a move whose guard fails (someone else changed the state first) returns 0 rows.

These UPDATEs are the engine's hot path, so each distinct shape is built once with bind
parameters and cached: building a SQLAlchemy statement costs more than SQLite executing it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Table, Update, bindparam, update

from shoal.engine.states import RUN_TRANSITIONS, TASK_TRANSITIONS, RunState, TaskRunState
from shoal.errors import InvalidTransition
from shoal.store.models import runs, task_runs


class Increment:
    """A value meaning "the column's current value plus one" (e.g. the attempt counter)."""


INCREMENT = Increment()


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
    stmt = update(table).where(ident, table.c.state.in_(sources)).values(**values)
    return stmt.returning(table.c.id) if returning else stmt


def _execute(
    conn: Connection, table: Table, ids: Collection[int], sources: tuple[str, ...], to: str,
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
    conn: Connection,
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
    conn: Connection,
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
    conn: Connection, run_id: int, frm: Iterable[RunState], to: RunState, **values: Any
) -> bool:
    """Move run `run_id` from one of `frm` to `to`; False if its state was not one of `frm`."""
    sources = _check(RUN_TRANSITIONS, frm, to, "a run")
    return _execute(conn, runs, [run_id], sources, str(to), values, returning=False).rowcount == 1
