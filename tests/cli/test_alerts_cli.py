"""`shoal alerts list` and `shoal project alerts`; and an embedded `shoal run --wait` (no
scheduler) that delivers its run's alerts itself, without a slow receiver holding the run up."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from shoal.config import Settings
from shoal.store import open_store
from tests.alerts.conftest import Receiver, a_run, pending, receiver  # noqa: F401 - a fixture
from tests.conftest import wait_until

HOOK = "https://hooks.example.com/services/T0K3N"


def _store():  # type: ignore[no-untyped-def]
    return open_store(Settings())  # the home the `cli` fixture set (SHOAL_HOME)


def test_project_alerts_set_from_a_file_shown_and_cleared(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rules = tmp_path / "alerts.yaml"
    rules.write_text(f"- on: [failure, timeout]\n  webhook: {HOOK}\n  email: oncall@example.com\n")
    assert cli("project", "create", "fraud").exit_code == 0
    done = cli("project", "alerts", "fraud", "--file", str(rules))
    assert done.exit_code == 0 and "1 default alert rule(s)" in done.output
    shown = cli("project", "alerts", "fraud", "--json")
    assert json.loads(shown.output) == {"project": "fraud", "alerts": [
        {"on": ["failure", "timeout"], "webhook": HOOK, "email": ["oncall@example.com"]}]}
    assert "no default alert rules" in cli("project", "alerts", "fraud", "--clear").output
    rules.write_text("alerts:\n  - on: [long_running]\n    webhook: https://h.example.com/\n")
    bad = cli("project", "alerts", "fraud", "--file", str(rules))
    assert bad.exit_code == 2 and "needs `after`" in bad.output and "alerts.yaml" in bad.output
    assert cli("project", "alerts", "fraud", "--file", str(rules), "--clear").exit_code == 2


def test_alerts_list_shows_state_and_reason_and_never_a_webhooks_secret(cli) -> None:  # type: ignore[no-untyped-def]
    store = _store()
    try:
        pending(store, a_run(store), [("webhook", HOOK)])
    finally:
        store.close()
    listed = cli("alerts", "list", "--json")
    assert listed.exit_code == 0
    [row] = json.loads(listed.output)
    assert (row["event"], row["target"], row["state"]) == ("failure", "https://hooks.example.com/…", "pending")
    table = cli("alerts", "list", "--state", "pending")
    assert "pending" in table.output and "T0K3N" not in table.output
    assert cli("alerts", "list", "--state", "lost").exit_code == 2


@pytest.mark.slow
def test_run_wait_without_a_scheduler_delivers_its_alerts(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, receiver: Receiver,  # noqa: F811 - the fixture
) -> None:
    wf = tmp_path / "fails.yaml"
    wf.write_text(f"name: fails\nalerts:\n  - on: [failure]\n    webhook: {receiver.url}\n"
                  "tasks:\n  - {name: a, type: shell, command: 'echo no; exit 3'}\n")
    assert cli("workflow", "apply", str(wf)).exit_code == 0
    assert cli("run", "fails", "--wait").exit_code == 1
    [body] = receiver.bodies  # delivered before the command returned
    assert body["event"] == "failure" and body["failed_tasks"][0]["error"] == "exit code 3"
    [row] = json.loads(cli("alerts", "list", "--json").output)
    assert (row["state"], row["attempts"]) == ("sent", 1)


@pytest.mark.slow
def test_a_hanging_receiver_never_holds_a_run_up(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch,  # noqa: F811 - the fixture
) -> None:
    monkeypatch.setenv("SHOAL_ALERT_TIMEOUT_SECONDS", "60")
    monkeypatch.setenv("SHOAL_ALERT_FLUSH_SECONDS", "1")
    receiver.hang.set()
    wf, flag = tmp_path / "quick.yaml", tmp_path / "failed-once"
    wf.write_text(f"name: quick\nalerts:\n  - on: [retry, success]\n    webhook: {receiver.url}\n"
                  f"tasks:\n  - {{name: a, type: shell, command: 'test -e {flag} || {{ touch {flag}; exit 1; }}', "
                  "retries: 1}\n")
    assert cli("workflow", "apply", str(wf)).exit_code == 0
    started = time.monotonic()
    done = cli("run", "quick", "--wait", "--json")
    took = time.monotonic() - started
    assert done.exit_code == 0, done.output
    run = json.loads(done.output)
    assert run["state"] == "success" and run["tasks"][0]["attempt"] == 2
    # The retry's alert hangs for up to 60 s from the middle of the run: neither the run nor the
    # command waited for it (generous bounds, far below that hang).
    duration = datetime.fromisoformat(run["ended_at"]) - datetime.fromisoformat(run["started_at"])
    assert duration.total_seconds() < 30 and took < 30
    states = {r["event"]: r["state"] for r in json.loads(cli("alerts", "list", "--json").output)}
    assert states == {"retry": "pending", "success": "pending"}  # left for the next notifier
    receiver.release.set()  # the hung try ends; its thread with it, before the next test
    wait_until(lambda: not any(t.name == "shoal-notifier" for t in threading.enumerate()), 30)
