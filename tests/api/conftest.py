"""The API test client: one caller per user of a shared instance, and the error shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from shoal.api.app import create_app
from shoal.services import users
from shoal.store import Store
from tests.conftest import add_team

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
