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

from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Table, Update, bindparam, exists, update

from shoal.engine.states import (
    RUN_TRANSITIONS,
    TASK_TRANSITIONS,
    RunState,
    TaskRunState,
)
from shoal.errors import InvalidTransition
from shoal.store.models import runs, task_runs


class Increment:
    """A value meaning "the column's current value plus one" (e.g. the attempt counter)."""


INCREMENT = Increment()


class _Assumed:
    """The result a deferred move reports: every id it names moved."""

    def __init__(self, ids: list[int]) -> None:
        self.rowcount = len(ids)
        self._ids = ids

    def scalars(self) -> Iterator[int]:
        return iter(self._ids)


@dataclass
class _Move:
    table: Table
    ids: list[int]
    sources: tuple[str, ...]
    to: str
    values: dict[str, Any]
    returning: bool
    owner: str | None


class DeferredWrites:
    """Guarded moves recorded now and executed by `apply` later, in the order they were made.

    A move that continues the previous one on the same rows (queued -> running right after
    pending -> queued) is folded into it: one UPDATE guarded on the first source state, with
    both moves' values. Nobody could have seen the state in between, which was never written.
    """

    def __init__(self) -> None:
        self.moves: list[_Move] = []
        # Writes that go with the moves but guard nothing (alert deliveries): run after them.
        self.later: list[Callable[[Connection], object]] = []

    def record(self, move: _Move) -> _Assumed:
        last = self.moves[-1] if self.moves else None
        if (last is not None and last.table is move.table and last.ids == move.ids
                and move.sources == (last.to,) and move.owner == last.owner):
            last.to = move.to
            last.values = {**last.values, **move.values}
            last.returning = last.returning or move.returning
        else:
            self.moves.append(move)
        return _Assumed(move.ids)

    def apply(self, conn: Connection) -> bool:
        """Execute the moves in `conn`'s transaction; False as soon as one guard did not hold
        (someone else changed a state first), leaving the caller to roll back."""
        for m in self.moves:
            result = _execute(conn, m.table, m.ids, m.sources, m.to, m.values, m.returning, m.owner)
            moved = len(result.all()) if result.returns_rows else result.rowcount
            if moved != len(m.ids):
                return False
        for write in self.later:
            write(conn)
        return True


Writer = Connection | DeferredWrites


def after_moves(writer: Writer, write: Callable[[Connection], object]) -> None:
    """Run `write` in the transaction of the moves made on `writer`: now on a connection, after
    the moves on deferred writes (and not at all if one of their guards fails)."""
    if isinstance(writer, DeferredWrites):
        writer.later.append(write)
    else:
        write(writer)


@lru_cache(maxsize=256)
def _check(kind: str, frm: tuple[Any, ...], to: Any) -> tuple[str, ...]:
    """The sources of a move of a `kind` ("task" or "run"), checked against its transition
    table; cached, since the engine asks the same few questions for every task it moves."""
    table = TASK_TRANSITIONS if kind == "task" else RUN_TRANSITIONS
    sources = tuple(sorted(str(f) for f in frm))
    for f in sources:
        if (type(to)(f), to) not in table:
            raise InvalidTransition(f"a {kind}{' run' if kind == 'task' else ''} cannot move from {f} to {to}")
    return sources


@lru_cache(maxsize=256)
def _statement(
    table: Table, batch: bool, sources: tuple[str, ...], keys: tuple[str, ...], increments: tuple[str, ...],
    returning: bool, owned: bool,
) -> Update:
    ident = table.c.id.in_(bindparam("_ids", expanding=True)) if batch else table.c.id == bindparam("_id")
    values: dict[str, Any] = {"state": bindparam("_to")}
    values.update({k: bindparam(f"v_{k}") for k in keys})
    values.update({k: table.c[k] + 1 for k in increments})
    # One source compares with `=`: an IN list is an "expanding" parameter that SQLAlchemy
    # re-renders on every execution, which costs more than the UPDATE itself.
    guard = table.c.state == sources[0] if len(sources) == 1 else table.c.state.in_(sources)
    stmt = update(table).where(ident, guard)
    if owned:
        stmt = stmt.where(_owned_by(table))
    stmt = stmt.values(**values)
    return stmt.returning(table.c.id) if returning else stmt


def _owned_by(table: Table) -> Any:
    """The row's run still belongs to the driver `_owner`: a driver that lost its run (paused
    past its lease, and another took the run over) changes nothing of it, in the same statement
    as the state guard so that no check-then-write race is left."""
    owner = bindparam("_owner")
    if table is runs:
        return runs.c.owner == owner
    return exists().where(runs.c.id == task_runs.c.run_id, runs.c.owner == owner)


def _execute(
    conn: Writer, table: Table, ids: Collection[int], sources: tuple[str, ...], to: str,
    values: dict[str, Any], returning: bool, owner: str | None = None,
) -> Any:
    if isinstance(conn, DeferredWrites):
        return conn.record(_Move(table, list(ids), sources, to, values, returning, owner))
    increments = tuple(sorted(k for k, v in values.items() if v is INCREMENT))
    keys = tuple(sorted(k for k, v in values.items() if v is not INCREMENT))
    batch = len(ids) != 1
    stmt = _statement(table, batch, sources, keys, increments, returning, owner is not None)
    params: dict[str, Any] = {"_to": to, **{f"v_{k}": values[k] for k in keys}}
    if owner is not None:
        params["_owner"] = owner
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
    *,
    owned_by: str | None = None,
    **values: Any,
) -> int:
    """Move task runs `ids` that are in one of `frm` to `to`; returns how many moved. With
    `owned_by`, only task runs whose run that driver owns move (see `_owned_by`)."""
    sources = _check("task", tuple(frm), to)
    if not ids:
        return 0
    return _execute(conn, task_runs, ids, sources, str(to), values, False, owned_by).rowcount


def move_tasks_returning(
    conn: Writer,
    ids: Collection[int],
    frm: Iterable[TaskRunState],
    to: TaskRunState,
    *,
    owned_by: str | None = None,
    **values: Any,
) -> set[int]:
    """Like `move_tasks`, for a batch: returns the ids that actually moved."""
    sources = _check("task", tuple(frm), to)
    if not ids:
        return set()
    return set(_execute(conn, task_runs, ids, sources, str(to), values, True, owned_by).scalars())


def move_run(
    conn: Writer, run_id: int, frm: Iterable[RunState], to: RunState, *, owned_by: str | None = None, **values: Any
) -> bool:
    """Move run `run_id` from one of `frm` to `to`; False if its state was not one of `frm` (or,
    with `owned_by`, if that driver does not own it)."""
    sources = _check("run", tuple(frm), to)
    return _execute(conn, runs, [run_id], sources, str(to), values, False, owned_by).rowcount == 1
