"""The driver: claims runs, starts their task runs on the executor, records every outcome.

Event-driven: when an attempt ends, the driver records it and decides the task's downstream in
one transaction, then starts whatever became ready. The only periodic work (`_sync`, twice a
second) heartbeats leases, notices runs stopped by someone else, and claims new or orphaned runs.

Crash safety: a run belongs to one driver at a time (owner + lease). A driver that dies (even by
SIGKILL) leaves its runs `running` with a lease that expires — or, on the same host, an owner
pid that is gone — and the next driver takes them over. Its executor kills the attempts it was
running and writes each attempt's result file first, so the new driver knows which attempts
had already succeeded (recorded as success, never rerun) and which were cut off (retried or
failed per their retries). If the executor died too, python attempts died with it (they ask
the kernel to) and the new driver kills commands by the pid the executor recorded for them.

A driver that is alive but lost a run (paused past its lease while another took it over)
must change nothing of it: every move it makes is guarded on its ownership in the same UPDATE
(`owned_by`), it renews leases in every loop that can outlast one (including a drain), and it
starts downstream before committing (pipelining) only while its leases are surely current. An
executor that dies under a live driver is replaced; its attempts are recorded as lost.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import psutil
from pydantic import ValidationError
from sqlalchemy import Connection, func, select, update

from shoal.engine.clock import from_utc_naive
from shoal.engine.paths import attempt_files, claim_run_dir, log_path, result_path, run_dir
from shoal.engine.runs import trigger_run
from shoal.engine.runtime import (
    ActiveRun,
    TaskState,
    decide,
    final_run_state,
    is_handled_by_condition,
)
from shoal.engine.states import RUN_TERMINAL, TASK_TERMINAL, RunState, TaskRunState, sources_task
from shoal.engine.transitions import (
    INCREMENT,
    DeferredWrites,
    Writer,
    move_run,
    move_tasks,
    move_tasks_returning,
)
from shoal.engine.workflows import version_spec
from shoal.errors import ShoalError
from shoal.executors.base import Launch, Result
from shoal.executors.capacity import Slots, default_capacity
from shoal.executors.local import ExecutorDied, LocalExecutor, is_server, kill_left_running, kill_process_group
from shoal.spec.dag import downstream_map, reachable, upstream_map
from shoal.spec.secrets import MIN_MASKED_LENGTH, mask_value
from shoal.spec.templating import Scope, build_builtins, render_value
from shoal.store import Store, utcnow
from shoal.store.models import backfills, runs, task_runs, workflows
from shoal.store.retry import DATABASE_AWAY, DatabaseRetry
from shoal.tasks.base import render_params
from shoal.tasks.registry import get_task_type

S = TaskRunState
log = logging.getLogger(__name__)
T = TypeVar("T")
SYNC_INTERVAL = 0.5  # seconds between lease heartbeats / claims / stop checks
ORPHAN_EXECUTOR_WAIT = 10.0  # how long to let a dead driver's executor finish writing results
TASK_TARGET = "shoal.tasks.runtime:run_task"
EXECUTOR_RESTARTS = 3  # tries to start a new executor after one died, before giving up


def make_owner() -> str:
    """`host:pid:start-time`: lets a driver on the same host tell at once that an owner died."""
    me = psutil.Process()
    return f"{socket.gethostname()}:{me.pid}:{me.create_time():.3f}"


def is_owner_dead(owner: str) -> bool:
    """True only if the owner ran on this host and its process is gone (or is another process)."""
    host, _, rest = owner.partition(":")
    if host != socket.gethostname():
        return False
    pid_text, _, ctime = rest.partition(":")
    try:
        proc = psutil.Process(int(pid_text))
        return abs(proc.create_time() - float(ctime)) > 0.5
    except (psutil.NoSuchProcess, ValueError):
        return True
    except psutil.Error:
        return False


class _Outputs(Mapping[str, Mapping[str, Any]]):
    """Upstream outputs as the templating Scope wants them, without copying the run's tasks."""

    def __init__(self, run: ActiveRun) -> None:
        self._tasks = run.tasks

    def __getitem__(self, key: str) -> Mapping[str, Any]:
        return self._tasks[key].outputs

    def __iter__(self) -> Iterator[str]:
        return iter(self._tasks)

    def __len__(self) -> int:
        return len(self._tasks)


