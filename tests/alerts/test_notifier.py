"""The Notifier against a real HTTP receiver and SMTP server, on SQLite and PostgreSQL: retries
with backoff, each try recorded; sent or failed with the reason; each event delivered once; no
secret in a reason or a log line."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest

from shoal.alerts import outbox
from shoal.alerts.notifier import Notifier
from shoal.store import Store, utcnow
from tests.alerts.conftest import Mailbox, Receiver, a_run, closed_url, pending, rows, with_settings

pytestmark = pytest.mark.filterwarnings("ignore:Session.login_data is deprecated:DeprecationWarning")


def test_a_receiver_failing_twice_is_retried_then_sent(store: Store, receiver: Receiver) -> None:
    quick = with_settings(store, alert_backoff_seconds=0.0)
    run_id = a_run(quick)
    pending(quick, run_id, [("webhook", receiver.url)])
    receiver.answers = [500, 500]
    notifier = Notifier(quick)
    for _ in range(3):
        assert notifier.deliver_due() == 1
    assert notifier.deliver_due() == 0  # nothing left
    [row] = rows(quick)
    assert (row.state, row.attempts) == ("sent", 3)
    assert "HTTP 500" in row.last_error  # why the earlier tries failed
    assert row.sent_at is not None and len(receiver.bodies) == 1
    assert receiver.bodies[0]["run"]["id"] == run_id


def test_an_unreachable_webhook_fails_after_its_tries_with_the_reason(store: Store) -> None:
    quick = with_settings(store, alert_backoff_seconds=0.0, alert_attempts=3)
    pending(quick, a_run(quick), [("webhook", closed_url())])
    notifier = Notifier(quick)
    while notifier.deliver_due():
        pass
    [row] = rows(quick)
    assert (row.state, row.attempts) == ("failed", 3)
    assert "cannot reach http://127.0.0.1:" in row.last_error and "refused" in row.last_error


def test_tries_back_off_exponentially_up_to_the_cap(store: Store) -> None:
    slow = with_settings(store, alert_backoff_seconds=2.0, alert_backoff_max_seconds=5.0)
    notifier = Notifier(slow)
    assert [notifier.backoff(n) for n in (1, 2, 3, 4)] == [2.0, 4.0, 5.0, 5.0]
    pending(slow, a_run(slow), [("webhook", closed_url())])
    before = utcnow()
    assert notifier.deliver_due() == 1
    assert notifier.deliver_due() == 0  # not due again for 2 seconds
    [row] = rows(slow)
    assert row.state == "pending" and row.attempts == 1
    assert timedelta(seconds=1.5) <= row.next_attempt_at - before <= timedelta(seconds=10)


def test_an_event_recorded_twice_is_one_delivery(store: Store, receiver: Receiver) -> None:
    run_id = a_run(store)
    for _ in range(2):  # a replay: the same event, the same targets
        pending(store, run_id, [("webhook", receiver.url), ("webhook", receiver.url), ("email", "a@example.com")])
    assert sorted((r.channel, r.target) for r in rows(store)) == [("email", "a@example.com"), ("webhook", receiver.url)]
    pending(store, run_id, [("webhook", receiver.url)], occurrence="ended 2")  # the run ended again (a rerun)
    assert len(rows(store)) == 3


def test_two_notifiers_never_send_one_delivery_twice(store: Store, receiver: Receiver) -> None:
    pending(store, a_run(store), [("webhook", receiver.url)])
    [row] = rows(store)
    with store.engine.begin() as conn:
        first = outbox.claim(conn, row.id, 0, utcnow(), 60)
    with store.engine.begin() as conn:
        second = outbox.claim(conn, row.id, 0, utcnow(), 60)
    assert first is not None and second is None
    assert Notifier(store).deliver_due() == 0  # claimed: not due until the claim runs out
    assert receiver.bodies == []


def test_an_email_is_delivered_through_smtp(store: Store, mailbox: Mailbox) -> None:
    mail = with_settings(store, smtp_host="127.0.0.1", smtp_port=mailbox.port, smtp_user="shoal",
                         smtp_password=mailbox.password, smtp_from="alerts@example.com")
    pending(mail, a_run(mail), [("email", "oncall@example.com"), ("email", "lead@example.com")])
    assert Notifier(mail).deliver_due() == 2
    assert sorted(to[0] for _, to, _ in mailbox.messages) == ["lead@example.com", "oncall@example.com"]
    assert {r.state for r in rows(mail)} == {"sent"}


def test_the_smtp_password_never_reaches_a_reason_or_a_log_line(
    store: Store, mailbox: Mailbox, caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = "W0ng-Pa55word-xyz"
    mailbox.refusal = f"535 5.7.8 no user shoal with password {wrong}"  # a server that echoes it back
    mail = with_settings(store, smtp_host="127.0.0.1", smtp_port=mailbox.port, smtp_user="shoal",
                         smtp_password=wrong, alert_attempts=1)
    pending(mail, a_run(mail), [("email", "oncall@example.com")])
    caplog.set_level(logging.DEBUG, logger="shoal")
    Notifier(mail).deliver_due()
    [row] = rows(mail)
    assert row.state == "failed" and "refused the login" in row.last_error
    assert wrong not in row.last_error and wrong not in caplog.text and "***" in caplog.text
    assert wrong not in repr(mail.settings) and wrong not in str(mail.settings.model_dump())


def test_a_hanging_receiver_is_cut_off_and_the_thread_goes_on(store: Store, receiver: Receiver) -> None:
    quick = with_settings(store, alert_timeout_seconds=0.5, alert_attempts=1)
    hung, ok = a_run(quick, name="hung"), a_run(quick, name="ok")
    receiver.hang.set()
    pending(quick, hung, [("webhook", receiver.url)])
    notifier = Notifier(quick).start()
    try:
        from tests.conftest import wait_until

        wait_until(lambda: rows(quick)[0].state == "failed", 30)
        receiver.hang.clear()
        pending(quick, ok, [("webhook", receiver.url + "/2")])
        notifier.wake()
        receiver.wait_for(1)
    finally:
        started = time.monotonic()
        notifier.close()
        assert time.monotonic() - started < 10  # generous: closing does not wait for receivers
    assert "did not answer within 0.5s" in rows(quick)[0].last_error
