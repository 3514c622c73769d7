"""No request body can make the server answer 500 or fall over: odd JSON gets a clear 4xx.

Request handling does not touch the database, so these tests run on SQLite only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoal.registry import Registry
from shoal.serving import ModelWatcher, create_app

ROW = {"clicks": 30, "app": 3, "hour": 10.5}


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def client(registry: Registry) -> Iterator[TestClient]:
    with TestClient(create_app(ModelWatcher(registry, "ctr", "production", poll=3600))) as c:
        yield c


def deep(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


@pytest.mark.parametrize(
    ("path", "raw", "status", "words"),
    [
        ("/predict", b'{"clicks": Infinity, "app": 3, "hour": 1}', 400, ["not valid JSON"]),
        ("/predict", b'{"clicks": 1, "app": 3, "hour": -1e999}', 400, ["not valid JSON", "infinity"]),
        ("/predict", b"[" * 100_000 + b"]" * 100_000, 400, ["not valid JSON", "depth limit"]),
        ("/predict", b'{"clicks": 1, "app": 3, "hour": 1, "x": "\xff"}', 400, ["not valid JSON", "UTF-8"]),
        # Nested as deep as JSON allows, in a row value: named, not shown (and no RecursionError).
        ("/predict", f'{{"clicks": {deep(1020)}, "app": 3, "hour": 1}}'.encode(), 422,
         ["clicks: expected a number, got a list of 1"]),
        ("/predict", f'[{{"clicks": 1, "app": {{"a": {deep(1000)}}}, "hour": 1}}]'.encode(), 422,
         ["app: expected a number, got an object with 1 keys"]),
        ("/invocations", b'{"dataframe_split": {"columns": [["clicks"]], "data": [[1]]}}', 400,
         ["dataframe_split.columns[0] is list"]),
        ("/invocations", b'{"dataframe_split": {"columns": ["clicks", {"a": 1}], "data": [[1, 2]]}}', 400,
         ["dataframe_split.columns[1] is dict"]),
        ("/invocations", b'{"dataframe_records": [{"clicks": 1, "app": 3, "hour": 1}, "row"]}', 400,
         ["row 1 is str"]),
    ],
    ids=["infinity", "1e999", "nested-100000", "bad-utf8", "deep-value", "deep-object-value", "list-column",
         "object-column", "string-row"],
)
def test_odd_json_gets_a_clear_4xx(client: TestClient, path: str, raw: bytes, status: int, words: list[str]) -> None:
    r = client.post(path, content=raw, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    err = r.json()["error"]
    for w in words:
        assert w in err["message"]
    assert len(r.content) < 1000  # the error never echoes the body back


def test_a_long_value_is_shortened_in_the_error(client: TestClient) -> None:
    r = client.post("/predict", json={**ROW, "clicks": "x" * 1_000_000})
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "clicks"
    assert "1000000 characters" in r.json()["error"]["message"] and len(r.content) < 1000


@pytest.mark.parametrize(
    "value", [1e308, -1e308, 5e-324, 2**63 - 1, -(2**63), 2**64 - 1, 10**30, True, None],
    ids=str,
)
def test_extreme_numbers_are_scored(client: TestClient, value: Any) -> None:
    rows = [{**ROW, "hour": value}]
    if value is None or float(value).is_integer():  # clicks is an int input
        rows.append({**ROW, "clicks": value})
    r = client.post("/predict", json=rows)
    assert r.status_code == 200, r.text
    assert all(isinstance(s, float) for s in r.json()["scores"])


def test_a_failure_of_the_model_answers_500_in_the_error_shape(registry: Registry) -> None:
    class Broken:
        def __init__(self, model: Any) -> None:
            self.version = model.version

        def score(self, rows: Any) -> list[float]:
            raise ZeroDivisionError("a bug in a model flavor")

    watcher = ModelWatcher(registry, "ctr", "production", poll=3600)
    watcher.current = Broken(watcher.current)  # type: ignore[assignment]
    with TestClient(create_app(watcher), raise_server_exceptions=False) as c:
        for body in (ROW, [ROW] * 3):
            r = c.post("/predict", json=body)
            assert r.status_code == 500
            err = r.json()["error"]
            assert err["code"] == "internal_error" and "ZeroDivisionError" in err["message"]
            assert "a bug" not in err["message"]  # the server's log has the details, the client does not
        assert c.get("/health").status_code == 200  # and it goes on serving


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)
ROWISH = st.dictionaries(st.sampled_from(["clicks", "app", "hour", "x"]), JSON, max_size=4)
BODY = st.one_of(JSON, ROWISH, st.lists(ROWISH | JSON, max_size=4),
                 st.fixed_dictionaries({"dataframe_records": st.lists(ROWISH | JSON, max_size=3)}),
                 st.fixed_dictionaries({"dataframe_split": st.fixed_dictionaries(
                     {"columns": st.lists(st.sampled_from(["clicks", "app", "hour"]) | JSON, max_size=3),
                      "data": st.lists(st.lists(JSON, max_size=3) | JSON, max_size=3)})}))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BODY, path=st.sampled_from(["/predict", "/invocations"]))
def test_no_json_body_gets_a_500(client: TestClient, body: Any, path: str) -> None:
    raw = json.dumps(body).encode()  # ints beyond 64 bits included: orjson reads them as floats
    r = client.post(path, content=raw, headers={"content-type": "application/json"})
    assert r.status_code in (200, 400, 422), (raw, r.text)
    if r.status_code != 200:
        assert set(r.json()["error"]) == {"code", "message", "details"}
