"""The declared state machines, rule by rule: each legal (from, to) pair moves, guarded; every
other pair is refused before the database is touched; `RunBook.move` keeps memory, buckets and
the unfinished count in step; ownership moves only as `OWNERSHIP_MOVES` says."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from shoal.client import Client
from shoal.engine.book import RunBook
from shoal.engine.claims import OWNERSHIP_MOVES, claim_run, release_runs, renew_leases
from shoal.engine.runs import trigger_run
from shoal.engine.runtime import ActiveRun
from shoal.engine.states import (
    RUN_TRANSITIONS,
    TASK_TERMINAL,
    TASK_TRANSITIONS,
    RunState,
    TaskRunState,
)
from shoal.engine.transitions import DeferredWrites, move_run, move_tasks
from shoal.errors import InvalidTransition
from shoal.executors.capacity import Capacity, Slots
from shoal.spec.models import TaskSpec, Workflow
from shoal.store import Store, utcnow
from shoal.store.models import runs, task_runs

S = TaskRunState
R = RunState
TASK_ILLEGAL = [p for p in itertools.product(TaskRunState, TaskRunState) if p not in TASK_TRANSITIONS]
RUN_ILLEGAL = [p for p in itertools.product(RunState, RunState) if p not in RUN_TRANSITIONS]
OWNER = "here:1:0"


def _name(pair: tuple[object, object]) -> str:
    return f"{pair[0]}->{pair[1]}"


@pytest.fixture
def run_row(store: Store, tmp_path: Path) -> Iterator[tuple[int, int]]:
    """A run of one task, owned by OWNER: (run id, task run id)."""
    wf = tmp_path / "wf.yaml"
    wf.write_text("name: moves\ntasks:\n  - {name: a, type: shell, command: 'true'}\n")
    Client(store=store).apply_path(wf)
    run_id = trigger_run(store, "moves")
    with store.engine.begin() as conn:
        conn.execute(update(runs).where(runs.c.id == run_id).values(owner=OWNER))
        task_id = conn.execute(select(task_runs.c.id).where(task_runs.c.run_id == run_id)).scalar_one()
    yield run_id, task_id


def _set(store: Store, table: object, row_id: int, state: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(table).where(table.c.id == row_id).values(state=state))  # type: ignore[attr-defined]


def _state(store: Store, table: object, row_id: int) -> str:
    with store.engine.connect() as conn:
        return conn.execute(select(table.c.state).where(table.c.id == row_id)).scalar_one()  # type: ignore[attr-defined]


class TestTaskMoves:
    """Every move the task table declares happens, as one guarded UPDATE."""

    @pytest.mark.parametrize("frm,to", list(TASK_TRANSITIONS), ids=_name)
    def test_a_declared_move_moves_the_row(self, store: Store, run_row: tuple[int, int], frm: S, to: S) -> None:
        _run_id, task_id = run_row
        _set(store, task_runs, task_id, frm)
        with store.engine.begin() as conn:
            assert move_tasks(conn, [task_id], [frm], to, owned_by=OWNER) == 1
        assert _state(store, task_runs, task_id) == to

    @pytest.mark.parametrize("frm,to", list(TASK_TRANSITIONS), ids=_name)
    def test_a_row_in_another_state_does_not_move(self, store: Store, run_row: tuple[int, int], frm: S, to: S) -> None:
        _run_id, task_id = run_row
        other = next(s for s in TaskRunState if s not in (frm, to))
        _set(store, task_runs, task_id, other)
        with store.engine.begin() as conn:
            assert move_tasks(conn, [task_id], [frm], to, owned_by=OWNER) == 0
        assert _state(store, task_runs, task_id) == other

    def test_a_run_owned_by_another_driver_moves_nothing(self, store: Store, run_row: tuple[int, int]) -> None:
        _run_id, task_id = run_row
        with store.engine.begin() as conn:
            assert move_tasks(conn, [task_id], [S.PENDING], S.QUEUED, owned_by="elsewhere:2:0") == 0
        assert _state(store, task_runs, task_id) == S.PENDING


class TestTaskMovesRefused:
    """A move the table does not declare is refused before any SQL runs."""

    @pytest.mark.parametrize("frm,to", TASK_ILLEGAL, ids=_name)
    def test_an_undeclared_move_raises(self, frm: S, to: S) -> None:
        writes = DeferredWrites()
        with pytest.raises(InvalidTransition, match=f"cannot move from {frm} to {to}"):
            move_tasks(writes, [1], [frm], to)
        assert writes.moves == []


class TestRunMoves:
    @pytest.mark.parametrize("frm,to", list(RUN_TRANSITIONS), ids=_name)
    def test_a_declared_move_moves_the_row(self, store: Store, run_row: tuple[int, int], frm: R, to: R) -> None:
        run_id, _task_id = run_row
        _set(store, runs, run_id, frm)
        with store.engine.begin() as conn:
            assert move_run(conn, run_id, [frm], to, owned_by=OWNER)
            assert not move_run(conn, run_id, [frm], to, owned_by=OWNER)  # the guard: not twice
        assert _state(store, runs, run_id) == to

    @pytest.mark.parametrize("frm,to", RUN_ILLEGAL, ids=_name)
    def test_an_undeclared_move_raises(self, frm: R, to: R) -> None:
        with pytest.raises(InvalidTransition):
            move_run(DeferredWrites(), 1, [frm], to)


def _book_run(kind_of_b: str = "shell") -> ActiveRun:
    """A hand-built run: `a` (shell), then `b` (shell, or an engine-driven `dependent`)."""
    b = {"type": "shell", "command": "true"} if kind_of_b == "shell" else {"type": "dependent", "workflow": "x"}
    b["upstream"] = ["a"]
    spec = Workflow(name="w", tasks=[TaskSpec(name="a", type="shell", command="true"), TaskSpec(name="b", **b)])
    row = SimpleNamespace(id=7, workflow_id=1, state="running", logical_date=utcnow(), timezone="UTC", params={},
                          disabled=[], priority=0, parent_task_run_id=None, trigger="manual", started_at=None)
    trows = [
        SimpleNamespace(id=i, task_name=n, state="pending", attempt=0, max_attempts=1, priority=0, outputs={},
                        next_retry_at=None, error=None)
        for i, n in ((1, "a"), (2, "b"))
    ]
    return ActiveRun.from_rows(row, spec, None, trows)


def _book() -> RunBook:
    return RunBook(OWNER, Slots(Capacity(cpu=4, memory=1 << 30, gpu=0)))


def _force(run: ActiveRun, name: str, state: S) -> None:
    """Test setup: put a task in `state` as if it had been loaded so."""
    run.tasks[name].state = state
    run.attach()


class TestRunBookMove:
    """`RunBook.move`, the one writer of task state: memory, buckets and counts follow the move."""

    @pytest.mark.parametrize("frm,to", list(TASK_TRANSITIONS), ids=_name)
    def test_the_task_lands_in_its_new_state_and_bucket(self, frm: S, to: S) -> None:
        run = _book_run("dependent")
        _force(run, "b", frm)
        book = _book()
        book.add(run)
        before = run.unfinished
        ts = run.tasks["b"]
        assert book.move(DeferredWrites(), run, [ts], frm, to) == [ts]
        assert ts.state == to
        assert ((7, "b") in book.ready) == (to == S.QUEUED)
        assert ((7, "b") in book.retrying) == (to == S.RETRYING)
        assert ((7, "b") in book.waiting) == (to == S.RUNNING)  # b is engine-driven
        assert run.unfinished == before + (frm in TASK_TERMINAL) - (to in TASK_TERMINAL)

    @pytest.mark.parametrize("frm,to", TASK_ILLEGAL, ids=_name)
    def test_an_undeclared_move_changes_nothing(self, frm: S, to: S) -> None:
        run = _book_run()
        _force(run, "a", frm)
        book = _book()
        book.add(run)
        buckets = (dict(book.ready), set(book.retrying), set(book.waiting), run.unfinished)
        with pytest.raises(InvalidTransition):
            book.move(DeferredWrites(), run, [run.tasks["a"]], frm, to)
        assert run.tasks["a"].state == frm
        assert (dict(book.ready), set(book.retrying), set(book.waiting), run.unfinished) == buckets

    def test_a_guard_that_fails_leaves_memory_alone(self, store: Store, run_row: tuple[int, int]) -> None:
        run_id, task_id = run_row
        run = _book_run()
        run.id = run_id
        run.tasks["a"].id = task_id
        book = _book()
        book.add(run)
        _set(store, task_runs, task_id, S.STOPPED)  # stopped by someone else
        with store.engine.begin() as conn:
            assert book.move(conn, run, [run.tasks["a"]], S.PENDING, S.QUEUED) == []
        assert run.tasks["a"].state == S.PENDING and not book.ready

    def test_settle_cascades_and_the_run_completes(self) -> None:
        run = _book_run()
        _force(run, "a", S.RUNNING)
        book = _book()
        book.add(run)
        writes = DeferredWrites()
        book.move(writes, run, [run.tasks["a"]], S.RUNNING, S.FAILED)
        book.after_terminal(writes, run, "a", utcnow())
        assert run.tasks["b"].state == S.UPSTREAM_FAILED
        assert run.is_complete() and 7 in book.finished


class TestOwnershipMoves:
    """claim, renew and release: each guarded on the owner it expects."""

    def test_the_table_declares_exactly_these_moves(self) -> None:
        assert set(OWNERSHIP_MOVES) == {"claim", "renew", "release"}

    @pytest.mark.parametrize("before", [None, OWNER, "gone:1:0"])
    def test_claim_takes_a_run_from_the_owner_it_saw(
        self, store: Store, run_row: tuple[int, int], before: str | None
    ) -> None:
        run_id, _ = run_row
        with store.engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.id == run_id).values(owner=before))
            assert claim_run(conn, run_id, before, "me:2:0", utcnow())
            assert not claim_run(conn, run_id, before, "rival:3:0", utcnow())  # moved on: the guard fails

    def test_renew_and_release_touch_only_the_owners_runs(self, store: Store, run_row: tuple[int, int]) -> None:
        run_id, _ = run_row
        later = utcnow() + timedelta(minutes=5)
        with store.engine.begin() as conn:
            assert renew_leases(conn, [run_id], "stranger:9:0", later) == 0
            assert renew_leases(conn, [run_id], OWNER, later) == 1
            release_runs(conn, [run_id], "stranger:9:0")
            assert conn.execute(select(runs.c.owner).where(runs.c.id == run_id)).scalar_one() == OWNER
            release_runs(conn, [run_id], OWNER)
            row = conn.execute(select(runs.c.owner, runs.c.lease_until).where(runs.c.id == run_id)).one()
        assert (row.owner, row.lease_until) == (None, None)
