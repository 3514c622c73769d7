"""Guarded state changes: each is one UPDATE ... WHERE state IN (allowed sources).

The caller owns the transaction, so a task finishing and its downstream being decided commit
together. A move the table does not allow raises `InvalidTransition` before touching the
database; a move whose guard fails (someone else changed the state first) returns 0 rows.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import Connection, update

from shoal.engine.states import (
    RUN_TRANSITIONS,
    TASK_TRANSITIONS,
    RunState,
    TaskRunState,
)
from shoal.errors import InvalidTransition
from shoal.store.models import runs, task_runs


def _check(table: dict[Any, str], frm: Iterable[Any], to: Any, what: str) -> list[str]:
    frm = list(frm)
    for f in frm:
        if (f, to) not in table:
            raise InvalidTransition(f"{what} cannot move from {f} to {to}")
    return [str(f) for f in frm]


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
    where = task_runs.c.id.in_(list(ids)) if len(ids) > 1 else task_runs.c.id == next(iter(ids))
    stmt = update(task_runs).where(where, task_runs.c.state.in_(sources)).values(state=str(to), **values)
    return conn.execute(stmt).rowcount


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
    stmt = (
        update(task_runs)
        .where(task_runs.c.id.in_(list(ids)), task_runs.c.state.in_(sources))
        .values(state=str(to), **values)
        .returning(task_runs.c.id)
    )
    return set(conn.execute(stmt).scalars())


def move_run(
    conn: Connection, run_id: int, frm: Iterable[RunState], to: RunState, **values: Any
) -> bool:
    """Move run `run_id` from one of `frm` to `to`; False if its state was not one of `frm`."""
    sources = _check(RUN_TRANSITIONS, frm, to, "a run")
    stmt = update(runs).where(runs.c.id == run_id, runs.c.state.in_(sources)).values(state=str(to), **values)
    return conn.execute(stmt).rowcount == 1
