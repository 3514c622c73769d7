"""The alerts outbox: rows of `alert_deliveries`, from the event that raises them to sent or failed.

An event (a run ended, an attempt timed out or will be retried, a run runs long) matches the
rules that list it; each rule's webhook and each of its addresses get one row, `pending`, with
the JSON payload to send, written in the transaction of the state change itself. The row's
`dedup_key` (run, event, occurrence, channel, target) is unique and rows are inserted with
ON CONFLICT DO NOTHING: an event replayed (a driver that crashed before its commit replays the
whole transaction, a takeover that re-checks a long run, two rules naming the same webhook) is
recorded once, and the statement never fails the transaction it is part of.

Delivery states:

    pending  waiting for its next try at `next_attempt_at` (claimed by a notifier meanwhile)
    sent     the receiver took it (a 2xx answer; the SMTP server accepted the message)
    failed   every try failed; `last_error` says why the last one did

Claiming is a compare-and-set on `attempts` that also moves `next_attempt_at` past the time a
try can take, so two notifiers never send one row at once, and a notifier that dies mid-try
leaves the row due again when that time has passed (delivery is at least once: a receiver may
see a body twice after such a crash, never zero times).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, insert, select, update

from shoal.spec.alerts import AlertRule
from shoal.store.models import alert_deliveries

MAX_FAILED_TASKS = 50  # listed in a payload; `failed_task_count` says how many there were
MAX_ERROR_CHARS = 1000  # of each task's error in a payload


class DeliveryState(StrEnum):
    PENDING = "pending"  # recorded with its event; tried until sent or out of tries
    SENT = "sent"  # the receiver took it
    FAILED = "failed"  # every try failed; last_error says why


@dataclass(frozen=True)
class TaskFacts:
    """A task run as an alert tells of it."""

    name: str
    state: str
    attempt: int
    error: str | None

    def to_json(self) -> dict[str, Any]:
        error = self.error if self.error is None or len(self.error) <= MAX_ERROR_CHARS else (
            self.error[:MAX_ERROR_CHARS] + "…")
        return {"name": self.name, "state": self.state, "attempt": self.attempt, "error": error}


@dataclass(frozen=True)
class RunFacts:
    """A run as an alert tells of it. Times are naive UTC, as stored; `logical_date` is aware."""

    id: int
    project: str
    workflow: str
    state: str
    trigger: str
    logical_date: datetime
    started_at: datetime | None
    ended_at: datetime | None
    link: str

    def to_json(self) -> dict[str, Any]:
        duration = (self.ended_at - self.started_at).total_seconds() if self.started_at and self.ended_at else None
        return {
            "id": self.id, "state": self.state, "logical_date": self.logical_date.isoformat(), "trigger": self.trigger,
            "started_at": _utc(self.started_at), "ended_at": _utc(self.ended_at), "duration": duration,
        }


def _utc(when: datetime | None) -> str | None:
    return when.replace(tzinfo=UTC).isoformat() if when is not None else None


def build_payload(
    event: str, run: RunFacts, failed: Sequence[TaskFacts], now: datetime, *, task: TaskFacts | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The JSON body of an alert (and the facts of its email): what happened, to which run, the
    failed tasks, and a link to the run in the API. Secrets were masked before (task errors
    are recorded masked); it holds no params, outputs or settings."""
    body: dict[str, Any] = {
        "event": event, "project": run.project, "workflow": run.workflow, "run": run.to_json(),
        "failed_tasks": [t.to_json() for t in failed[:MAX_FAILED_TASKS]], "failed_task_count": len(failed),
        "link": run.link, "at": _utc(now),
    }
    if task is not None:
        body["task"] = task.to_json()
    body.update(extra)
    return body


def dedup_key(run_id: int, event: str, occurrence: str, channel: str, target: str) -> str:
    """One event of one run told to one target: at most one row (a hash: a URL may be long)."""
    text = "\x1f".join((str(run_id), event, occurrence, channel, target))
    return hashlib.sha256(text.encode()).hexdigest()


