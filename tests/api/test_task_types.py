"""`GET /api/v1/task-types`: the palette and forms of the web UI, behind a token like every route."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from shoal.api.app import create_app
from shoal.services import users
from shoal.store import Store
from tests.api.conftest import error_of
from tests.conftest import add_team


@pytest.fixture
def backend() -> str:
    return "sqlite"  # task types are not in the database; tokens are tested on both in test_api.py


@pytest.fixture
def client(store: Store) -> TestClient:
    add_team(store)
    return TestClient(create_app(store))


def bearer(store: Store, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {users.create_token(store, user).token}"}


def test_the_list_has_groups_the_common_fields_and_every_type(client: TestClient, store: Store) -> None:
    response = client.get("/api/v1/task-types", headers=bearer(store, "carol"))  # any user, even in no project
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"groups", "common", "items"}
    assert [g["name"] for g in body["groups"]] == ["general", "logic", "data", "features", "ml"]
    assert {"retries", "timeout", "trigger_rule", "upstream", "resources"} <= set(body["common"]["properties"])
    items = {t["name"]: t for t in body["items"]}
    assert items["train"]["group"] == "ml" and items["switch"]["group"] == "logic" and items["sql"]["group"] == "data"
    sql = items["sql"]
    assert sql["available"] is True and sql["extra"] is None and sql["kind"] == "process"
    assert sql["params_schema"]["properties"]["sql"]["format"] == "sql"
    assert sql["params_schema"]["properties"]["output"]["enum"] == ["none", "first_row", "rows"]
    assert all(t["description"] for t in body["items"])


def test_one_type_and_an_unknown_one(client: TestClient, store: Store) -> None:
    headers = bearer(store, "bob")
    shell = client.get("/api/v1/task-types/shell", headers=headers).json()
    assert shell["name"] == "shell" and shell["group"] == "general"
    assert shell["params_schema"]["required"] == ["command"]
    err = error_of(client.get("/api/v1/task-types/shel", headers=headers), 404)
    assert err["code"] == "not_found" and "did you mean 'shell'?" in err["message"]
    assert err["details"]["task_type"] == "shel" and "shell" in err["details"]["known"]


def test_no_token_no_types(client: TestClient) -> None:
    for path in ("/api/v1/task-types", "/api/v1/task-types/shell"):
        err = error_of(client.get(path), 401)
        assert err["code"] == "unauthorized"
    bad = client.get("/api/v1/task-types", headers={"Authorization": "Bearer shoal_nope"})
    assert "unknown token" in error_of(bad, 401)["message"]