class Driver:
    """Drives runs to completion. `only`: drive just these runs (and their sub-workflow runs),
    as a waiting CLI command does; None: claim every run, as the scheduler does."""

    def __init__(
        self,
        store: Store,
        *,
        only: Iterable[int] | None = None,
        executor: LocalExecutor | None = None,
        owner: str | None = None,
    ) -> None:
        self.store = store
        self.engine = store.engine
        self.settings = store.settings
        self.logs_dir = store.logs_dir  # a property that builds a Path: read once, not per attempt
        # Task processes see the same SHOAL_HOME and artifacts; only the types that record in the
        # metadata database or the online store are told their URLs (see `TaskType.needs_store`).
        self._settings_env = self.settings.to_env()
        self._store_env = self.settings.store_env()
        self.owner = owner or make_owner()
        self.only: set[int] | None = set(only) if only is not None else None
        # A driver closes only an executor it started itself (tests share one across drivers).
        self._owns_executor = executor is None
        self.executor = executor or LocalExecutor()
        self.slots = Slots(default_capacity())
        self.active: dict[int, ActiveRun] = {}
        self.inflight: dict[str, tuple[int, str]] = {}  # attempt key -> (run id, task)
        self.ready: dict[tuple[int, str], None] = {}  # queued tasks, dispatched by priority
        self.retrying: set[tuple[int, str]] = set()
        self.waiting: set[tuple[int, str]] = set()  # engine-driven tasks (dependent, sub_workflow)
        self.described: set[tuple[int, str, int]] = set()  # dependent attempts that logged their wait
        self.children: dict[int, tuple[int, str]] = {}  # child run id -> parent (run id, task)
        self.per_workflow: Counter[int] = Counter()  # running task count, for max_active_tasks
        self._holder: dict[str, int] = {}  # attempt key -> workflow id it counts against
        # Sub-workflow runs that ended, waiting to complete their parent task (outside the
        # transaction that finished the child).
        self._child_results: list[tuple[tuple[int, str], int, str]] = []
        self.finished: set[int] = set()  # runs this driver saw end
        # Attempts of taken-over runs that a dead driver had already run to success (by key),
        # and their results waiting to be recorded as if the executor had just reported them.
        self._unrecorded: dict[str, Result] = {}
        self._adopted: list[Result] = []
        self._run_limits: dict[int, int | None] = {}  # version id -> its max_active_runs
        self.draining = False  # stopping: start nothing, claim nothing (see `drain`)
        self._reloading = False  # runs dropped after a database error, being claimed again (see `reload`)
        self._next_done_check = 0.0
        self._next_sync = 0.0
        self._next_heartbeat = 0.0
        self._lease_sure_until = 0.0  # see `_lease_sure`
        self._loading: set[int] = set()  # runs claimed, waiting for another executor to let go
        self._started = False
        self._is_pg = self.engine.dialect.name == "postgresql"
        self._conn: Connection | None = None

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> None:
        if not self._started:
            if self._owns_executor:
                self.executor.start()
            self._started = True

    def close(self) -> None:
        if self._started:
            if self._owns_executor:
                self.executor.close()
            self._started = False
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """A transaction on the driver's own connection: one checkout for the driver's life
        instead of one per transaction (the pool's checkout/reset costs more than the UPDATE)."""
        if self._conn is None or self._conn.closed:
            self._conn = self.engine.connect()
        if self._conn.in_transaction():  # nested use joins the open transaction
            yield self._conn
            return
        with self._conn.begin():
            yield self._conn

    def __enter__(self) -> Driver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def drain(self, grace: float, why: str = "the scheduler stopped") -> None:
        """Stop gracefully: start and claim nothing more, give running attempts up to `grace`
        seconds to end (recording each outcome as usual), kill the rest (recorded as cut off,
        because of `why`: retried by the next driver if they have retries, failed otherwise),
        then let go of every run so that the next driver, on any host, claims it at once
        instead of waiting for the lease to expire."""
        self.start()
        self.draining = True
        self._record_inflight(grace)
        if self.inflight:
            cut = sorted(name for _, name in self.inflight.values())
            log.warning("stopping: killing %d attempt(s) still running after %.0fs: %s",
                        len(cut), grace, ", ".join(cut))
            for key in list(self.inflight):
                self._kill(key, f"cut off: {why}" + (f" and {grace:g}s of grace ran out" if grace else ""))
            self._record_inflight(self.executor.kill_grace + 5.0)
        if self.active:
            with self._tx() as conn:
                conn.execute(
                    update(runs).where(runs.c.id.in_(list(self.active)), runs.c.owner == self.owner)
                    .values(owner=None, lease_until=None)
                )
            for run_id in list(self.active):
                self._forget(run_id, kill=False)

    def _record_inflight(self, within: float) -> None:
        """Record outcomes as attempts end, until none is in flight or `within` seconds passed."""
        deadline = time.monotonic() + within
        while self.inflight and (left := deadline - time.monotonic()) > 0:
            self._heartbeat()  # the grace may be longer than a lease
            for result in self._poll(min(SYNC_INTERVAL, left)):
                self._on_result(result)

    def reload(self) -> None:
        """Start over from the database after a transaction failed (a PostgreSQL restart, a
        dropped connection): what memory says may never have been written. Every run is
        dropped from memory and claimed again from what the database says (this driver still
        owns them, unless its leases ran out meanwhile), while the attempts the executor runs go
        on: they stay in flight, so a task run the database says is running on them is followed
        again, not taken for lost, and one whose start was not recorded is not started twice."""
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001 - the connection is broken; the pool discards it
                pass
            self._conn = None
        self.inflight = {k: v for k, v in self.inflight.items() if self.executor.is_running(k)}
        for key in self.slots.holders():  # held again as their runs load (`_adopt_running`)
            self._release(key)
        self.active.clear()
        self.ready.clear()
        # Nor is a run ended because memory says so: the transaction that ended it may be the one
        # that failed. `is_done` asks the database again.
        self.finished.clear()
        for coll in (self.retrying, self.waiting, self.described):
            coll.clear()
        self.children.clear()
        self._child_results.clear()
        self._unrecorded.clear()
        self._reloading = True
        self._next_sync = self._next_heartbeat = 0.0

    def _after_reload(self) -> None:
        """A sync after `reload` claimed back what is still ours. Attempts of runs that are not
        (another driver took them over meanwhile, or they ended) must not run on here. A run
        still ours but not claimed back yet (another driver's claim held its row locked, and
        claims skip locked rows) is looked at again on the next sync."""
        pending = {run_id for run_id, _name in self.inflight.values() if run_id not in self.active}
        if pending:
            with self._tx() as conn:
                rows = conn.execute(
                    select(runs.c.id, runs.c.owner, runs.c.state).where(runs.c.id.in_(sorted(pending)))
                ).all()
            ours = {r.id for r in rows if r.owner == self.owner and r.state not in RUN_TERMINAL}
            for key, (run_id, _name) in list(self.inflight.items()):
                if run_id in pending and run_id not in ours:
                    log.warning("attempt %s of run %s: the run was taken over (or ended) while the database "
                                "was away; killing it here", key, run_id)
                    self._kill(key, "killed: its run was taken over by another driver")
            pending &= ours
        self._reloading = bool(pending)

    def watch(self, run_ids: Iterable[int]) -> None:
        """Also drive these runs (a waiting command adds the runs it created)."""
        if self.only is not None:
            self.only.update(run_ids)
        self._next_sync = 0.0

    def drive(
        self,
        run_ids: Iterable[int],
        *,
        timeout: float | None = None,
        on_tick: Callable[[list[int]], None] | None = None,
    ) -> None:
        """Step until every run in `run_ids` has ended; `on_tick` is called a few times a second."""
        self.start()
        ids = set(run_ids)
        self.watch(ids)
        deadline = None if timeout is None else time.monotonic() + timeout
        last_tick = 0.0
        retry = DatabaseRetry()
        while True:
            try:
                if self.is_done(ids):
                    return
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"runs {sorted(ids)} did not finish within {timeout}s")
                self.step()
                if on_tick is not None and time.monotonic() - last_tick > 0.2:
                    on_tick(sorted(ids))
                    last_tick = time.monotonic()
            except DATABASE_AWAY as exc:
                time.sleep(retry.failed(exc, self.reload))
            else:
                retry.ok()

    def is_done(self, ids: set[int]) -> bool:
        """Have these runs ended? Answered from memory while this driver drives them."""
        pending = ids - self.finished
        if not pending:
            return True
        if any(i in self.active for i in pending) or time.monotonic() < self._next_done_check:
            return False
        # Not driven here (not claimed yet, or ended/claimed elsewhere): ask the database,
        # at most a few times a second.
        self._next_done_check = time.monotonic() + 0.2
        with self._tx() as conn:
            rows = conn.execute(select(runs.c.id, runs.c.state).where(runs.c.id.in_(pending))).all()
        self.finished.update(r.id for r in rows if r.state in RUN_TERMINAL)
        return not (ids - self.finished)

    def step(self, max_wait: float = SYNC_INTERVAL) -> None:
        """One turn: sync if due, start ready tasks, wait for results, fire due timers."""
        now = time.monotonic()
        if now >= self._next_sync:
            self._sync()
            self._next_sync = time.monotonic() + SYNC_INTERVAL
        self._fire_timers()
        progressed = self._dispatch()
        wait = max(0.0, min(max_wait, self._next_sync - time.monotonic(), self._until_next_timer()))
        if progressed and self.ready:
            # An inline task (switch, condition) just decided and made more tasks ready: go on
            # at once. Tasks still ready otherwise wait for capacity, which only a result frees.
            wait = 0.0
        for result in self._poll(wait):
            self._on_result(result)

    # ----------------------------------------------------------------- executor

    def _poll(self, timeout: float) -> list[Result]:
        """Results from the executor, after those waiting to be recorded (`_adopted`)."""
        try:
            results = self.executor.poll(0.0 if self._adopted else timeout)
        except ExecutorDied as exc:
            self._executor_died(exc)
            results = []
        adopted, self._adopted = self._adopted, []
        return adopted + results

    def _kill(self, key: str, reason: str = "killed") -> None:
        try:
            self.executor.kill(key, reason)
        except ExecutorDied as exc:
            self._executor_died(exc)

    def _executor_died(self, exc: ExecutorDied) -> None:
        """The executor process died under this driver (SIGKILL, the OOM killer): kill what its
        attempts left running, record each as lost (retried per its retries, as when a driver
        dies) unless it had ended and written its result, and go on with a fresh executor."""
        log.error("%s; starting a new executor", exc)
        keys = self.executor.running()
        self.executor.close()
        for key in sorted(keys):
            where = self.inflight.get(key)
            if where is None:
                continue
            run_id, name = where
            path = attempt_files(self.logs_dir, run_id, name, int(key.rpartition(":")[2]))[1]
            kill_left_running(path)
            result = _read_result(Path(path), key)
            if result is None:
                error = "lost: the executor process running this attempt died; killed what it left running"
                result = Result(key=key, exit_code=None, killed=True, error=error)
                if (run := self.active.get(run_id)) is not None:
                    self._write_log_line(run, run.tasks[name], error)
            self._adopted.append(result)
        for tries_left in range(EXECUTOR_RESTARTS - 1, -1, -1):
            try:
                self.executor.start()
                return
            except ExecutorDied as again:  # killed while starting too (an OOM killer at work)
                self.executor.close()
                if not tries_left:
                    raise
                log.error("%s; starting another", again)
                time.sleep(0.5)

    # ----------------------------------------------------------------- sync / claim

    def _sync(self) -> None:
        self._heartbeat()
        if self.active:
            self._drop_runs_changed_elsewhere()
        self._check_foreign_children()
        now = utcnow()
        self._claim(now, now + timedelta(seconds=self.settings.lease_seconds))
        if self._reloading:
            self._after_reload()

    def _heartbeat(self) -> None:
        """Renew the leases of the runs driven here, every third of a lease. Called from every
        loop that may outlast a lease (stepping, draining, waiting for a dead driver's executor):
        a lease that runs out hands a run that is being driven to another driver."""
        ids = [*self.active, *self._loading]
        if not ids or time.monotonic() < self._next_heartbeat:
            return
        began = time.monotonic()
        with self._tx() as conn:
            renewed = conn.execute(
                update(runs).where(runs.c.id.in_(ids), runs.c.owner == self.owner)
                .values(lease_until=utcnow() + timedelta(seconds=self.settings.lease_seconds))
            ).rowcount
        self._next_heartbeat = time.monotonic() + self.settings.lease_seconds / 3
        self._lease_sure_until = began + self.settings.lease_seconds / 2
        if renewed < len(ids):
            self._next_sync = 0.0  # some run was stopped or taken over: `_sync` lets it go

    def _lease_sure(self) -> bool:
        """Were this driver's leases renewed recently enough that none can have run out? Not
        after the process was paused (SIGSTOP, a VM freeze) for longer than half a lease."""
        return time.monotonic() < self._lease_sure_until

    def _drop_runs_changed_elsewhere(self) -> None:
        """A run stopped (or taken over) by someone else: kill its attempts here and let go."""
        with self._tx() as conn:
            rows = conn.execute(
                select(runs.c.id, runs.c.state, runs.c.owner).where(runs.c.id.in_(list(self.active)))
            ).all()
        for row in rows:
            if row.state in RUN_TERMINAL or row.owner != self.owner:
                self._forget(row.id, kill=True)

    def _forget(self, run_id: int, *, kill: bool) -> None:
        run = self.active.pop(run_id, None)
        if run is None:
            return
        for key, (rid, _name) in list(self.inflight.items()):
            if rid == run_id and kill:
                self._kill(key)
        for coll in (self.retrying, self.waiting):
            coll.difference_update({k for k in coll if k[0] == run_id})
        for k in [k for k in self.ready if k[0] == run_id]:
            del self.ready[k]

    def _claim(self, now: datetime, lease_until: datetime) -> None:
        if self.draining or (self.only is not None and not (self.only - set(self.active))):
            return
        q = select(
            runs.c.id, runs.c.owner, runs.c.lease_until, runs.c.state, runs.c.backfill_id, runs.c.logical_date,
            runs.c.workflow_id, runs.c.version_id,
        ).where(runs.c.state.in_([str(RunState.QUEUED), str(RunState.RUNNING)]))
        if self.only is not None:
            q = q.where(runs.c.id.in_(list(self.only - set(self.active))))
        elif self.active:
            q = q.where(runs.c.id.not_in(list(self.active)))
        if self._is_pg:
            q = q.with_for_update(skip_locked=True)
        claimed: list[tuple[int, str | None]] = []  # run id, its owner before
        with self._tx() as conn:
            rows = [r for r in conn.execute(q).all() if self._claimable(r, now)]
            rows, ahead = self._gate_backfills(conn, rows)
            rows, ahead_too = self._gate_active_runs(conn, rows)
            if self.only is not None:
                rows += self._adopt(conn, (ahead | ahead_too) - {r.id for r in rows}, now)
            for r in rows:
                guard = runs.c.owner.is_(None) if r.owner is None else runs.c.owner == r.owner
                moved = conn.execute(
                    update(runs).where(runs.c.id == r.id, guard).values(owner=self.owner, lease_until=lease_until)
                ).rowcount
                if moved:
                    claimed.append((r.id, r.owner))
        if claimed and not self.active:  # the first leases: as fresh as a heartbeat's
            self._lease_sure_until = time.monotonic() + self.settings.lease_seconds / 2
        for run_id, previous in claimed:
            self._load(run_id, previous)

    def _claimable(self, r: Any, now: datetime) -> bool:
        return (
            r.owner is None or r.owner == self.owner
            or (r.lease_until is not None and r.lease_until < now) or is_owner_dead(r.owner)
        )

    def _adopt(self, conn: Connection, ids: set[int], now: datetime) -> list[Any]:
        """A driver limited to some runs (a waiting command) whose runs wait behind earlier queued
        runs of their workflow or backfill that nobody drives takes those too: otherwise it would
        wait for ever for runs no one starts."""
        if not ids:
            return []
        rows = [
            r for r in conn.execute(
                select(runs.c.id, runs.c.owner, runs.c.lease_until, runs.c.state)
                .where(runs.c.id.in_(sorted(ids)), runs.c.state == str(RunState.QUEUED))
            ).all()
            if self._claimable(r, now)
        ]
        for r in rows:
            log.info("run %s is queued ahead of the runs waited for and nobody drives it: driving it too", r.id)
            self.only.add(r.id)  # type: ignore[union-attr]
        return rows

    def _gate_active_runs(self, conn: Connection, rows: list[Any]) -> tuple[list[Any], set[int]]:
        """A workflow with `max_active_runs` starts queued runs only while fewer are running,
        earliest logical date first (so a catch-up or backfill goes through its dates in order).
        Returns the rows that may start and the ids of every queued run of those workflows that
        may start now, claimable here or not."""
        queued = [r for r in rows if r.state == RunState.QUEUED]
        if not queued:
            return rows, set()
        newest: dict[int, int] = {}  # workflow -> its newest version among the candidates
        for r in queued:
            newest[r.workflow_id] = max(newest.get(r.workflow_id, 0), r.version_id)
        allowed: set[int] = set()
        gated: set[int] = set()
        for wf_id, version_id in newest.items():
            limit = self._max_active_runs(conn, version_id)
            if limit is None:
                continue
            gated.add(wf_id)
            if self._is_pg:  # serialise claims of this workflow's runs between schedulers
                conn.execute(select(workflows.c.id).where(workflows.c.id == wf_id).with_for_update())
            allowed.update(_next_queued(conn, runs.c.workflow_id == wf_id, limit, runs.c.logical_date.asc()))
        return [r for r in rows if r.state != RunState.QUEUED or r.workflow_id not in gated or r.id in allowed], allowed

    def _max_active_runs(self, conn: Connection, version_id: int) -> int | None:
        """A version's `max_active_runs` (versions are immutable: read once)."""
        if version_id not in self._run_limits:
            self._run_limits[version_id] = version_spec(conn, version_id)[0].max_active_runs
        return self._run_limits[version_id]

    def _gate_backfills(self, conn: Connection, rows: list[Any]) -> tuple[list[Any], set[int]]:
        """A backfill starts at most `parallel` of its queued runs at once, in date order.
        Returns the rows that may start and the ids of every run of those backfills that may."""
        queued = [r for r in rows if r.backfill_id is not None and r.state == RunState.QUEUED]
        if not queued:
            return rows, set()
        allowed: set[int] = set()
        for bf_id in {r.backfill_id for r in queued}:
            bf = conn.execute(select(backfills).where(backfills.c.id == bf_id)).one()
            # The next runs in order are the earliest queued ones of the whole backfill, not only
            # of those claimable here, so a serial backfill never skips ahead.
            order = runs.c.logical_date.desc() if bf.descending else runs.c.logical_date.asc()
            allowed.update(_next_queued(conn, runs.c.backfill_id == bf_id, bf.parallel, order))
        return [r for r in rows if r.backfill_id is None or r.state != RunState.QUEUED or r.id in allowed], allowed

    # ----------------------------------------------------------------- loading a run

    def _load(self, run_id: int, previous_owner: str | None = None) -> None:
        with self._tx() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).one()
            spec, source_dir = version_spec(conn, row.version_id)
            trows = conn.execute(select(task_runs).where(task_runs.c.run_id == run_id)).all()
        self._claim_dirs(row, spec, has_run=any(t.attempt for t in trows))
        self._wait_for_orphans(run_id, trows, previous_owner)
        try:
            run = self._build(row, spec, source_dir, trows)
        except DATABASE_AWAY:
            raise
        except Exception as exc:  # noqa: BLE001 - e.g. a task type whose plugin no longer imports
            self._fail_unloadable(row, trows, _one_line(exc))
            return
        if row.state == RunState.RUNNING and previous_owner == self.owner:
            log.info("run %s (%s): reloaded from the database", run_id, spec.name)
        elif row.state == RunState.RUNNING:
            log.info("run %s (%s): taken over from %s", run_id, spec.name, previous_owner or "a driver that let it go")
        else:
            log.info("run %s (%s, %s): started", run_id, spec.name, run.logical_date.isoformat())
        # Driven before (by a driver now gone, or by this one): attempts may have run unrecorded.
        run.recovered = row.state == RunState.RUNNING
        self.active[run_id] = run
        now = utcnow()
        with self._tx() as conn:
            if row.state == RunState.QUEUED:
                move_run(conn, run_id, [RunState.QUEUED], RunState.RUNNING, owned_by=self.owner,
                         started_at=row.started_at or now)
            self._settle(conn, run, [n for n, t in run.tasks.items() if t.state == S.PENDING], now)
            if run.is_complete():
                self._finish(conn, run, now)
        # A snapshot: adopting a running task records its outcome, which may start its
        # downstream, and those fresh attempts must not be taken for orphans too.
        loaded = [(name, ts, ts.state) for name, ts in run.tasks.items()]
        for name, _ts, state in loaded:
            if state == S.QUEUED:
                self.ready[(run_id, name)] = None
            elif state == S.RETRYING:
                self.retrying.add((run_id, name))
        for _name, ts, state in loaded:
            if state == S.RUNNING:
                self._adopt_running(run, ts, trows)
        if run.is_complete():
            self._forget(run_id, kill=False)

    def _claim_dirs(self, row: Any, spec: Any, has_run: bool) -> None:
        """The run's logs folder, and its artifacts folder if there is one (local artifacts),
        are made this run's: run ids restart at 1 in a fresh database (see `claim_run_dir`)."""
        folders = [(run_dir(self.logs_dir, row.id), True)]
        if "://" not in self.settings.artifacts_url:
            # Made by the tasks that write artifacts (`task_dir`), not by the claim.
            folders.append((self.settings.run_artifacts_dir(spec.project, spec.name, row.id), False))
        for folder, create in folders:
            moved = claim_run_dir(folder, row.created_at, has_run, create=create)
            if moved is not None:
                log.warning("run %s: %s held files of another run (an earlier database's?); moved to %s",
                            row.id, folder, moved)

    def _fail_unloadable(self, row: Any, trows: list[Any], why: str) -> None:
        """A run this driver cannot even load ends failed, with the reason, rather than stopping
        the driver (and every other run with it). Its unfinished tasks are stopped, so that
        `shoal runs recover` goes on with them once the cause is fixed."""
        error = f"cannot load the run: {why}; fix that, then `shoal runs recover {row.id}`"
        log.error("run %s: %s", row.id, error)
        now = utcnow()
        with self._tx() as conn:
            unfinished = [t.id for t in trows if t.state not in TASK_TERMINAL]
            move_tasks(conn, unfinished, sources_task(S.STOPPED), S.STOPPED, owned_by=self.owner, ended_at=now,
                       note=f"not started: {why}")
            if row.state == RunState.QUEUED:
                move_run(conn, row.id, [RunState.QUEUED], RunState.RUNNING, owned_by=self.owner, started_at=now)
            move_run(conn, row.id, [RunState.RUNNING], RunState.FAILED, owned_by=self.owner, ended_at=now,
                     lease_until=None, error=error)
        self.finished.add(row.id)

    def _build(self, row: Any, spec: Any, source_dir: str | None, trows: list[Any]) -> ActiveRun:
        types = {t.name: get_task_type(t.type) for t in spec.tasks}
        run = ActiveRun(
            id=row.id, workflow_id=row.workflow_id, spec=spec, source_dir=source_dir,
            logical_date=from_utc_naive(row.logical_date, row.timezone), timezone=row.timezone,
            params=dict(row.params or {}), disabled=set(row.disabled or []), priority=row.priority,
            parent_task_run_id=row.parent_task_run_id,
            tasks={
                t.task_name: TaskState(
                    id=t.id, name=t.task_name, state=S(t.state), attempt=t.attempt,
                    max_attempts=t.max_attempts, priority=t.priority, outputs=dict(t.outputs or {}),
                    next_retry_at=t.next_retry_at,
                )
                for t in trows
            },
            types=types, up=upstream_map(spec), down=downstream_map(spec),
            order={t.name: i for i, t in enumerate(spec.tasks)},
        )
        run.attach()
        for t in spec.tasks:
            if types[t.name].kind == "inline":
                params = types[t.name].Params.model_validate(t.config)
                run.branch_targets[t.name] = set(types[t.name].branch_targets(params))
        return run

    def _wait_for_orphans(self, run_id: int, trows: list[Any], previous_owner: str | None) -> None:
        """Before taking over a run's attempts that another executor on this host ran: let that
        executor end them and write their results (a dead driver's executor does so and exits;
        a live driver that lost the run kills them when it notices). What is still running
        after `ORPHAN_EXECUTOR_WAIT` is killed by the pid its executor recorded, never by
        killing that executor, which may serve a live driver's other runs; only a dead
        driver's executor that did not exit is killed whole."""
        host = socket.gethostname()
        mine = self.executor.server_pid
        orphans = [
            t for t in trows
            if t.state == S.RUNNING and t.host == host and t.executor_pid and t.executor_pid != mine
        ]
        if not orphans:
            return
        files = {t.id: attempt_files(self.logs_dir, t.run_id, t.task_name, t.attempt)[1] for t in orphans}

        def wait(seconds: float) -> bool:
            """Until every orphan has a result, or nobody is left to write one."""
            deadline = time.monotonic() + seconds
            while not all(os.path.exists(files[t.id]) or not is_server(t.executor_pid) for t in orphans):
                if time.monotonic() >= deadline:
                    return False
                self._heartbeat()  # this run (claimed, not loaded yet) and the others stay ours
                time.sleep(0.05)
            return True

        self._loading.add(run_id)
        try:
            wait(ORPHAN_EXECUTOR_WAIT)
            # No result yet: its executor is dead (nobody will end it) or did not end it in time.
            killed = [t for t in orphans if not os.path.exists(files[t.id]) and kill_left_running(files[t.id])]
            for t in killed:
                log.warning("run %s: killed attempt %s of %s, left running by another executor",
                            run_id, t.attempt, t.task_name)
            if killed:
                wait(self.executor.kill_grace + 1.0)  # for a live executor to write what became of them
            if previous_owner is None or is_owner_dead(previous_owner):
                for pid in {t.executor_pid for t in orphans}:
                    if is_server(pid):
                        log.warning("executor %s of a dead driver did not exit; killing it", pid)
                        kill_process_group(pid)
        finally:
            self._loading.discard(run_id)

    def _adopt_running(self, run: ActiveRun, ts: TaskState, trows: list[Any]) -> None:
        """A task run left `running` by a previous owner: find out how its attempt ended."""
        kind = run.types[ts.name].kind
        row = next(t for t in trows if t.id == ts.id)
        key = f"{ts.id}:{ts.attempt}"
        if key in self.inflight:  # still running here (see `reload`)
            res = run.spec_of(ts.name).resources
            if self.slots.fits(res.cpu, res.memory, res.gpu):
                self._hold(key, run, ts)
            return
        if kind == "inline":
            self._run_inline(run, ts, already_running=True)
            return
        if kind == "engine":
            started = row.started_at or utcnow()
            timeout = run.spec_of(ts.name).timeout
            ts.deadline = started + timedelta(seconds=timeout) if timeout else None
            if run.spec_of(ts.name).type == "sub_workflow":
                with self._tx() as conn:
                    child = conn.execute(
                        select(runs.c.id).where(runs.c.parent_task_run_id == ts.id).order_by(runs.c.id.desc())
                    ).scalar()
                if child is not None:
                    self.children[child] = (run.id, ts.name)
                    self.watch([child])
                    self.waiting.add((run.id, ts.name))
                    return
            else:
                ts.next_poll_at = utcnow()
                self.waiting.add((run.id, ts.name))
                return
        path = result_path(self.logs_dir, run.id, ts.name, ts.attempt)
        result = _read_result(path, key=f"{ts.id}:{ts.attempt}")
        if result is None:
            result = Result(
                key=f"{ts.id}:{ts.attempt}", exit_code=None, killed=True,
                error="lost: the driver running this attempt exited before it finished",
            )
        self._record(run, ts, result, lost=result.killed)

    # ----------------------------------------------------------------- deciding

    def _settle(self, conn: Writer, run: ActiveRun, names: Iterable[str], now: datetime) -> None:
        """Decide pending tasks whose upstreams are done, cascading through skips and failures,
        with one guarded UPDATE per target state."""
        moves: dict[TaskRunState, list[TaskState]] = {}
        todo = list(names)
        while todo:
            name = todo.pop()
            ts = run.tasks[name]
            if ts.state != S.PENDING:
                continue
            to = decide(run, name)
            if to is None:
                continue
            ts.state = to
            moves.setdefault(to, []).append(ts)
            if to in TASK_TERMINAL:
                todo.extend(run.down[name])
        for to, group in moves.items():
            values: dict[str, Any] = {}
            if to == S.QUEUED:
                values["queued_at"] = now
            else:
                values["ended_at"] = now
                if to == S.SUCCESS:
                    values["note"] = "disabled for this run"
            move_tasks(conn, [t.id for t in group], [S.PENDING], to, owned_by=self.owner, **values)
            if to == S.QUEUED:
                for t in group:
                    self.ready[(run.id, t.name)] = None

    def _after_terminal(self, conn: Writer, run: ActiveRun, name: str, now: datetime) -> None:
        ts = run.tasks[name]
        # Downstream first, so tasks that depend on a failure read upstream_failed, not stopped.
        self._settle(conn, run, run.down[name], now)
        if ts.state == S.FAILED and run.spec.failure_strategy == "end" and not is_handled_by_condition(run, name):
            self._end_early(conn, run, name, now)
        if run.is_complete():
            self._finish(conn, run, now)

    def _end_early(self, conn: Writer, run: ActiveRun, failed: str, now: datetime) -> None:
        """failure_strategy=end: tasks not started yet will not start; running ones finish.
        Pending tasks downstream of the failure are `upstream_failed`, as under `continue`; the
        others are `stopped`."""
        downstream = reachable(run.down, failed)
        notes = {
            S.UPSTREAM_FAILED: f"upstream task {failed!r} failed",
            S.STOPPED: f"not started: task {failed!r} failed and failure_strategy is end",
        }
        for frm in (S.PENDING, S.QUEUED, S.RETRYING):
            groups: dict[TaskRunState, list[TaskState]] = {S.UPSTREAM_FAILED: [], S.STOPPED: []}
            for t in run.tasks.values():
                if t.state == frm:
                    groups[S.UPSTREAM_FAILED if frm == S.PENDING and t.name in downstream else S.STOPPED].append(t)
            for to, group in groups.items():
                if group:
                    move_tasks(conn, [t.id for t in group], [frm], to, owned_by=self.owner, ended_at=now,
                               note=notes[to])
                for t in group:
                    t.state = to
                    self.ready.pop((run.id, t.name), None)
                    self.retrying.discard((run.id, t.name))
                    self.waiting.discard((run.id, t.name))

    def _finish(self, conn: Writer, run: ActiveRun, now: datetime) -> None:
        state = RunState(final_run_state(run))
        failed = [t.name for t in run.tasks.values() if t.state == S.FAILED]
        error = f"failed task(s): {', '.join(failed)}" if state == RunState.FAILED and failed else None
        move_run(conn, run.id, [RunState.RUNNING], state, owned_by=self.owner, ended_at=now, lease_until=None,
                 error=error)
        self.finished.add(run.id)
        parent = self.children.pop(run.id, None)
        if parent is not None:
            self._child_results.append((parent, run.id, str(state)))

    # ----------------------------------------------------------------- dispatching

    def _ready_in_order(self) -> Iterator[tuple[tuple[int, str], ActiveRun, TaskState]]:
        """Queued tasks by run priority, task priority, run, definition order; stale entries
        (run gone, task no longer queued) are dropped on the way."""
        order = sorted(
            self.ready,
            key=lambda k: (
                -self.active[k[0]].priority, -self.active[k[0]].tasks[k[1]].priority, k[0],
                self.active[k[0]].order[k[1]],
            ) if k[0] in self.active else (0, 0, 0, 0),
        )
        for key in order:
            run = self.active.get(key[0])
            if run is None or run.tasks[key[1]].state != S.QUEUED:
                self.ready.pop(key, None)
                continue
            yield key, run, run.tasks[key[1]]

    def _dispatch(self) -> bool:
        """Start what is ready: inline and engine-driven tasks, then a batch of processes.
        Returns whether an inline or engine-driven task was handled (it may have made more
        tasks ready)."""
        if not self.ready or self.draining:
            return False
        progressed = False
        for key, run, ts in self._ready_in_order():
            kind = run.types[ts.name].kind
            if kind == "inline":
                self.ready.pop(key)
                self._run_inline(run, ts)
                progressed = True
            elif kind == "engine":
                self.ready.pop(key)
                self._start_engine_task(run, ts)
                progressed = True
        if self.ready:
            with self._tx() as conn:
                batch = self._start_batch(conn)
            self._record_refused(self._submit(batch))
        self._deliver_child_results()
        return progressed

    def _start_batch(self, conn: Writer, only_run: int | None = None) -> list[tuple[ActiveRun, TaskState, Launch]]:
        """Within the caller's transaction, move the ready process tasks that fit (of run
        `only_run`, if given) to running (one guarded UPDATE) and return what to hand to the
        executor."""
        batch: list[tuple[ActiveRun, TaskState, Launch]] = []
        if self.draining:
            return batch  # what became ready stays queued for the next driver
        for key, run, ts in self._ready_in_order():
            if only_run is not None and run.id != only_run:
                continue
            if run.types[ts.name].kind in ("inline", "engine"):
                continue  # started by _dispatch, each in its own transaction
            res = run.spec_of(ts.name).resources
            if not self.slots.can_ever_fit(res.cpu, res.memory, res.gpu):
                self.ready.pop(key)
                reason = self.slots.never_fits_reason(res.cpu, res.memory, res.gpu)
                self._fail_unstartable(run, ts, f"cannot start: {reason}", conn)
                continue
            limit = run.spec.max_active_tasks
            if limit is not None and self.per_workflow[run.workflow_id] >= limit:
                continue
            if not self.slots.fits(res.cpu, res.memory, res.gpu):
                continue
            self.ready.pop(key)
            launch = self._prepare(run, ts, conn)
            if launch is not None and run.recovered:
                self._check_unrecorded(launch)
            if launch is not None:
                self._hold(launch.key, run, ts)  # now, so the rest of this pass sees it taken
                batch.append((run, ts, launch))
        if not batch:
            return batch
        started = move_tasks_returning(
            conn, [ts.id for _, ts, _ in batch], [S.QUEUED], S.RUNNING, owned_by=self.owner,
            attempt=INCREMENT, started_at=utcnow(), ended_at=None,
            host=socket.gethostname(), executor_pid=self.executor.server_pid, pid=None, error=None,
        )
        kept = []
        for run, ts, launch in batch:
            if ts.id in started:
                ts.state, ts.attempt = S.RUNNING, ts.attempt + 1
                kept.append((run, ts, launch))
            else:  # stopped meanwhile
                self._release(launch.key)
                self._unrecorded.pop(launch.key, None)
        return kept

    def _scope(self, run: ActiveRun, ts: TaskState, attempt: int) -> Scope:
        spec = run.spec_of(ts.name)
        return Scope(
            run_params=run.params, task_params=spec.params, workflow_params=run.spec.params,
            builtins=build_builtins(
                run.logical_date, run.id, run.spec.name, run.spec.project, task=ts.name, attempt=attempt
            ),
            outputs=_Outputs(run), logical_date=run.logical_date,
        )

    def _render(self, run: ActiveRun, ts: TaskState, scope: Scope) -> tuple[Any, dict[str, Any] | None]:
        """The task's params for one attempt, and the values of the references in its code
        fields (None when `splice_values` rendered those as text)."""
        return render_params(run.types[ts.name], run.spec_of(ts.name), scope)

    def _prepare(self, run: ActiveRun, ts: TaskState, conn: Writer) -> Launch | None:
        """Render the task for its next attempt and build what the executor will start.
        A task that cannot be rendered fails here, once, with the reason, in `conn`."""
        spec = run.spec_of(ts.name)
        task_type = run.types[ts.name]
        attempt = ts.attempt + 1
        try:
            scope = self._scope(run, ts, attempt)
            params, values = self._render(run, ts, scope)
            env = {k: str(v) for k, v in render_value(dict(spec.env), scope).items()}
            env.update(self._task_env(run, ts, attempt))
            log_file, result_file = attempt_files(self.logs_dir, run.id, ts.name, attempt)
            common: dict[str, Any] = dict(
                key=f"{ts.id}:{attempt}", log_path=log_file, result_path=result_file, env=env, timeout=spec.timeout,
                mask=list(self._secrets_of(run, ts)),
            )
            if task_type.kind == "command":
                cmd = task_type.command(self._ctx(run, ts, attempt, params, values=values))
                env.update(cmd.env)
                # A relative cwd is relative to the apply directory, wherever the driver runs.
                cwd = os.path.join(run.work_dir, cmd.cwd) if cmd.cwd and run.work_dir else cmd.cwd or run.work_dir
                return Launch(kind="command", argv=cmd.argv, cwd=cwd, **common)
            payload = {
                "type": spec.type,
                "params": params.model_dump(mode="json"),
                "ctx": {
                    "run_id": run.id, "task_run_id": ts.id, "task": ts.name, "attempt": attempt,
                    "workflow": run.spec.name, "project": run.spec.project,
                    "logical_date": run.logical_date.isoformat(), "source_dir": run.source_dir,
                    "values": values,
                },
                "store_env": self._store_env if task_type.needs_store else None,
            }
            return Launch(
                kind="python", target=TASK_TARGET, payload=payload, isolation=task_type.isolation(params),
                cwd=run.work_dir, sys_path=run.search_path, warm=[type(task_type).__module__], **common,
            )
        except DATABASE_AWAY:
            raise
        except Exception as exc:  # noqa: BLE001 - what cannot be rendered fails this task, not the driver
            self._fail_unstartable(run, ts, f"cannot start: {_one_line(exc)}", conn)
            return None

    def _submit(self, batch: list[tuple[ActiveRun, TaskState, Launch]]) -> list[tuple[ActiveRun, TaskState, Result]]:
        """Hand started attempts to the executor. The pid is recorded with the outcome: stop goes
        through the owning driver, which kills by attempt key, so the database need not know it
        sooner. Returns the attempts the executor refused, for the caller to record once the
        transaction that started them has committed."""
        refused: list[tuple[ActiveRun, TaskState, Result]] = []
        for run, ts, launch in batch:
            self.inflight[launch.key] = (run.id, ts.name)
            if self.executor.is_running(launch.key):
                continue  # started before `reload`, its start not written then: follow it, never start it twice
            adopted = self._unrecorded.pop(launch.key, None)
            if adopted is not None:
                self._adopted.append(adopted)  # it already succeeded: record it, never rerun it
                continue
            try:
                try:
                    self.executor.submit(launch, wait=False)
                except ExecutorDied as exc:
                    self._executor_died(exc)
                    self.executor.submit(launch, wait=False)  # on the fresh one
            except Exception as exc:  # e.g. the executor refused the launch
                self.inflight.pop(launch.key, None)
                self._release(launch.key)
                error = f"cannot start: {_one_line(exc)}"
                refused.append((run, ts, Result(key=launch.key, exit_code=None, error=error)))
        return refused

    def _record_refused(self, refused: list[tuple[ActiveRun, TaskState, Result]]) -> None:
        for run, ts, result in refused:
            self._record(run, ts, result)

    def _check_unrecorded(self, launch: Launch) -> None:
        """Before starting an attempt of a run taken over from a dead driver, look for a result
        of that very attempt: the dead driver may have handed it to its executor and died before
        the transaction recording the start committed (see `_record`). A success is kept, to be
        recorded instead of running the task again; anything else is stale and removed."""
        if self.executor.is_running(launch.key):
            return  # started here before `reload`: followed, not killed nor started again
        kill_left_running(launch.result_path)  # started, not recorded, and its executor is gone
        path = Path(launch.result_path)
        if not path.exists():
            return
        result = _read_result(path, launch.key)
        if result is not None and result.is_success:
            self._unrecorded[launch.key] = result
            return
        path.unlink(missing_ok=True)

    def _ctx(self, run: ActiveRun, ts: TaskState, attempt: int, params: Any, **extra: Any) -> Any:
        from shoal.tasks.base import TaskContext

        return TaskContext(
            params=params, run_id=run.id, task_run_id=ts.id, task=ts.name, attempt=attempt,
            workflow=run.spec.name, project=run.spec.project, logical_date=run.logical_date,
            source_dir=run.source_dir, **extra,
        )

    def _task_env(self, run: ActiveRun, ts: TaskState, attempt: int) -> dict[str, str]:
        return {
            **self._settings_env,
            "SHOAL_RUN_ID": str(run.id), "SHOAL_TASK": ts.name, "SHOAL_ATTEMPT": str(attempt),
            "SHOAL_WORKFLOW": run.spec.name, "SHOAL_PROJECT": run.spec.project,
            "SHOAL_LOGICAL_DATE": run.logical_date.isoformat(), "SHOAL_DS": run.logical_date.date().isoformat(),
        }

    def _secrets_of(self, run: ActiveRun, ts: TaskState) -> tuple[str, ...]:
        """The values of the run's secret params as this task sees them, longest first: written
        as `***` in its log, error and outputs. Cached on the task (params do not change)."""
        if not run.spec.secrets:
            return ()
        if ts.secrets is None:
            found: set[str] = set()
            try:
                scope = self._scope(run, ts, max(ts.attempt, 1))
                for name in run.spec.secrets:
                    if scope.has_param(name):
                        try:
                            found.add(scope.param(name))
                        except ShoalError:
                            continue  # a reference it cannot resolve: the task fails on it anyway
            except ShoalError:
                pass
            ts.secrets = tuple(sorted((v for v in found if len(v) >= MIN_MASKED_LENGTH), key=len, reverse=True))
        return ts.secrets

    def _hold(self, key: str, run: ActiveRun, ts: TaskState) -> None:
        """Take an attempt's resources and its place in its workflow's max_active_tasks."""
        res = run.spec_of(ts.name).resources
        self.slots.take(key, res.cpu, res.memory, res.gpu)
        self.per_workflow[run.workflow_id] += 1
        self._holder[key] = run.workflow_id

    def _release(self, key: str) -> None:
        """Give back an attempt's capacity and its place in its workflow's max_active_tasks, even
        when its run was forgotten meanwhile (stopped elsewhere): a long-lived scheduler must not
        leak either."""
        self.slots.release(key)
        workflow_id = self._holder.pop(key, None)
        if workflow_id is not None and self.per_workflow[workflow_id] > 0:
            self.per_workflow[workflow_id] -= 1

    def _fail_unstartable(self, run: ActiveRun, ts: TaskState, error: str, conn: Writer | None = None) -> None:
        """Fail without retrying: rendering or sizing errors would fail every attempt the same way.
        In `conn` (the caller's transaction, or deferred writes) if given, else in its own."""
        error = mask_value(error, self._secrets_of(run, ts))
        now = utcnow()
        with self._tx() if conn is None else nullcontext(conn) as conn:
            if not move_tasks(conn, [ts.id], [S.QUEUED], S.RUNNING, owned_by=self.owner, attempt=ts.attempt + 1,
                              started_at=now):
                return
            move_tasks(conn, [ts.id], [S.RUNNING], S.FAILED, owned_by=self.owner, ended_at=now,
                       error=_db_text(error), duration=0.0)
            ts.state, ts.attempt = S.FAILED, ts.attempt + 1
            self._after_terminal(conn, run, ts.name, now)
        self._write_log_line(run, ts, error)
        self._after_commit(run)

    def _write_log_line(self, run: ActiveRun, ts: TaskState, message: str) -> None:
        message = mask_value(message, self._secrets_of(run, ts))
        path = log_path(self.logs_dir, run.id, ts.name, ts.attempt)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(path, "a", opener=lambda p, flags: os.open(p, flags, 0o600)) as f:  # the owner's only
            f.write(f"[{datetime.now().isoformat(sep=' ', timespec='milliseconds')}] {message}\n")

    # ----------------------------------------------------------------- inline & engine tasks

    def _run_inline(self, run: ActiveRun, ts: TaskState, *, already_running: bool = False) -> None:
        attempt = ts.attempt if already_running else ts.attempt + 1
        now = utcnow()
        task_type = run.types[ts.name]
        try:
            scope = self._scope(run, ts, attempt)
            params, _ = self._render(run, ts, scope)
            upstream_states = {u: str(run.tasks[u].state) for u in run.up[ts.name]}
            outputs = task_type.run(self._ctx(run, ts, attempt, params, upstream_states=upstream_states, scope=scope))
            outputs = mask_value(outputs, self._secrets_of(run, ts))
            to, error = S.SUCCESS, None
        except DATABASE_AWAY:
            raise
        except Exception as exc:  # noqa: BLE001 - a decision it cannot make fails this task, not the driver
            outputs, to, error = {}, S.FAILED, mask_value(_one_line(exc), self._secrets_of(run, ts))
        with self._tx() as conn:
            if not already_running and not move_tasks(
                conn, [ts.id], [S.QUEUED], S.RUNNING, owned_by=self.owner, attempt=attempt, started_at=now
            ):
                return
            move_tasks(conn, [ts.id], [S.RUNNING], to, owned_by=self.owner, ended_at=now, outputs=outputs, error=error,
                       duration=0.0)
            ts.state, ts.attempt, ts.outputs = to, attempt, outputs
            self._after_terminal(conn, run, ts.name, now)
        self._write_log_line(run, ts, f"{ts.name}: {to}" + (f": {error}" if error else f" {json.dumps(outputs)}"))
        self._after_commit(run)

    def _start_engine_task(self, run: ActiveRun, ts: TaskState) -> None:
        attempt = ts.attempt + 1
        now = utcnow()
        spec = run.spec_of(ts.name)
        try:
            scope = self._scope(run, ts, attempt)
            params, _ = self._render(run, ts, scope)
            child_params = {k: scope.param(k) for k in spec.params}
        except DATABASE_AWAY:
            raise
        except Exception as exc:  # noqa: BLE001 - what cannot be rendered fails this task, not the driver
            self._fail_unstartable(run, ts, f"cannot start: {_one_line(exc)}")
            return
        child_id: int | None = None
        try:
            with self._tx() as conn:
                if not move_tasks(
                    conn, [ts.id], [S.QUEUED], S.RUNNING, owned_by=self.owner, attempt=attempt, started_at=now,
                    host=socket.gethostname(),
                ):
                    return
                if spec.type == "sub_workflow":
                    child_id = trigger_run(
                        self.store, params.workflow, project=params.project or run.spec.project,
                        params=child_params, logical_date=run.logical_date, trigger="sub_workflow",
                        parent_task_run_id=ts.id, priority=run.priority, timezone=run.timezone, conn=conn,
                    )
        except ShoalError as exc:
            self._fail_unstartable(run, ts, f"cannot start sub-workflow: {exc}")
            return
        ts.state, ts.attempt = S.RUNNING, attempt
        ts.deadline = now + timedelta(seconds=spec.timeout) if spec.timeout else None
        self.waiting.add((run.id, ts.name))
        self._write_log_line(run, ts, f"attempt {attempt} started")
        if child_id is not None:
            self.children[child_id] = (run.id, ts.name)
            self._write_log_line(run, ts, f"started sub-workflow run {child_id} of {params.workflow!r}")
            self.watch([child_id])
        else:
            ts.next_poll_at = now

    def _poll_dependent(self, run: ActiveRun, ts: TaskState) -> None:
        from shoal.engine.dependency import describe_dependency, find_dependency

        try:
            params, _ = self._render(run, ts, self._scope(run, ts, ts.attempt))
        except Exception as exc:  # noqa: BLE001 - what cannot be rendered fails this task, not the driver
            error = f"cannot render the dependency: {_one_line(exc)}"
            self._write_log_line(run, ts, error)
            self._finish_waiting(run, ts, Result(key="", exit_code=None, error=error))
            return
        first = (run.id, ts.name, ts.attempt) not in self.described
        with self._tx() as conn:
            found = find_dependency(conn, run, params)
            if first and found is None:
                self.described.add((run.id, ts.name, ts.attempt))
                self._write_log_line(run, ts, f"{describe_dependency(conn, run, params)}; looking every "
                                              f"{params.poll_interval:g}s")
        now = utcnow()
        if found is not None:
            self._write_log_line(run, ts, f"dependency met: run {found} succeeded")
            self._finish_waiting(run, ts, Result(key="", exit_code=0, outputs={"run_id": found}))
        elif ts.deadline is not None and now >= ts.deadline:
            error = f"timed out waiting for {params.workflow!r}"
            self._write_log_line(run, ts, error)
            self._finish_waiting(run, ts, Result(key="", exit_code=None, timed_out=True, error=error))
        else:
            ts.next_poll_at = now + timedelta(seconds=params.poll_interval)

    def _finish_waiting(self, run: ActiveRun, ts: TaskState, result: Result) -> None:
        self.waiting.discard((run.id, ts.name))
        result.key = f"{ts.id}:{ts.attempt}"
        self._record(run, ts, result)

    def _deliver_child_results(self) -> None:
        while self._child_results:
            (rid, name), child_id, state = self._child_results.pop()
            run = self.active.get(rid)
            if run is None or run.tasks[name].state != S.RUNNING:
                continue
            ok = state == RunState.SUCCESS
            self._finish_waiting(run, run.tasks[name], Result(
                key="", exit_code=0 if ok else 1, outputs={"run_id": child_id, "state": state},
                error=None if ok else f"sub-workflow run {child_id} ended {state}",
            ))

    def _check_foreign_children(self) -> None:
        """Children this driver does not drive itself (another driver claimed them)."""
        foreign = [c for c in self.children if c not in self.active]
        if not foreign:
            return
        with self._tx() as conn:
            rows = conn.execute(select(runs.c.id, runs.c.state).where(runs.c.id.in_(foreign))).all()
        for r in rows:
            if r.state in RUN_TERMINAL:
                self._child_results.append((self.children.pop(r.id), r.id, r.state))
        self._deliver_child_results()

    # ----------------------------------------------------------------- timers

    def _until_next_timer(self) -> float:
        now = utcnow()
        times = [self.active[r].tasks[n].next_retry_at for r, n in self.retrying if r in self.active]
        for r, n in self.waiting:
            if r in self.active:
                ts = self.active[r].tasks[n]
                times += [ts.next_poll_at, ts.deadline]
        times = [t for t in times if t is not None]
        if not times:
            return SYNC_INTERVAL
        return max(0.0, (min(times) - now).total_seconds())

    def _fire_timers(self) -> None:
        now = utcnow()
        due = [
            (r, n) for r, n in self.retrying
            if r in self.active and (self.active[r].tasks[n].next_retry_at or now) <= now
        ]
        if due:
            with self._tx() as conn:
                for r, n in due:
                    ts = self.active[r].tasks[n]
                    if move_tasks(conn, [ts.id], [S.RETRYING], S.QUEUED, owned_by=self.owner, queued_at=now,
                                  next_retry_at=None):
                        ts.state = S.QUEUED
                        self.ready[(r, n)] = None
            self.retrying.difference_update(due)
        for r, n in list(self.waiting):
            run = self.active.get(r)
            if run is None:
                continue
            ts = run.tasks[n]
            if ts.state != S.RUNNING:
                self.waiting.discard((r, n))
            elif run.spec_of(n).type == "dependent":
                if ts.next_poll_at is not None and ts.next_poll_at <= now:
                    self._poll_dependent(run, ts)
            elif ts.deadline is not None and ts.deadline <= now:
                child = next((c for c, p in self.children.items() if p == (r, n)), None)
                if child is not None:
                    from shoal.engine.runs import stop_run

                    self.children.pop(child, None)
                    try:
                        stop_run(self.store, child)
                    except ShoalError:
                        pass
                self._finish_waiting(run, ts, Result(key="", exit_code=None, timed_out=True,
                                                     error=f"timed out after {run.spec_of(n).timeout}s"))

    # ----------------------------------------------------------------- outcomes

    def _on_result(self, result: Result) -> None:
        where = self.inflight.pop(result.key, None)
        if where is None:
            return
        run = self.active.get(where[0])
        self._release(result.key)
        if run is None:
            return
        ts = run.tasks[where[1]]
        if ts.state != S.RUNNING or f"{ts.id}:{ts.attempt}" != result.key:
            return
        self._record(run, ts, result, pipeline=True)

    def _record(self, run: ActiveRun, ts: TaskState, result: Result, *, lost: bool = False,
                pipeline: bool = False) -> None:
        """Record an attempt's end and decide what follows, in one transaction.

        With `pipeline` (an attempt this driver's executor ran), the tasks of the same run that
        this outcome makes ready are handed to the executor *before* that transaction runs, so
        they run while it is written: on a chain the database work hides behind the next task
        instead of adding to it. Crash safety holds because the finished task's row still says
        `running` on this executor until the commit, so a driver taking over waits for this
        executor to exit (it kills what it ran and writes every result file first) and then
        finds, in `_check_unrecorded`, any attempt that ran without its start being recorded.
        """
        spec = run.spec_of(ts.name)
        now = utcnow()
        started = result.started_at
        duration = (result.ended_at - started) if (result.ended_at and started) else None
        secrets = self._secrets_of(run, ts)
        values: dict[str, Any] = {
            "ended_at": now, "duration": duration, "outputs": mask_value(result.outputs or {}, secrets),
            "error": _db_text(mask_value(result.error, secrets)), "pid": result.pid,
        }
        retries_left = not result.is_success and ts.attempt < ts.max_attempts
        ending = _ending(run) if retries_left else None
        if result.is_success:
            to = S.SUCCESS
            values["error"] = None
        elif retries_left and ending is None:
            to = S.RETRYING
            # Counted within this series of attempts: a rerun or recover starts a new series
            # (max_attempts moves on by retries + 1) and waits retry_delay again first.
            nth = ts.attempt - (ts.max_attempts - spec.retries - 1)
            delay = spec.retry_wait(nth)
            values["next_retry_at"] = now + timedelta(seconds=delay)
        else:
            to = S.FAILED
            if ending is not None:  # as a task waiting to retry is stopped under failure_strategy end
                values["note"] = f"not retried: task {ending!r} failed and failure_strategy is end"
        # Starting downstream before the commit is safe only while the run is surely still ours:
        # after a pause longer than a lease, the guarded transaction below must come first.
        if pipeline and self._lease_sure():
            writes = DeferredWrites()
            batch = self._decide_outcome(writes, run, ts, to, values, now, only_run=run.id) or []
            refused = self._submit(batch)
            try:
                with self._tx() as conn:
                    if not writes.apply(conn):
                        raise _GuardFailed
            except _GuardFailed:
                # Stopped or taken over meanwhile: what was just started must not run on.
                self._forget(run.id, kill=True)
                self._next_sync = 0.0
                return
        else:
            with self._tx() as conn:
                batch = self._decide_outcome(conn, run, ts, to, values, now)
                if batch is None:  # stopped (the stop recorded the outcome) or taken over meanwhile
                    self._next_sync = 0.0
                    return
            refused = self._submit(batch)
        if log.isEnabledFor(logging.INFO):
            _log_outcome(run, ts, to, result, values)
        self._record_refused(refused)
        if lost:
            what = "will retry" if to == S.RETRYING else str(to)
            self._write_log_line(run, ts, f"{result.error}; {what}")
        self._after_commit(run)

    def _decide_outcome(
        self, conn: Writer, run: ActiveRun, ts: TaskState, to: TaskRunState, values: dict[str, Any],
        now: datetime, only_run: int | None = None,
    ) -> list[tuple[ActiveRun, TaskState, Launch]] | None:
        """Move `ts` to `to`, decide its downstream and start what became ready; None if `ts`
        was not running any more."""
        if not move_tasks(conn, [ts.id], [S.RUNNING], to, owned_by=self.owner, **values):
            return None
        ts.state, ts.outputs = to, dict(values["outputs"]) if to == S.SUCCESS else {}
        if to == S.RETRYING:
            ts.next_retry_at = values["next_retry_at"]
            self.retrying.add((run.id, ts.name))
        else:
            self._after_terminal(conn, run, ts.name, now)
        # Event-driven: what this outcome made ready starts in the same transaction.
        return self._start_batch(conn, only_run) if self.ready else []

    def _after_commit(self, run: ActiveRun) -> None:
        if run.is_complete():
            if run.id in self.active:
                log.info("run %s (%s): %s", run.id, run.spec.name, final_run_state(run))
            self._forget(run.id, kill=False)
        self._deliver_child_results()


