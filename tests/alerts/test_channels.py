"""Sending one alert to a real receiver: a webhook's JSON POST and an email through a real SMTP
server. A failed send says why in one line, and never with a secret in it."""

from __future__ import annotations

import time

import pytest

from shoal.alerts.channels import DeliveryFailed, Smtp, send_email, send_webhook
from tests.alerts.conftest import Mailbox, Receiver, closed_url

pytestmark = pytest.mark.filterwarnings("ignore:Session.login_data is deprecated:DeprecationWarning")

PAYLOAD = {
    "event": "failure", "project": "fraud", "workflow": "nightly",
    "run": {"id": 7, "state": "failed", "trigger": "schedule", "logical_date": "2026-03-01T00:00:00+00:00",
            "started_at": "2026-03-01T00:00:01+00:00", "ended_at": "2026-03-01T00:01:01+00:00", "duration": 60.0},
    "failed_tasks": [{"name": "train", "state": "failed", "attempt": 3, "error": "exit code 1"}],
    "failed_task_count": 1, "link": "http://127.0.0.1:8000/api/v1/projects/fraud/runs/7",
}


def _smtp(box: Mailbox, password: str | None = None, user: str | None = "shoal") -> Smtp:
    return Smtp(host="127.0.0.1", port=box.port, user=user, password=password or box.password,
                sender="shoal@example.com", starttls=False)


def test_a_webhook_gets_the_payload_as_json(receiver: Receiver) -> None:
    send_webhook(receiver.url, PAYLOAD, timeout=5)
    assert receiver.bodies == [PAYLOAD]
    assert receiver.headers[0]["Content-Type"] == "application/json"


def test_a_webhook_error_status_is_a_failed_try_naming_the_status_not_the_url(receiver: Receiver) -> None:
    receiver.answers = [503]
    with pytest.raises(DeliveryFailed) as info:
        send_webhook(receiver.url, PAYLOAD, timeout=5)
    assert "HTTP 503" in info.value.reason
    assert "t0ps3cret" not in info.value.reason and "127.0.0.1" in info.value.reason


def test_a_redirect_is_not_followed(receiver: Receiver) -> None:
    receiver.answers = [302]
    with pytest.raises(DeliveryFailed, match="redirects are not followed"):
        send_webhook(receiver.url, PAYLOAD, timeout=5)
    assert receiver.bodies == []


def test_an_unreachable_webhook_says_so() -> None:
    with pytest.raises(DeliveryFailed, match="cannot reach .*refused"):
        send_webhook(closed_url(), PAYLOAD, timeout=5)


def test_a_receiver_that_hangs_is_cut_off_at_the_timeout(receiver: Receiver) -> None:
    receiver.hang.set()
    started = time.monotonic()
    with pytest.raises(DeliveryFailed, match="within 0.5s"):
        send_webhook(receiver.url, PAYLOAD, timeout=0.5)
    assert time.monotonic() - started < 10  # generous: it did not wait for the receiver


def test_an_email_reaches_the_smtp_server_with_a_subject_and_the_facts(mailbox: Mailbox) -> None:
    send_email(_smtp(mailbox), "oncall@example.com", PAYLOAD, timeout=5)
    [(sender, to, message)] = mailbox.messages
    assert (sender, to) == ("shoal@example.com", ["oncall@example.com"])
    assert message["Subject"] == "[shoal] fraud/nightly run 7 failed"
    body = message.get_payload(decode=True).decode()
    assert "train (attempt 3): exit code 1" in body and PAYLOAD["link"] in body


def test_a_refused_login_never_shows_the_password_even_when_the_server_echoes_it(mailbox: Mailbox) -> None:
    wrong = "not-the-Pa55word-at-all"
    mailbox.refusal = f"535 5.7.8 bad credentials: {wrong}"
    with pytest.raises(DeliveryFailed) as info:
        send_email(_smtp(mailbox, password=wrong), "oncall@example.com", PAYLOAD, timeout=5)
    assert "refused the login of 'shoal'" in info.value.reason
    assert wrong not in info.value.reason and "***" in info.value.reason
    assert wrong not in repr(_smtp(mailbox, password=wrong))
    assert mailbox.messages == []


def test_email_without_an_smtp_server_says_which_setting_to_set() -> None:
    smtp = Smtp(host=None, port=25, user=None, password=None, sender="shoal@localhost", starttls=False)
    with pytest.raises(DeliveryFailed, match="SHOAL_SMTP_HOST"):
        send_email(smtp, "oncall@example.com", PAYLOAD, timeout=5)
