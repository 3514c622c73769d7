"""The scheduler daemon: ticks cron schedules into runs and drives every run (a Driver that
claims all runs), and sends alerts (a Notifier thread). While it runs it holds the `scheduler`
lease, so waiting CLI commands hand their runs over to it instead of driving them themselves."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from shoal.alerts.notifier import Notifier
from shoal.engine.clock import from_utc_naive, latest_fires, next_fire, to_utc_naive
from shoal.engine.driver import Driver, make_owner
from shoal.engine.runs import trigger_run
from shoal.engine.workflows import get_workflow
from shoal.errors import Conflict, NotFound
from shoal.spec.models import DEFAULT_PROJECT
from shoal.store import Store, utcnow
from shoal.store.models import leases, projects, runs, schedules, workflows
from shoal.store.retry import DATABASE_AWAY, DatabaseRetry, db_error_text

SCHEDULER_LEASE = "scheduler"

TICK_INTERVAL = 1.0
MAX_CATCHUP_PER_TICK = 1000
log = logging.getLogger(__name__)


def scheduler_alive(store: Store) -> bool:
    """Is a scheduler daemon heartbeating its lease right now?"""
    with store.engine.connect() as conn:
        expires = conn.execute(select(leases.c.expires_at).where(leases.c.name == SCHEDULER_LEASE)).scalar()
    return expires is not None and expires > utcnow()


def run_driven(store: Store, run_id: int) -> bool:
    """Is something driving the run, or about to: a driver holds its lease (a scheduler, or a
    command waiting on it), or one of another run of its workflow, or a scheduler is alive to
    claim it? (A run queued behind its workflow's others, by a backfill's `parallel` or
    `max_active_runs`, gets no lease until its turn; whoever drives those drives it next.)"""
    now = utcnow()
    with store.engine.connect() as conn:
        row = conn.execute(select(runs.c.lease_until, runs.c.workflow_id).where(runs.c.id == run_id)).one_or_none()
        if row is None:
            return False
        if row.lease_until is not None and row.lease_until > now:
            return True
        leased = conn.execute(
            select(runs.c.id).where(runs.c.workflow_id == row.workflow_id, runs.c.lease_until > now).limit(1)
        ).first()
    return leased is not None or scheduler_alive(store)


def tick_schedules(store: Store, now: datetime | None = None) -> list[int]:
    """Create the runs whose fire time has come; returns their ids. Safe to call from several
    schedulers at once: each schedule advances with a compare-and-set on next_fire_at."""
    now_utc = now or datetime.now(UTC)
    created: list[int] = []
    with store.engine.connect() as conn:
        due = conn.execute(
            select(schedules, workflows.c.name, projects.c.name.label("project"))
            .join(workflows, workflows.c.id == schedules.c.workflow_id)
            .join(projects, projects.c.id == workflows.c.project_id)
            .where(schedules.c.paused.is_(False), schedules.c.next_fire_at <= to_utc_naive(now_utc))
        ).all()
    for s in due:
        try:
            with store.engine.begin() as conn:
                created.extend(_fire(store, conn, s, now_utc))
        except IntegrityError:
            log.info("schedule of %s already fired elsewhere", s.name)
        except Exception as exc:  # noqa: BLE001 - one bad schedule must not stop the others firing
            log.error("schedule of %s could not fire (%s: %s); skipping to its next fire time",
                      s.name, type(exc).__name__, exc)
            _skip_to_next(store, s, now_utc)
    return created


def _skip_to_next(store: Store, s, now_utc: datetime) -> None:  # type: ignore[no-untyped-def]
    """Move a schedule that failed to fire past `now`, so it is not retried on every tick."""
    try:
        nxt = to_utc_naive(next_fire(s.cron, s.timezone, now_utc))
        with store.engine.begin() as conn:
            conn.execute(
                update(schedules)
                .where(schedules.c.workflow_id == s.workflow_id, schedules.c.next_fire_at == s.next_fire_at)
                .values(next_fire_at=nxt)
            )
    except Exception as exc:  # noqa: BLE001
        log.error("schedule of %s could not be moved on either: %s", s.name, exc)


def _fire(store: Store, conn: Connection, s, now_utc: datetime) -> list[int]:  # type: ignore[no-untyped-def]
    fire = from_utc_naive(s.next_fire_at, s.timezone)
    end = from_utc_naive(s.end_at, s.timezone) if s.end_at else None
    horizon = now_utc if end is None else min(now_utc, end)
    # Catch-up creates at most max_catchup runs (the latest fire times); off, only the latest.
    limit = store.settings.max_catchup if s.catchup else 1
    times = []
    while fire <= horizon and len(times) <= limit:
        times.append(fire)
        fire = next_fire(s.cron, s.timezone, fire)
    if len(times) > limit:
        times = latest_fires(s.cron, s.timezone, horizon, limit)
        if s.catchup:
            log.warning("schedule of %s: more than %d fire times are due; catching up the latest %d, from %s "
                        "(SHOAL_MAX_CATCHUP; backfill older dates with `shoal backfill`)",
                        s.name, limit, limit, times[0].isoformat())
        fire = next_fire(s.cron, s.timezone, times[-1])
    if len(times) > MAX_CATCHUP_PER_TICK:  # the rest on the next ticks, in transactions of this size
        fire = times[MAX_CATCHUP_PER_TICK]
        times = times[:MAX_CATCHUP_PER_TICK]
    if s.start_at is not None:
        times = [t for t in times if t >= from_utc_naive(s.start_at, s.timezone)]
    nxt = to_utc_naive(fire) if (end is None or fire <= end) else None
    moved = conn.execute(
        update(schedules)
        .where(schedules.c.workflow_id == s.workflow_id, schedules.c.next_fire_at == s.next_fire_at)
        .values(next_fire_at=nxt)
    ).rowcount
    if not moved:
        return []
    keys = {t: f"schedule:{s.workflow_id}:{to_utc_naive(t).isoformat()}" for t in times}
    # Times that already have their run (the schedule was moved back by a changed cron or start)
    # are skipped: recreating one would fail the whole tick on the unique key, every tick.
    done = set(conn.execute(select(runs.c.dedup_key).where(runs.c.dedup_key.in_(list(keys.values())))).scalars())
    return [
        trigger_run(store, s.name, project=s.project, logical_date=t, trigger="schedule", dedup_key=key, conn=conn)
        for t, key in keys.items()
        if key not in done
    ]


def set_paused(store: Store, name: str, paused: bool, *, project: str = DEFAULT_PROJECT) -> None:
    """Pause or resume a workflow's schedule. Resuming without catch-up skips missed times."""
    with store.engine.begin() as conn:
        wf = get_workflow(store, name, project=project, conn=conn)
        if wf.schedule is None:
            raise NotFound(f"workflow {name!r} has no schedule; add `schedule:` to it and apply again")
        if wf.schedule["paused"] == paused:
            raise Conflict(f"the schedule of {name!r} is already {'paused' if paused else 'running'}")
        values: dict[str, object] = {"paused": paused, "updated_at": utcnow()}
        if not paused and not wf.schedule["catchup"]:
            tz = wf.schedule["timezone"]
            since = datetime.now(UTC)
            start = conn.execute(select(schedules.c.start_at).where(schedules.c.workflow_id == wf.id)).scalar()
            if start is not None and start > to_utc_naive(since):  # not begun yet: it still begins at start
                since = from_utc_naive(start, tz) - timedelta(microseconds=1)
            values["next_fire_at"] = to_utc_naive(next_fire(wf.schedule["cron"], tz, since))
        conn.execute(update(schedules).where(schedules.c.workflow_id == wf.id).values(**values))


