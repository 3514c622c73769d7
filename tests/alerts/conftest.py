"""Real receivers for alert tests: an HTTP server on a thread that records what it is sent (and
can answer errors, or hang), and an SMTP server (aiosmtpd) that keeps the messages it accepts."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1. `answers` are the statuses of the next requests (then
    200); `hang` makes it hold every request unanswered until the test ends."""

    url: str = ""
    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    hang: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        from tests.conftest import wait_until

        wait_until(lambda: len(self.bodies) >= count, timeout, lambda: f"got {self.bodies}")
        return self.bodies


def _handler(receiver: Receiver) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if receiver.hang.is_set():
                receiver.release.wait(60)
                return
            with receiver.lock:
                status = receiver.answers.pop(0) if receiver.answers else 200
                if status == 200:
                    receiver.bodies.append(json.loads(body))
                    receiver.headers.append(dict(self.headers))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(r))
    server.daemon_threads = True
    r.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/t0ps3cret"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield r
    r.release.set()
    server.shutdown()
    server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def closed_url() -> str:
    """A URL where nothing listens."""
    return f"http://127.0.0.1:{free_port()}/hook"


@dataclass
class Mailbox:
    port: int
    messages: list[tuple[str, list[str], Message]] = field(default_factory=list)
    password: str = "sm7p-Pa55word"
    # What the server answers a failed login with: a hostile server may echo what it was sent.
    refusal: str = "535 5.7.8 authentication failed"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if isinstance(data, LoginPassword) and data.password.decode() == self.password:
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False, message=self.refusal)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """An SMTP server on 127.0.0.1 that takes a login with `password` (no TLS: a test server)."""
    from aiosmtpd.controller import Controller

    box = Mailbox(port=free_port())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "requiring AUTH while not requiring TLS": a local test server
        controller = Controller(box, hostname="127.0.0.1", port=box.port, authenticator=box.authenticate,
                                auth_require_tls=False)
        controller.start()
    yield box
    controller.stop()


def with_settings(store: Any, **values: Any) -> Any:
    """The same database seen with other settings (e.g. a short backoff for the test)."""
    from shoal.store import Store

    settings = type(store.settings)(**{**store.settings.model_dump(), **values})  # validated, as from SHOAL_*
    return Store(engine=store.engine, settings=settings)


def a_run(store: Any, project: str = "default", name: str = "wf") -> int:
    """A queued run of a one-task workflow (deliveries belong to a run)."""
    from shoal.engine.runs import trigger_run
    from shoal.services import workflows

    text = f"name: {name}\nproject: {project}\ntasks:\n  - {{name: a, type: shell, command: 'true'}}\n"
    workflows.apply_text(store, text)
    return trigger_run(store, name, project=project)


def pending(store: Any, run_id: int, targets: list[tuple[str, str]], event: str = "failure",
            occurrence: str = "ended 1") -> None:
    """Record deliveries of `event` of run `run_id` to (channel, target) pairs, as the engine does."""
    from shoal.alerts import outbox
    from shoal.spec.alerts import AlertRule
    from shoal.store import utcnow

    now = utcnow()
    rules = [AlertRule(on=[event], webhook=t) if c == "webhook" else AlertRule(on=[event], email=[t])
             for c, t in targets]
    payload = {"event": event, "project": "default", "workflow": "wf", "run": {"id": run_id, "state": "failed"},
               "failed_tasks": [], "link": "http://127.0.0.1:8000/x"}
    with store.engine.begin() as conn:
        outbox.record(conn, outbox.deliveries(rules, event, run_id=run_id, occurrence=occurrence, payload=payload,
                                              now=now))


def rows(store: Any) -> list[Any]:
    from sqlalchemy import select

    from shoal.store.models import alert_deliveries

    with store.engine.connect() as conn:
        return list(conn.execute(select(alert_deliveries).order_by(alert_deliveries.c.id)).all())
