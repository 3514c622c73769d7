"""The driver: claims runs, starts their task runs on the executor, records every outcome.

Event-driven: when an attempt ends, the driver records it and decides the task's downstream in
one transaction, then starts whatever became ready. The only periodic work (`_sync`, twice a
second) heartbeats leases, notices runs stopped by someone else, and claims new or orphaned runs.

The driver is the loop; its collaborators decide and it records:

- `book.RunBook`: the one owner of task state (memory and database) and of the buckets
- `claims`: owners, leases, claiming, admission gates
- `takeover`: what a previous driver left; the executor says how its attempts ended
- `launch.Launcher`: a task's next attempt as a `Launch`, or `CannotStart`
- `attempts.Attempts`: the executor's side: hand attempts over, collect results, cut them off
- `waiting.EngineTasks`: engine-driven tasks (sub_workflow, dependent, sensors)
- the executor (`shoal.executors.base.Executor`): where attempts run

Crash safety: a run belongs to one driver at a time (owner + lease). A driver that dies (even by
SIGKILL) leaves its runs `running` with a lease that expires — or, on the same host, an owner
pid that is gone — and the next driver takes them over. Its executor kills the attempts it was
running and writes each attempt's result file first, so the new driver knows which attempts
had already succeeded (recorded as success, never rerun) and which were cut off (retried or
failed per their retries). If the executor died too, python attempts died with it (they ask
the kernel to) and the new driver's executor kills commands by the pid recorded for them.

A driver that is alive but lost a run (paused past its lease while another took it over)
must change nothing of it: every move it makes is guarded on its ownership in the same UPDATE
(`owned_by`), it renews leases in every loop that can outlast one (including a drain), and it
starts downstream before committing (pipelining) only while its leases are surely current. An
executor that dies under a live driver is replaced; its attempts are recorded as lost.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from shoal.engine import alerts
from shoal.engine.attempts import Attempts, Batch, Refused
from shoal.engine.book import RunBook, attempt_outcome, log_outcome
from shoal.engine.claims import Claimer, Leases, is_owner_dead, make_owner, release_runs
from shoal.engine.launch import CannotStart, Launcher, db_text, one_line
from shoal.engine.paths import append_log_line
from shoal.engine.runtime import ActiveRun, TaskState, final_run_state
from shoal.engine.states import RUN_TERMINAL, RunState, TaskRunState
from shoal.engine.takeover import attempts_left_running, claim_dirs
from shoal.engine.transitions import INCREMENT, DeferredWrites, Writer
from shoal.engine.waiting import EngineTasks, Outcome
from shoal.engine.workflows import version_spec
from shoal.executors.base import Attempt, Executor, Result
from shoal.executors.capacity import Slots, default_capacity
from shoal.spec.alerts import AlertRule
from shoal.spec.models import Workflow
from shoal.spec.secrets import mask_value
from shoal.store import Store, utcnow
from shoal.store.models import projects, runs, task_runs, workflows
from shoal.store.retry import DATABASE_AWAY, DatabaseRetry
from shoal.tasks.base import Done

S = TaskRunState
log = logging.getLogger(__name__)
SYNC_INTERVAL = 0.5  # seconds between lease heartbeats / claims / stop checks
PROCESS_KINDS = frozenset({"command", "process"})  # task kinds the executor runs


class Driver:
    """Drives runs to completion. `only`: drive just these runs (and their sub-workflow runs),
    as a waiting CLI command does; None: claim every run, as the scheduler does.

    `clock` (naive UTC now) times retries, engine-task polls and timeouts and stamps task runs:
    a test moves it on instead of sleeping. Leases always run on the real clock.
    """

    def __init__(
        self,
        store: Store,
        *,
        only: Iterable[int] | None = None,
        executor: Executor | None = None,
        owner: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self.engine = store.engine
        self.settings = store.settings
        self.logs_dir = store.logs_dir  # a property that builds a Path: read once, not per attempt
        self.owner = owner or make_owner()
        self.only: set[int] | None = set(only) if only is not None else None
        self.now = clock or utcnow
        # A driver closes only an executor it started itself (tests share one across drivers).
        self._owns_executor = executor is None
        if executor is None:
            from shoal.executors.local import LocalExecutor

            executor = LocalExecutor()
        self.executor: Executor = executor
        self.book = RunBook(self.owner, Slots(default_capacity()))
        # Task processes see the same SHOAL_HOME and artifacts; only the types that record in the
        # metadata database or the online store are told their URLs (see `TaskType.needs_store`).
        self.launcher = Launcher(self.logs_dir, self.settings.to_env(), self.settings.store_env())
        self.engine_tasks = EngineTasks(store, self.launcher)
        self.leases = Leases(self.owner, self.settings.lease_seconds)
        self.claimer = Claimer(self.owner, is_pg=self.engine.dialect.name == "postgresql")
        self.attempts = Attempts(self.executor, self.book, self._write_log_line)
        self.draining = False  # stopping: start nothing, claim nothing (see `drain`)
        self._reloading = False  # runs dropped after a database error, being claimed again (see `reload`)
        self._next_done_check = 0.0
        self._next_sync = 0.0
        self._loading: set[int] = set()  # runs claimed, waiting for another executor to let go
        self._started = False
        self._conn: Connection | None = None

    @property
    def active(self) -> dict[int, ActiveRun]:
        """The runs driven here."""
        return self.book.active

    @property
    def inflight(self) -> dict[str, tuple[int, str]]:
        """Attempts the executor runs for this driver: key -> (run id, task)."""
        return self.book.inflight

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
        if self.book.inflight:
            cut = sorted(name for _, name in self.book.inflight.values())
            log.warning("stopping: killing %d attempt(s) still running after %.0fs: %s",
                        len(cut), grace, ", ".join(cut))
            for key in list(self.book.inflight):
                self.attempts.kill(key, f"cut off: {why}" + (f" and {grace:g}s of grace ran out" if grace else ""))
            self._record_inflight(self.executor.kill_grace + 5.0)
        if self.book.active:
            with self._tx() as conn:
                release_runs(conn, list(self.book.active), self.owner)
            for run_id in list(self.book.active):
                self._forget(run_id, kill=False)

    def _record_inflight(self, within: float) -> None:
        """Record outcomes as attempts end, until none is in flight or `within` seconds passed."""
        deadline = time.monotonic() + within
        while self.book.inflight and (left := deadline - time.monotonic()) > 0:
            self._heartbeat()  # the grace may be longer than a lease
            for result in self.attempts.poll(min(SYNC_INTERVAL, left)):
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
        inflight = self.book.inflight
        for key in [k for k in inflight if not self.executor.is_running(k)]:
            del inflight[key]
        self.book.release_all()  # held again as their runs load (`_take_over`)
        # Nor is a run ended because memory says so: the transaction that ended it may be the one
        # that failed. `is_done` asks the database again.
        self.book.clear()
        self.engine_tasks.clear()
        self.attempts.clear()
        self._reloading = True
        self._next_sync = self.leases.next_renewal = 0.0

    def _after_reload(self) -> None:
        """A sync after `reload` claimed back what is still ours. Attempts of runs that are not
        (another driver took them over meanwhile, or they ended) must not run on here. A run
        still ours but not claimed back yet (another driver's claim held its row locked, and
        claims skip locked rows) is looked at again on the next sync."""
        pending = {run_id for run_id, _name in self.book.inflight.values() if run_id not in self.book.active}
        if pending:
            with self._tx() as conn:
                rows = conn.execute(
                    select(runs.c.id, runs.c.owner, runs.c.state).where(runs.c.id.in_(sorted(pending)))
                ).all()
            ours = {r.id for r in rows if r.owner == self.owner and r.state not in RUN_TERMINAL}
            for key, (run_id, _name) in list(self.book.inflight.items()):
                if run_id in pending and run_id not in ours:
                    log.warning("attempt %s of run %s: the run was taken over (or ended) while the database "
                                "was away; killing it here", key, run_id)
                    self.attempts.kill(key, "killed: its run was taken over by another driver")
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
        pending = ids - self.book.finished
        if not pending:
            return True
        if any(i in self.book.active for i in pending) or time.monotonic() < self._next_done_check:
            return False
        # Not driven here (not claimed yet, or ended/claimed elsewhere): ask the database,
        # at most a few times a second.
        self._next_done_check = time.monotonic() + 0.2
        with self._tx() as conn:
            rows = conn.execute(select(runs.c.id, runs.c.state).where(runs.c.id.in_(pending))).all()
        self.book.finished.update(r.id for r in rows if r.state in RUN_TERMINAL)
        return not (ids - self.book.finished)

    def step(self, max_wait: float = SYNC_INTERVAL) -> None:
        """One turn: sync if due, start ready tasks, wait for results, fire due timers."""
        if time.monotonic() >= self._next_sync:
            self._sync()
            self._next_sync = time.monotonic() + SYNC_INTERVAL
        self._fire_timers()
        progressed = self._dispatch()
        wait = max(0.0, min(max_wait, self._next_sync - time.monotonic(), self._until_next_timer()))
        if progressed and self.book.ready:
            # An inline task (switch, condition) just decided and made more tasks ready: go on
            # at once. Tasks still ready otherwise wait for capacity, which only a result frees.
            wait = 0.0
        for result in self.attempts.poll(wait):
            self._on_result(result)

    # ----------------------------------------------------------------- sync / claim

    def _sync(self) -> None:
        self._heartbeat()
        if self.book.active:
            self._follow_runs_changed_elsewhere()
            self._check_long_running()
        self._check_foreign_children()
        self._claim()
        if self._reloading:
            self._after_reload()

    def _heartbeat(self) -> None:
        """Renew the leases of the runs driven here, every third of a lease. Called from every
        loop that may outlast a lease (stepping, draining, waiting for a dead driver's executor):
        a lease that runs out hands a run that is being driven to another driver."""
        ids = [*self.book.active, *self._loading]
        if not ids or not self.leases.is_due():
            return
        with self._tx() as conn:
            all_ours = self.leases.renew(conn, ids)
        if not all_ours:
            self._next_sync = 0.0  # some run was stopped or taken over: `_sync` lets it go

    def _follow_runs_changed_elsewhere(self) -> None:
        """A run stopped (or taken over) by someone else: kill its attempts here and let go. A
        run paused (or resumed) by a user: start none of its tasks (or start them again)."""
        with self._tx() as conn:
            rows = conn.execute(
                select(runs.c.id, runs.c.state, runs.c.owner).where(runs.c.id.in_(list(self.book.active)))
            ).all()
        for row in rows:
            if row.state in RUN_TERMINAL or row.owner != self.owner:
                self._forget(row.id, kill=True)
            elif (paused := row.state == RunState.PAUSED) != self.book.active[row.id].paused:
                self.book.active[row.id].paused = paused
                log.info("run %s: %s", row.id, "paused" if paused else "resumed")

    def _check_long_running(self) -> None:
        """Runs driven here that have run longer than a long_running rule's `after`: record
        those alerts (each once per run and rule: the outbox's key holds across takeovers).
        From memory: a run without such rules costs nothing."""
        now = self.now()
        due = [(run, rules) for run in self.book.active.values()
               if run.long_running and (rules := alerts.long_running_due(run, now))]
        if due:
            with self._tx() as conn:
                for run, rules in due:
                    alerts.record_long_running(conn, run, rules, now)
            for run, rules in due:
                log.info("run %s (%s): running longer than %s", run.id, run.spec.name,
                         ", ".join(f"{r.after:g}s" for r in rules))

    def _forget(self, run_id: int, *, kill: bool) -> None:
        for key in self.book.forget(run_id):
            if kill:
                self.attempts.kill(key)
        self.engine_tasks.forget(run_id)

    def _claim(self) -> None:
        if self.draining or (self.only is not None and not (self.only - set(self.book.active))):
            return
        now = utcnow()
        with self._tx() as conn:
            claimed = self.claimer.claim(
                conn, only=self.only, active=self.book.active, now=now,
                lease_until=now + timedelta(seconds=self.settings.lease_seconds),
            )
        if self.only is not None:
            self.only.update(claimed.adopted)
        if claimed.runs and not self.book.active:
            self.leases.claimed()
        for run_id, previous in claimed.runs:
            self._load(run_id, previous)

    # ----------------------------------------------------------------- loading a run

    def _load(self, run_id: int, previous_owner: str | None = None) -> None:
        with self._tx() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).one()
            spec, source_dir = version_spec(conn, row.version_id)
            trows = conn.execute(select(task_runs).where(task_runs.c.run_id == run_id)).all()
            # The project's default rules, read when the run is loaded, for a workflow with none.
            default = None if spec.alerts is not None else conn.execute(
                select(projects.c.alerts).join(workflows, workflows.c.project_id == projects.c.id)
                .where(workflows.c.id == row.workflow_id)).scalar()
        rules = alerts.rules_for(spec, default)
        link = alerts.run_link(self.settings.public_url, spec.project, run_id)
        claim_dirs(row, spec, self.settings, self.logs_dir, has_run=any(t.attempt for t in trows))
        owner_gone = previous_owner is None or is_owner_dead(previous_owner)
        try:
            run = ActiveRun.from_rows(row, spec, source_dir, trows)
        except DATABASE_AWAY:
            raise
        except Exception as exc:  # noqa: BLE001 - e.g. a task type whose plugin no longer imports
            self._recover(run_id, attempts_left_running(trows, self.logs_dir), owner_gone)  # end what it left
            self._fail_unloadable(row, trows, one_line(exc), spec, rules, link)
            return
        alerts.arm(run, rules, link)
        running = [n for n, t in run.tasks.items() if t.state == S.RUNNING and run.types[n].kind in PROCESS_KINDS]
        recovered = {
            r.key: r for r in self._recover(run_id, attempts_left_running(trows, self.logs_dir, running), owner_gone)
        }
        if row.state != RunState.QUEUED and previous_owner == self.owner:
            log.info("run %s (%s): reloaded from the database", run_id, spec.name)
        elif row.state != RunState.QUEUED:
            log.info("run %s (%s): taken over from %s", run_id, spec.name, previous_owner or "a driver that let it go")
        else:
            log.info("run %s (%s, %s): started", run_id, spec.name, run.logical_date.isoformat())
        # Driven before (by a driver now gone, or by this one): attempts may have run unrecorded.
        run.recovered = row.state != RunState.QUEUED
        # A snapshot: taking over a running task records its outcome, which may start its
        # downstream, and those fresh attempts must not be taken for orphans too.
        left_running = [ts for ts in run.tasks.values() if ts.state == S.RUNNING]
        self.book.add(run)
        now = self.now()
        with self._tx() as conn:
            if row.state == RunState.QUEUED:
                run.started_at = row.started_at or now
                self.book.start(conn, run_id, run.started_at)
            self.book.settle(conn, run, [n for n, t in run.tasks.items() if t.state == S.PENDING], now)
            if run.is_complete():
                self.book.finish(conn, run, now)
        started = {t.id: t.started_at for t in trows}
        for ts in left_running:
            self._take_over(run, ts, started[ts.id], recovered)
        if run.is_complete():
            self._forget(run_id, kill=False)

    def _recover(self, run_id: int, attempts: list[Attempt], owner_gone: bool) -> list[Result]:
        """How attempts another driver left running ended (the executor waits for or ends them)."""
        if not attempts:
            return []
        self._loading.add(run_id)  # this run (claimed, not loaded yet) and the others stay ours
        try:
            return self.executor.recover(attempts, owner_gone=owner_gone, keep_alive=self._heartbeat)
        finally:
            self._loading.discard(run_id)

    def _fail_unloadable(self, row: Any, trows: list[Any], why: str, spec: Workflow,
                         rules: Sequence[AlertRule], link: str) -> None:
        """A run this driver cannot even load ends failed, with the reason, rather than stopping
        the driver (and every other run with it). Its unfinished tasks are stopped, so that
        `shoal runs recover` goes on with them once the cause is fixed. Its failure rules hear."""
        log.error("run %s: cannot load the run: %s", row.id, why)
        now = utcnow()
        with self._tx() as conn:
            self.book.fail_unloadable(conn, row, trows, why, now)
            alerts.unloadable_failed(conn, row, spec, rules, link, why, now)

    def _take_over(self, run: ActiveRun, ts: TaskState, started_at: datetime | None,
                   recovered: dict[str, Result]) -> None:
        """A task run left `running` (by a previous owner, or by this driver before a reload)."""
        key = f"{ts.id}:{ts.attempt}"
        if key in self.book.inflight:  # still running here (see `reload`)
            res = run.spec_of(ts.name).resources
            if self.book.slots.fits(res.cpu, res.memory, res.gpu):
                self.book.hold(key, run, ts)
            return
        kind = run.types[ts.name].kind
        if kind == "inline":
            self._run_inline(run, ts, already_running=True)
        elif kind == "engine":
            timeout = run.spec_of(ts.name).timeout
            ts.deadline = (started_at or self.now()) + timedelta(seconds=timeout) if timeout else None
            ts.next_poll_at = self.now()  # it says what it waits for (a child run) when polled
        else:
            result = recovered.get(key) or Result.driver_died(key)
            self._record(run, ts, result, lost=result.killed)

    # ----------------------------------------------------------------- dispatching

    def _dispatch(self) -> bool:
        """Start what is ready: inline and engine-driven tasks, then a batch of processes.
        Returns whether an inline or engine-driven task was handled (it may have made more
        tasks ready)."""
        if not self.book.ready or self.draining:
            return False
        progressed = False
        for _key, run, ts in self.book.ready_in_order():
            kind = run.types[ts.name].kind
            if kind == "inline":
                self._run_inline(run, ts)
                progressed = True
            elif kind == "engine":
                self._start_engine_task(run, ts)
                progressed = True
        if self.book.ready:
            with self._tx() as conn:
                batch = self._start_batch(conn)
            self._record_refused(self.attempts.submit(batch))
        self._deliver_child_results()
        return progressed

    def _start_batch(self, conn: Writer, only_run: int | None = None) -> Batch:
        """Within the caller's transaction, move the ready process tasks that fit (of run
        `only_run`, if given) to running (one guarded UPDATE) and return what to hand to the
        executor."""
        batch: Batch = []
        if self.draining:
            return batch  # what became ready stays queued for the next driver
        book = self.book
        for _key, run, ts in book.ready_in_order():
            if only_run is not None and run.id != only_run:
                continue
            if run.types[ts.name].kind not in PROCESS_KINDS:
                continue  # started by _dispatch, each in its own transaction
            res = run.spec_of(ts.name).resources
            if not book.slots.can_ever_fit(res.cpu, res.memory, res.gpu):
                reason = book.slots.never_fits_reason(res.cpu, res.memory, res.gpu)
                self._fail_unstartable(run, ts, f"cannot start: {reason}", conn)
                continue
            limit = run.spec.max_active_tasks
            if limit is not None and book.per_workflow[run.workflow_id] >= limit:
                continue
            if not book.slots.fits(res.cpu, res.memory, res.gpu):
                continue
            try:
                launch = self.launcher.prepare(run, ts)
            except CannotStart as exc:
                self._fail_unstartable(run, ts, exc.reason, conn)
                continue
            if run.recovered:
                self.attempts.check_unrecorded(launch)
            book.hold(launch.key, run, ts)  # now, so the rest of this pass sees it taken
            batch.append((run, ts, launch))
        if not batch:
            return batch
        started = book.move_many(
            conn, [(run, ts) for run, ts, _ in batch], S.QUEUED, S.RUNNING, exact=True,
            attempt=INCREMENT, started_at=self.now(), ended_at=None,
            host=socket.gethostname(), executor_pid=self.executor.server_pid, pid=None, error=None,
        )
        if len(started) == len(batch):
            return batch
        moved = {ts.id for ts in started}
        for _run, ts, launch in batch:
            if ts.id not in moved:  # stopped or taken over meanwhile: the next sync lets its run go
                book.release(launch.key)
                self.attempts.not_started(launch.key)
                self._next_sync = 0.0
        return [b for b in batch if b[1].id in moved]

    def _record_refused(self, refused: Refused) -> None:
        for run, ts, result in refused:
            self._record(run, ts, result)

    def _fail_unstartable(self, run: ActiveRun, ts: TaskState, error: str, conn: Writer | None = None) -> None:
        """Fail without retrying: rendering or sizing errors would fail every attempt the same way.
        In `conn` (the caller's transaction, or deferred writes) if given, else in its own."""
        error = mask_value(error, self.launcher.secrets_of(run, ts))
        now = self.now()
        with self._tx() if conn is None else nullcontext(conn) as conn:
            if not self.book.move(conn, run, [ts], S.QUEUED, S.RUNNING, attempt=ts.attempt + 1, started_at=now):
                return
            self.book.move(conn, run, [ts], S.RUNNING, S.FAILED, ended_at=now, error=db_text(error), duration=0.0)
            self.book.after_terminal(conn, run, ts.name, now)
        self._write_log_line(run, ts, error)
        self._after_commit(run)

    def _write_log_line(self, run: ActiveRun, ts: TaskState, message: str) -> None:
        masked = mask_value(message, self.launcher.secrets_of(run, ts))
        append_log_line(self.logs_dir, run.id, ts.name, ts.attempt, masked)

    # ----------------------------------------------------------------- inline & engine tasks

    def _run_inline(self, run: ActiveRun, ts: TaskState, *, already_running: bool = False) -> None:
        attempt = ts.attempt if already_running else ts.attempt + 1
        now = self.now()
        outputs, error = self.launcher.run_inline(run, ts, attempt)
        to = S.FAILED if error is not None else S.SUCCESS
        with self._tx() as conn:
            if not (already_running or self.book.move(
                conn, run, [ts], S.QUEUED, S.RUNNING, attempt=attempt, started_at=now
            )) or not self.book.move(
                conn, run, [ts], S.RUNNING, to, ended_at=now, outputs=outputs, error=error, duration=0.0
            ):
                self._next_sync = 0.0  # stopped or taken over meanwhile: the sync lets the run go
                return
            ts.outputs = outputs
            self.book.after_terminal(conn, run, ts.name, now)
        self._write_log_line(run, ts, f"{ts.name}: {to}" + (f": {error}" if error else f" {json.dumps(outputs)}"))
        self._after_commit(run)

    def _start_engine_task(self, run: ActiveRun, ts: TaskState) -> None:
        attempt = ts.attempt + 1
        now = self.now()
        try:
            with self._tx() as conn:
                outcome = self.engine_tasks.start(conn, run, ts, now)
                # Last in the transaction, so that memory moves only with a move that commits.
                if not self.book.move(conn, run, [ts], S.QUEUED, S.RUNNING, attempt=attempt, started_at=now,
                                      host=socket.gethostname()):
                    raise _GuardFailed  # stopped meanwhile: what the start did is rolled back
        except _GuardFailed:
            self._next_sync = 0.0  # stopped or taken over meanwhile: the sync lets the run go
            return
        except CannotStart as exc:
            self._fail_unstartable(run, ts, exc.reason)
            return
        timeout = run.spec_of(ts.name).timeout
        ts.deadline = now + timedelta(seconds=timeout) if timeout else None
        self._write_log_line(run, ts, f"attempt {attempt} started")
        self._follow(run, ts, outcome, now)

    def _poll_engine_task(self, run: ActiveRun, ts: TaskState, *, child: int | None = None,
                          timed_out: bool = False) -> None:
        now = self.now()
        if child is None:
            child = next((c for c, p in self.book.children.items() if p == (run.id, ts.name)), None)
        with self._tx() as conn:
            if timed_out:
                outcome: Outcome = self.engine_tasks.time_out(conn, run, ts, now, child)
            else:
                outcome = self.engine_tasks.poll(conn, run, ts, now, child)
        self._follow(run, ts, outcome, now)

    def _follow(self, run: ActiveRun, ts: TaskState, outcome: Outcome, now: datetime) -> None:
        """Act on what an engine-driven task said: record its end, or wait as it asks."""
        if outcome.log:
            self._write_log_line(run, ts, outcome.log)
        elif isinstance(outcome, Done) and outcome.error:
            self._write_log_line(run, ts, outcome.error)
        key = (run.id, ts.name)
        if isinstance(outcome, Done):
            for child in [c for c, p in self.book.children.items() if p == key]:
                del self.book.children[child]  # its end no longer concerns this task
            exit_code = 0 if outcome.ok else (None if outcome.timed_out else 1)
            self._record(run, ts, Result(key=f"{ts.id}:{ts.attempt}", exit_code=exit_code, outputs=outcome.outputs,
                                         error=outcome.error, timed_out=outcome.timed_out))
            return
        ts.next_poll_at = now + timedelta(seconds=outcome.poll_in) if outcome.poll_in is not None else None
        if outcome.child_run is not None and outcome.child_run not in self.book.children:
            self.book.children[outcome.child_run] = key
            self.watch([outcome.child_run])

    def _deliver_child_results(self) -> None:
        """Tasks waiting for runs that ended hear of it (after the transaction that ended them)."""
        while self.book.child_results:
            (rid, name), child_id, _state = self.book.child_results.pop()
            run = self.book.active.get(rid)
            if run is None or run.tasks[name].state != S.RUNNING:
                continue
            self._poll_engine_task(run, run.tasks[name], child=child_id)

    def _check_foreign_children(self) -> None:
        """Children this driver does not drive itself (another driver claimed them)."""
        foreign = [c for c in self.book.children if c not in self.book.active]
        if not foreign:
            return
        with self._tx() as conn:
            rows = conn.execute(select(runs.c.id, runs.c.state).where(runs.c.id.in_(foreign))).all()
        for r in rows:
            if r.state in RUN_TERMINAL:
                self.book.child_results.append((self.book.children.pop(r.id), r.id, r.state))
        self._deliver_child_results()

    # ----------------------------------------------------------------- timers

    def _until_next_timer(self) -> float:
        when = self.book.next_timer()
        if when is None:
            return SYNC_INTERVAL
        return max(0.0, (when - self.now()).total_seconds())

    def _fire_timers(self) -> None:
        now = self.now()
        due = self.book.due_retries(now)
        if due:
            with self._tx() as conn:
                for run, ts in due:
                    if not self.book.move(conn, run, [ts], S.RETRYING, S.QUEUED, queued_at=now, next_retry_at=None):
                        self._next_sync = 0.0  # stopped or taken over meanwhile: the sync lets the run go
        for r, n in list(self.book.waiting):
            run = self.book.active.get(r)
            if run is None or run.tasks[n].state != S.RUNNING:
                continue  # ended by an earlier timer of this pass
            ts = run.tasks[n]
            if ts.deadline is not None and ts.deadline <= now:
                self._poll_engine_task(run, ts, timed_out=True)
            elif ts.next_poll_at is not None and ts.next_poll_at <= now:
                self._poll_engine_task(run, ts)

    # ----------------------------------------------------------------- outcomes

    def _on_result(self, result: Result) -> None:
        where = self.book.inflight.pop(result.key, None)
        if where is None:
            return
        run = self.book.active.get(where[0])
        self.book.release(result.key)
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
        finds, in `Attempts.check_unrecorded`, any attempt that ran without its start being recorded.
        """
        now = self.now()
        to, values = attempt_outcome(run, ts, result, now, self.launcher.secrets_of(run, ts))
        # Starting downstream before the commit is safe only while the run is surely still ours:
        # after a pause longer than a lease, the guarded transaction below must come first.
        if pipeline and self.leases.is_sure():
            writes = DeferredWrites()
            batch = self._decide_outcome(writes, run, ts, to, values, now, result.timed_out, only_run=run.id) or []
            refused = self.attempts.submit(batch)
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
                batch = self._decide_outcome(conn, run, ts, to, values, now, result.timed_out)
                if batch is None:  # stopped (the stop recorded the outcome) or taken over meanwhile
                    self._next_sync = 0.0
                    return
            refused = self.attempts.submit(batch)
        if log.isEnabledFor(logging.INFO):
            log_outcome(run, ts, to, result, values)
        self._record_refused(refused)
        if lost:
            what = "will retry" if to == S.RETRYING else str(to)
            self._write_log_line(run, ts, f"{result.error}; {what}")
        self._after_commit(run)

    def _decide_outcome(
        self, conn: Writer, run: ActiveRun, ts: TaskState, to: TaskRunState, values: dict[str, Any],
        now: datetime, timed_out: bool, only_run: int | None = None,
    ) -> Batch | None:
        """Move `ts` to `to` (with the alerts that raises), decide its downstream and start what
        became ready; None if `ts` was not running any more."""
        if not self.book.end_attempt(conn, run, ts, to, values, timed_out=timed_out, now=now):
            return None
        ts.outputs = dict(values["outputs"]) if to == S.SUCCESS else {}
        if to != S.RETRYING:
            self.book.after_terminal(conn, run, ts.name, now)
        # Event-driven: what this outcome made ready starts in the same transaction.
        return self._start_batch(conn, only_run) if self.book.ready else []

    def _after_commit(self, run: ActiveRun) -> None:
        if run.is_complete():
            if run.id in self.book.active:
                log.info("run %s (%s): %s", run.id, run.spec.name, final_run_state(run))
            self._forget(run.id, kill=False)
        self._deliver_child_results()


class _GuardFailed(Exception):
    """A move found its task or run in another state: roll the transaction back."""


__all__ = ["Driver", "is_owner_dead", "make_owner"]