class Scheduler:
    """`shoal scheduler`: cron ticks + a Driver over all runs, until `stop` is set."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.owner = make_owner()
        self.driver = Driver(store, owner=self.owner)
        self.stop = threading.Event()

    def _heartbeat(self) -> None:
        expires = utcnow() + timedelta(seconds=self.store.settings.lease_seconds)
        try:
            with self.store.engine.begin() as conn:
                if conn.execute(
                    update(leases).where(leases.c.name == SCHEDULER_LEASE).values(owner=self.owner, expires_at=expires)
                ).rowcount == 0:
                    conn.execute(insert(leases).values(name=SCHEDULER_LEASE, owner=self.owner, expires_at=expires))
        except IntegrityError:
            pass  # another scheduler inserted the row at the same moment: it is alive, and so are we

    def _release(self) -> None:
        with self.store.engine.begin() as conn:
            conn.execute(delete(leases).where(leases.c.name == SCHEDULER_LEASE, leases.c.owner == self.owner))

    def run_forever(self) -> None:
        next_tick = 0.0
        next_beat = 0.0
        retry = DatabaseRetry()
        # Alerts are sent from a thread of their own: a slow receiver never holds up a run.
        notifier = Notifier(self.store).start()
        with self.driver:
            try:
                while not self.stop.is_set():
                    now = time.monotonic()
                    try:
                        if now >= next_beat:
                            self._heartbeat()
                            next_beat = now + self.store.settings.lease_seconds / 3
                        if now >= next_tick:
                            for run_id in tick_schedules(self.store):
                                log.info("scheduled run %s created", run_id)
                            next_tick = now + TICK_INTERVAL
                        self.driver.step(max_wait=0.2)
                    except DATABASE_AWAY as exc:
                        # The database went away: keep the running attempts, wait for it, then
                        # start over from what it says.
                        next_beat = next_tick = 0.0
                        self.stop.wait(retry.failed(exc, self.driver.reload))
                    else:
                        retry.ok()
                # Stopping on request: finish (or cut off) what runs, hand the runs on.
                try:
                    self.driver.drain(self.store.settings.stop_grace_seconds)
                except DATABASE_AWAY as exc:
                    log.error("stopping while the metadata database is away (%s): what ran is not recorded; "
                              "the next scheduler takes the runs over when their leases run out", db_error_text(exc))
            finally:
                try:
                    self._release()
                except DATABASE_AWAY:
                    pass  # the scheduler lease runs out by itself
                # What is still pending stays so: the next scheduler delivers it.
                notifier.close()
