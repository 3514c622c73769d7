"""The Notifier: sends due alert deliveries from a background thread, retrying with backoff.

It runs beside a driver, never inside one: the scheduler (`shoal scheduler`, and so `shoal
server`) runs one for every run, and a waiting command that drives its own runs (`shoal run
--wait` with no scheduler) runs one for those runs, which it gives a short, bounded flush
(SHOAL_ALERT_FLUSH_SECONDS) once they ended. A slow or dead receiver therefore delays only other
alerts, never a run: the driver has recorded the delivery and moved on before anyone sends it.

Each pass reads the due `pending` rows, claims each (`outbox.claim`, a compare-and-set, so two
notifiers on one database never send the same row at once), sends it with no transaction open,
and records the outcome: `sent`, or the reason and the time of the next try (SHOAL_ALERT_
BACKOFF_SECONDS * 2**(n-1), at most SHOAL_ALERT_BACKOFF_MAX_SECONDS), or `failed` once
SHOAL_ALERT_ATTEMPTS tries failed. Nothing it meets (a receiver's error, a bug, the database
going away) leaves the thread: it is logged and the loop goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from shoal.alerts import outbox
from shoal.alerts.channels import DeliveryFailed, Smtp, scrub, send_email, send_webhook
from shoal.config import Settings
from shoal.spec.alerts import redact_url
from shoal.store import Store, utcnow
from shoal.store.models import alert_deliveries
from shoal.store.retry import DATABASE_AWAY, db_error_text

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0  # how often a notifier looks for new deliveries (they are due at once)
BATCH = 20  # rows read per look
CLOSE_GRACE = 1.0  # seconds `close` waits past its flush for the thread to finish what it does


def smtp_of(settings: Settings) -> Smtp:
    password = settings.smtp_password.get_secret_value() if settings.smtp_password is not None else None
    return Smtp(host=settings.smtp_host, port=settings.smtp_port, user=settings.smtp_user, password=password,
                sender=settings.smtp_from, starttls=settings.smtp_starttls)


class Notifier:
    """Delivers the pending alerts of every run (`runs` None) or of `runs` (a live collection: a
    waiting driver's runs, which grows as it adopts sub-workflow runs)."""

    def __init__(self, store: Store, *, runs: Collection[int] | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.settings = store.settings
        self.runs = runs
        self.now = clock
        self.smtp = smtp_of(self.settings)
        # A claim outlasts any try (a hung receiver is cut off at the timeout), so another notifier
        # never sends a row that is still being sent; a notifier that died is retried after it.
        self.hold = max(60.0, 10 * self.settings.alert_timeout_seconds)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._flush_until = 0.0
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- the thread

    def start(self) -> Notifier:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="shoal-notifier", daemon=True)
            self._thread.start()
        return self

    def wake(self) -> None:
        """Look for due deliveries now rather than at the next poll."""
        self._wake.set()

    def close(self, flush: float = 0.0) -> None:
        """Stop; with `flush`, first keep delivering (and retrying) for up to that many seconds,
        until nothing of this notifier's runs is pending. What is still pending then stays so,
        for the next notifier (a scheduler's) to deliver.

        Returns within `flush` and a second: a try still going then (a receiver that hangs) is
        left to its daemon thread. If the process exits first, the try is not recorded and its
        row, claimed for `hold` seconds, is tried again by the next notifier after that."""
        self._flush_until = time.monotonic() + flush
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=flush + CLOSE_GRACE)
            self._thread = None
        elif flush:
            self._loop()

    def __enter__(self) -> Notifier:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _loop(self) -> None:
        failures = 0
        while True:
            try:
                if self._out_of_time() or (self._stop.is_set() and not self.pending()):
                    return
                self.deliver_due()
                wait = self._until_next()
                failures = 0
            except DATABASE_AWAY as exc:
                failures += 1
                wait = min(30.0, 2.0 ** failures)
                log.error("alerts: the metadata database failed: %s; trying again in %gs", db_error_text(exc), wait)
            except Exception:  # noqa: BLE001 - a bug here must not end alerting for good
                failures += 1
                wait = min(30.0, 2.0 ** failures)
                log.exception("alerts: delivering failed unexpectedly; trying again in %gs", wait)
            if self._stop.is_set():
                wait = min(wait, max(0.0, self._flush_until - time.monotonic()))
            self._wake.wait(wait)
            self._wake.clear()

    def _until_next(self) -> float:
        with self.store.engine.connect() as conn:
            when = outbox.next_due(conn, runs=self._runs())
        if when is None:
            return POLL_SECONDS
        return max(0.0, min(POLL_SECONDS, (when - self.now()).total_seconds()))

    def _runs(self) -> list[int] | None:
        return None if self.runs is None else list(self.runs)

    # ----------------------------------------------------------------- one pass

    def pending(self) -> int:
        """How many deliveries (of this notifier's runs) are still pending."""
        q = select(func.count()).select_from(alert_deliveries).where(
            alert_deliveries.c.state == outbox.DeliveryState.PENDING)
        runs = self._runs()
        if runs is not None:
            q = q.where(alert_deliveries.c.run_id.in_(runs))
        with self.store.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    def deliver_due(self) -> int:
        """Try every delivery that is due now (of this notifier's runs); returns how many tries."""
        runs = self._runs()
        if runs is not None and not runs:
            return 0
        tries = 0
        while True:
            with self.store.engine.connect() as conn:
                rows = outbox.due(conn, self.now(), runs=runs, limit=BATCH)
            for row in rows:
                if self._out_of_time():
                    return tries
                tries += self._try(row.id, row.attempts)
            if len(rows) < BATCH:
                return tries

    def _out_of_time(self) -> bool:
        """Closing, and past the flush it was given."""
        return self._stop.is_set() and time.monotonic() >= self._flush_until

    def _try(self, row_id: int, seen_attempts: int) -> int:
        with self.store.engine.begin() as conn:
            row = outbox.claim(conn, row_id, seen_attempts, self.now(), self.hold)
        if row is None:
            return 0  # another notifier has it
        shown = redact_url(row.target) if row.channel == "webhook" else row.target
        what = f"alert {row.id} ({row.event} of run {row.run_id}, {row.channel} {shown})"
        try:
            self.send(row.channel, row.target, row.payload)
        except DeliveryFailed as exc:
            error = scrub(exc.reason, [self.smtp.password, row.target if row.channel == "webhook" else None])
        except Exception as exc:  # noqa: BLE001 - whatever a channel raises is this try's failure
            error = scrub(f"{type(exc).__name__}: {exc}",
                          [self.smtp.password, row.target if row.channel == "webhook" else None])
        else:
            with self.store.engine.begin() as conn:
                outbox.mark_sent(conn, row.id, self.now())
            log.info("%s: sent", what)
            return 1
        attempts = row.attempts
        retry_at = None
        if attempts < self.settings.alert_attempts:
            retry_at = self.now() + timedelta(seconds=self.backoff(attempts))
        with self.store.engine.begin() as conn:
            outbox.mark_failed_try(conn, row.id, error, retry_at)
        if retry_at is None:
            log.warning("%s: failed after %d tries: %s", what, attempts, error)
        else:
            log.info("%s: try %d failed: %s; next try at %s UTC", what, attempts, error,
                     retry_at.isoformat(sep=" ", timespec="seconds"))
        return 1

    def backoff(self, attempts: int) -> float:
        """Seconds before the next try, after `attempts` failed ones."""
        s = self.settings
        return min(s.alert_backoff_seconds * 2 ** max(0, attempts - 1), s.alert_backoff_max_seconds)

    def send(self, channel: str, target: str, payload: dict[str, Any]) -> None:
        timeout = self.settings.alert_timeout_seconds
        if channel == "webhook":
            send_webhook(target, payload, timeout)
        elif channel == "email":
            send_email(self.smtp, target, payload, timeout)
        else:  # a row written by a newer shoal: leave a reason rather than guess
            raise DeliveryFailed(f"unknown channel {channel!r}: this shoal sends webhook and email alerts")


__all__ = ["Notifier", "smtp_of"]