def _ending(run: ActiveRun) -> str | None:
    """The failed task that ends this run under `failure_strategy: end`, if one has: no task of
    it starts again, not even a retry."""
    if run.spec.failure_strategy != "end":
        return None
    failed = (t.name for t in run.tasks.values() if t.state == S.FAILED and not is_handled_by_condition(run, t.name))
    return next(failed, None)


def _log_outcome(run: ActiveRun, ts: TaskState, to: TaskRunState, result: Result, values: dict[str, Any]) -> None:
    """One line per recorded attempt, for `shoal scheduler` and `-v`."""
    took = f" in {values['duration']:.2f}s" if values.get("duration") is not None else ""
    what = f"run {run.id}: task {ts.name} attempt {ts.attempt}/{ts.max_attempts}"
    if to == S.SUCCESS:
        log.info("%s succeeded%s", what, took)
    elif to == S.RETRYING:
        log.info("%s failed%s: %s; retrying at %s UTC", what, took, result.error,
                 values["next_retry_at"].isoformat(sep=" ", timespec="seconds"))
    else:
        log.info("%s %s%s: %s", what, to, took, result.error)


def _next_queued(conn: Connection, group: Any, limit: int, order: Any) -> list[int]:
    """The queued runs of `group` (a WHERE clause) that may start now so that at most `limit`
    of the group run: the first ones by `order` (then id), counting those running already."""
    running = conn.execute(
        select(func.count()).select_from(runs).where(group, runs.c.state == str(RunState.RUNNING))
    ).scalar_one()
    if running >= limit:
        return []
    return list(conn.execute(
        select(runs.c.id).where(group, runs.c.state == str(RunState.QUEUED))
        .order_by(order, runs.c.id.asc()).limit(limit - running)
    ).scalars())


class _GuardFailed(Exception):
    """A deferred move found its task or run in another state: roll the transaction back."""


def _read_result(path: Path, key: str) -> Result | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    result = Result.from_dict(data)
    return result if result.key == key else None


def _db_text(text: str | None) -> str | None:
    """Text as every database can store it (PostgreSQL text cannot hold NUL bytes, and an error
    may quote a binary response body)."""
    return None if text is None else text.replace("\x00", "\\x00")


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for e in exc.errors():
            loc = ".".join(str(p) for p in e["loc"])
            parts.append(f"{loc}: {e['msg']}" if loc else e["msg"])
        return "; ".join(parts)
    text = " ".join(str(exc).split())
    # shoal's own errors say what is wrong; anything else is named by its type too.
    return text if isinstance(exc, ShoalError) else f"{type(exc).__name__}: {text}"


__all__ = ["Driver", "is_owner_dead", "make_owner"]
