"""`shoal scheduler` as a real process sends alerts: a webhook to a local receiver and an email
through a local SMTP server (aiosmtpd), with the SMTP password in its environment and nowhere
in what it writes. On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from shoal.client import Client
from shoal.config import Settings
from shoal.services import alerts
from shoal.store import Store
from tests.alerts.conftest import Mailbox, Receiver, mailbox, receiver  # noqa: F401 - fixtures
from tests.conftest import wait_until
from tests.integration.conftest import StartScheduler

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:Session.login_data is deprecated")]


def test_the_scheduler_delivers_webhook_and_email_alerts(
    store_settings: Settings, store: Store, start_scheduler: StartScheduler, tmp_path: Path,
    receiver: Receiver, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch,  # noqa: F811 - the fixtures
) -> None:
    for name, value in (("SMTP_HOST", "127.0.0.1"), ("SMTP_PORT", str(mailbox.port)), ("SMTP_USER", "shoal"),
                        ("SMTP_PASSWORD", mailbox.password), ("PUBLIC_URL", "https://shoal.example.com/")):
        monkeypatch.setenv(f"SHOAL_{name}", value)
    client = Client(store=store)
    path = tmp_path / "nightly.yaml"
    path.write_text(f"name: nightly\nalerts:\n  - on: [failure]\n    webhook: {receiver.url}\n"
                    "    email: [oncall@example.com]\ntasks:\n  - {name: train, type: shell, command: 'exit 4'}\n")
    client.apply_path(path)
    sched = start_scheduler(store_settings, store)
    info = client.run("nightly", wait=True, timeout=60)
    assert info.state == "failed"
    [body] = receiver.wait_for(1)
    assert body["link"] == f"https://shoal.example.com/api/v1/projects/default/runs/{info.id}"
    assert body["failed_tasks"] == [{"name": "train", "state": "failed", "attempt": 1, "error": "exit code 4"}]
    wait_until(lambda: mailbox.messages, 30, sched.output)
    assert mailbox.messages[0][2]["Subject"] == f"[shoal] default/nightly run {info.id} failed"
    wait_until(lambda: {d.state for d in alerts.list_deliveries(store)} == {"sent"}, 30, sched.output)
    assert sched.stop() == 0
    assert mailbox.password not in sched.output()
