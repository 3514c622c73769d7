"""The API test client: one caller per user of a shared instance, the error shape, and a real
`shoal server` process (`Server`, also for the web UI's browser tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from shoal.api.app import create_app
from shoal.services import users
from shoal.store import Store
from tests.conftest import add_team, wait_until
from tests.serving.conftest import free_port

WF = ("name: {name}\nproject: {project}\ntasks:\n  - {{name: a, type: shell, command: 'echo ${{x}}'}}\n"
      "params: {{x: '1'}}\n")
Call = Callable[..., Any]


@pytest.fixture
def api(store: Store) -> dict[str, Call]:
    """A client per user: root (instance admin), alice (editor of fraud), bob (viewer of fraud),
    carol (no project); `anon` sends no token."""
    add_team(store)
    client = TestClient(create_app(store))

    def as_user(token: str | None) -> Call:
        headers = {"Authorization": f"Bearer {token}"} if token else {}

        def call(method: str, path: str, **kwargs: Any) -> Any:
            return client.request(method, path, **{**kwargs, "headers": {**headers, **kwargs.get("headers", {})}})

        return call

    callers = {u: as_user(users.create_token(store, u).token) for u in ("root", "alice", "bob", "carol")}
    callers["anon"] = as_user(None)
    return callers


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]


def apply(call: Call, name: str, project: str) -> Any:
    return call("POST", "/api/v1/workflows", json={"content": WF.format(name=name, project=project)})


class Server:
    """A `shoal server` process on a free port, its log and its first admin's API client."""

    def __init__(self, home: Path, *args: str) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHOAL_")}
        env["SHOAL_HOME"] = str(home / "home")
        self.home = home
        self.log = home / "server.log"
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "shoal.cli.entry", "server", "--port", str(self.port), *args], env=env,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=home,
            )

        def started() -> str | None:
            assert self.proc.poll() is None, self.log.read_text()
            text = self.log.read_text()
            return text if "shoal API on" in text and "scheduler" in text and " started" in text else None

        text = wait_until(started, 60, self.log.read_text, interval=0.1)
        token = next(line for line in text.splitlines() if line.startswith("shoal_"))
        self.api = httpx.Client(base_url=f"http://127.0.0.1:{self.port}",
                                headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