def deliveries(
    rules: Iterable[AlertRule], event: str, *, run_id: int, occurrence: str, payload: dict[str, Any], now: datetime,
    task: str | None = None,
) -> list[dict[str, Any]]:
    """The rows an event makes: one per target of every rule listing it (each target once)."""
    rows: dict[str, dict[str, Any]] = {}
    for rule in rules:
        if event not in rule.on:
            continue
        for channel, target in rule.targets():
            key = dedup_key(run_id, event, occurrence, channel, target)
            rows.setdefault(key, {
                "run_id": run_id, "event": event, "task_name": task, "channel": channel, "target": target,
                "dedup_key": key, "state": str(DeliveryState.PENDING), "attempts": 0, "next_attempt_at": now,
                "payload": payload, "created_at": now,
            })
    return list(rows.values())


def record(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows`, skipping those whose event was recorded already (see the module docstring)."""
    if not rows:
        return
    name = conn.dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - shoal runs on SQLite and PostgreSQL
        known = set(conn.execute(select(alert_deliveries.c.dedup_key).where(
            alert_deliveries.c.dedup_key.in_([r["dedup_key"] for r in rows]))).scalars())
        fresh = [r for r in rows if r["dedup_key"] not in known]
        if fresh:
            conn.execute(insert(alert_deliveries), fresh)
        return
    conn.execute(dialect_insert(alert_deliveries).on_conflict_do_nothing(index_elements=["dedup_key"]), list(rows))


# --------------------------------------------------------------------- the notifier's side


def due(conn: Connection, now: datetime, *, runs: Collection[int] | None = None, limit: int = 20) -> list[Any]:
    """Pending rows whose next try is due, oldest first (of `runs` only, if given)."""
    q = (select(alert_deliveries.c.id, alert_deliveries.c.attempts)
         .where(alert_deliveries.c.state == DeliveryState.PENDING, alert_deliveries.c.next_attempt_at <= now)
         .order_by(alert_deliveries.c.next_attempt_at, alert_deliveries.c.id).limit(limit))
    if runs is not None:
        q = q.where(alert_deliveries.c.run_id.in_(sorted(runs)))
    return list(conn.execute(q).all())


def next_due(conn: Connection, *, runs: Collection[int] | None = None) -> datetime | None:
    """When the earliest pending row is due (None: nothing is pending)."""
    q = select(alert_deliveries.c.next_attempt_at).where(alert_deliveries.c.state == DeliveryState.PENDING)
    if runs is not None:
        q = q.where(alert_deliveries.c.run_id.in_(sorted(runs)))
    return conn.execute(q.order_by(alert_deliveries.c.next_attempt_at).limit(1)).scalar()


def claim(conn: Connection, row_id: int, seen_attempts: int, now: datetime, hold: float) -> Any | None:
    """Take row `row_id` for one try: count the try and move its next try `hold` seconds on
    (longer than a try can take), if nobody else tried it since it was seen due with
    `seen_attempts` tries. The row, or None if another notifier took it (or it is not pending)."""
    taken = conn.execute(
        update(alert_deliveries)
        .where(alert_deliveries.c.id == row_id, alert_deliveries.c.state == DeliveryState.PENDING,
               alert_deliveries.c.attempts == seen_attempts)
        .values(next_attempt_at=now + timedelta(seconds=hold), attempts=alert_deliveries.c.attempts + 1,
                last_attempt_at=now)
    ).rowcount
    if not taken:
        return None
    return conn.execute(select(alert_deliveries).where(alert_deliveries.c.id == row_id)).one()


def mark_sent(conn: Connection, row_id: int, now: datetime) -> None:
    """Sent. `last_error` stays: it tells why the tries before this one failed, if any did."""
    conn.execute(update(alert_deliveries).where(alert_deliveries.c.id == row_id)
                 .values(state=str(DeliveryState.SENT), sent_at=now))


def mark_failed_try(conn: Connection, row_id: int, error: str, retry_at: datetime | None) -> None:
    """A try failed: due again at `retry_at`, or failed for good (None: no tries left)."""
    values: dict[str, Any] = {"last_error": error[:2000]}
    if retry_at is None:
        values["state"] = str(DeliveryState.FAILED)
    else:
        values["next_attempt_at"] = retry_at
    conn.execute(update(alert_deliveries).where(alert_deliveries.c.id == row_id).values(**values))


__all__ = [
    "DeliveryState", "RunFacts", "TaskFacts", "build_payload", "claim", "dedup_key", "deliveries", "due",
    "mark_failed_try", "mark_sent", "next_due", "record",
]
