"""Request limits: a body over `max_body_bytes` or a request over `max_rows` gets a 413, early.

The limits do not touch the database, so these tests run on SQLite only.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from shoal.config import Settings
from shoal.errors import InvalidInput
from shoal.registry import Registry
from shoal.serving import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_ROWS, Limits, ModelWatcher, create_app
from tests.conftest import cli_runner
from tests.serving.conftest import free_port, start_server, uvicorn_in_thread

ROW = {"clicks": 30, "app": 3, "hour": 10.5}
ROW_BYTES = json.dumps(ROW).encode()


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def watcher(registry: Registry) -> ModelWatcher:
    return ModelWatcher(registry, "ctr", "production", poll=3600)


@pytest.fixture
def small_server(watcher: ModelWatcher) -> Iterator[str]:
    """A real uvicorn server whose limits are 2,048 bytes and 5 rows."""
    with uvicorn_in_thread(create_app(watcher, Limits(max_body_bytes=2048, max_rows=5))) as url:
        yield url


def rows_body(n: int) -> bytes:
    return json.dumps([ROW] * n).encode()


def invocations_body(n: int) -> bytes:
    return json.dumps({"dataframe_records": [ROW] * n}).encode()


def assert_too_large(r: httpx.Response, limit: str, maximum: int) -> dict[str, Any]:
    assert r.status_code == 413, r.text
    err = r.json()["error"]
    assert err["code"] == "payload_too_large"
    assert err["details"]["limit"] == limit and err["details"]["max"] == maximum
    assert err["details"]["value"] > maximum
    assert str(maximum) in err["message"] and f"--{limit.replace('_', '-')}" in err["message"]  # how to raise it
    return err


@pytest.mark.parametrize(("path", "make"), [("/predict", rows_body), ("/invocations", invocations_body)])
def test_a_body_over_the_limit_is_refused_by_its_content_length(small_server: str, path: str, make: Any) -> None:
    body = make(200)  # ~7 KB
    with httpx.Client(base_url=small_server) as client:
        r = client.post(path, content=body, headers={"content-type": "application/json"})
        err = assert_too_large(r, "max_body_bytes", 2048)
        assert err["details"]["value"] == len(body)
        # The connection is still good for the next request.
        assert client.post(path, content=make(1)).status_code == 200


@pytest.mark.parametrize(("path", "make"), [("/predict", rows_body), ("/invocations", invocations_body)])
def test_a_streamed_body_over_the_limit_is_refused(small_server: str, path: str, make: Any) -> None:
    body = make(200)
    sent = []

    def chunks() -> Iterator[bytes]:  # no Content-Length: Transfer-Encoding: chunked
        for start in range(0, len(body), 512):
            sent.append(start)
            yield body[start : start + 512]

    with httpx.Client(base_url=small_server) as client:
        r = client.post(path, content=chunks(), headers={"content-type": "application/json"})
        assert r.request.headers.get("transfer-encoding") == "chunked" and "content-length" not in r.request.headers
        assert_too_large(r, "max_body_bytes", 2048)
        # Under the limit, a streamed body is read whole and scored.
        small = make(3)
        r = client.post(path, content=iter([small[:10], small[10:]]), headers={"content-type": "application/json"})
        assert r.status_code == 200, r.text


def test_the_default_body_limit_refuses_a_9_mb_body(watcher: ModelWatcher) -> None:
    body = b"[" + b" " * (9 * 1024 * 1024) + b"{}]"
    with uvicorn_in_thread(create_app(watcher)) as url, httpx.Client(base_url=url, timeout=60) as client:
        r = client.post("/predict", content=body)
        assert_too_large(r, "max_body_bytes", DEFAULT_MAX_BODY_BYTES)
        assert client.post("/predict", content=ROW_BYTES).status_code == 200


def call_asgi(app: Any, path: str, chunk: bytes, chunks: int, content_length: int | None) -> tuple[int, int]:
    """POST a body of `chunks` x `chunk` straight to the ASGI app: (status, chunks the app read)."""
    read = 0
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        return {"type": "http.request", "body": chunk, "more_body": read < chunks}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    headers = [(b"content-type", b"application/json")]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": headers, "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8881)}
    asyncio.run(app(scope, receive, send))
    return status, read


@pytest.mark.parametrize("path", ["/predict", "/invocations"])
def test_a_body_is_never_read_past_the_limit(watcher: ModelWatcher, path: str) -> None:
    """A 60 MB body: refused from its Content-Length unread, or after the first 8 KB streamed."""
    app = create_app(watcher, Limits(max_body_bytes=8 * 1024))
    chunk = b" " * 1024
    status, read = call_asgi(app, path, chunk, chunks=60 * 1024, content_length=60 * 1024 * 1024)
    assert (status, read) == (413, 0)
    status, read = call_asgi(app, path, chunk, chunks=60 * 1024, content_length=None)
    assert (status, read) == (413, 9)  # the 9th KB crossed the limit


def split_body(n: int) -> bytes:
    return json.dumps({"dataframe_split": {"columns": list(ROW), "data": [list(ROW.values())] * n}}).encode()


@pytest.mark.parametrize(
    ("path", "make"), [("/predict", rows_body), ("/invocations", invocations_body), ("/invocations", split_body)]
)
def test_too_many_rows_get_413(watcher: ModelWatcher, path: str, make: Any) -> None:
    with TestClient(create_app(watcher, Limits(max_rows=5))) as client:
        err = assert_too_large(client.post(path, content=make(6)), "max_rows", 5)  # type: ignore[arg-type]
        assert err["details"]["value"] == 6 and "6 rows" in err["message"]
        r = client.post(path, content=make(5))
        assert r.status_code == 200, r.text


def test_the_limits_are_configurable_and_shown(watcher: ModelWatcher) -> None:
    with TestClient(create_app(watcher)) as client:
        assert client.get("/metadata").json()["limits"] == {"max_body_bytes": DEFAULT_MAX_BODY_BYTES,
                                                            "max_rows": DEFAULT_MAX_ROWS}
        assert client.post("/predict", json=[ROW] * 6).status_code == 200
    with TestClient(create_app(watcher, Limits(max_body_bytes=100_000, max_rows=2))) as client:
        assert client.get("/metadata").json()["limits"] == {"max_body_bytes": 100_000, "max_rows": 2}
        assert client.post("/predict", json=[ROW] * 3).status_code == 413
        assert client.post("/predict", json=[ROW] * 2).status_code == 200


@pytest.mark.parametrize("bad", [{"max_rows": 0}, {"max_body_bytes": -1}, {"max_rows": 2.5}, {"max_rows": True}])
def test_a_limit_must_be_a_positive_integer(bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput, match=next(iter(bad))):
        Limits(**bad)


def test_the_cli_defaults_are_the_servers() -> None:
    from shoal.cli.model import serve

    params = inspect.signature(serve).parameters
    assert params["max_body_bytes"].default == DEFAULT_MAX_BODY_BYTES == Limits().max_body_bytes
    assert params["max_rows"].default == DEFAULT_MAX_ROWS == Limits().max_rows


@pytest.mark.slow  # a real `shoal serve` process (6-16 s)
@pytest.mark.parametrize("workers", [1, 2])
def test_shoal_serve_takes_the_limits(registry: Registry, store_settings: Settings, tmp_path: Path,
                                      workers: int) -> None:
    """`--max-body-bytes` and `--max-rows` reach the server, and every worker process of `--workers`."""
    port = free_port()
    server = start_server(store_settings, port, tmp_path / "serve.log", workers,
                          extra=["--max-body-bytes", "2000", "--max-rows", "3"])
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(2 * workers):  # new connections: each may land on another worker
                assert client.get("/metadata").json()["limits"] == {"max_body_bytes": 2000, "max_rows": 3}
                assert_too_large(client.post("/predict", content=rows_body(4)), "max_rows", 3)
                assert_too_large(client.post("/predict", content=rows_body(60)), "max_body_bytes", 2000)
                assert client.post("/predict", content=rows_body(3)).status_code == 200
                client.close()
                client = httpx.Client(base_url=f"http://127.0.0.1:{port}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=15)


@pytest.mark.parametrize("option", ["--max-body-bytes", "--max-rows"])
def test_shoal_serve_refuses_a_limit_below_one(monkeypatch: pytest.MonkeyPatch, store_settings: Settings,
                                               tmp_path: Path, option: str) -> None:
    cli = cli_runner(monkeypatch, store_settings, tmp_path)
    r = cli("serve", "ctr", option, "0")
    assert r.exit_code == 2 and option in r.output
