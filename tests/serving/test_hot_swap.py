"""Releasing a new version under load: the real `shoal serve` process swaps with no failed request."""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from shoal.config import Settings
from shoal.registry import Registry
from shoal.store import open_store
from tests.conftest import wait_until
from tests.serving.conftest import free_port, save_bundle, start_server

pytestmark = pytest.mark.slow  # real `shoal serve` processes under load while releases happen

ROW = json.dumps({"clicks": 30, "app": 3, "hour": 10.5}).encode()


class Load:
    """Threads posting /predict on keep-alive connections, recording (status, version) in order."""

    def __init__(self, port: int, threads: int = 4) -> None:
        self.port = port
        self.stop = threading.Event()
        self.seen: list[list[tuple[int, int | None, float]]] = [[] for _ in range(threads)]
        self.errors: list[str] = []
        self.threads = [threading.Thread(target=self.loop, args=(i,)) for i in range(threads)]

    def loop(self, i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        while not self.stop.is_set():
            try:
                conn.request("POST", "/predict", ROW, {"Content-Type": "application/json"})
                r = conn.getresponse()
                body = r.read()
                version = json.loads(body).get("version") if r.status == 200 else None
                self.seen[i].append((r.status, version, time.monotonic()))
            except (OSError, http.client.HTTPException) as e:  # a dropped connection is a failed request
                self.errors.append(f"thread {i}: {type(e).__name__}: {e}")
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def all_saw(self, version: int) -> bool:
        return all(any(v == version for _, v, _ in s) for s in self.seen)

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=15)


@pytest.mark.parametrize(
    ("backend", "workers"), [("sqlite", 1), ("postgresql", 1), ("sqlite", 2)], indirect=["backend"]
)
def test_release_under_load_fails_no_request(store_settings: Settings, tmp_path: Path, workers: int) -> None:
    """Every worker process swaps on its own; each keep-alive connection stays on one worker."""
    store = open_store(store_settings)
    registry = Registry(store)
    for seed in (0, 1):
        registry.register("ctr", save_bundle(tmp_path / f"b{seed}", seed=seed, trees=50))
    registry.release("ctr", 1)
    port = free_port()
    server = start_server(store_settings, port, tmp_path / "serve.log", workers)
    if workers > 1:
        import psutil

        children = [" ".join(c.cmdline()) for c in psutil.Process(server.pid).children()]
        assert len([c for c in children if "resource_tracker" not in c]) == workers, children  # uvicorn's workers
    try:
        with Load(port) as load:
            wait_until(lambda: all(len(s) >= 20 for s in load.seen), 30, "the load never got going", 0.02)
            released = time.monotonic()
            registry.release("ctr", 2)
            wait_until(lambda: load.all_saw(2), 30, "the server never switched to version 2", 0.02)
            first_v2 = min(t for s in load.seen for _, v, t in s if v == 2)
            time.sleep(0.3)
            # ...and back, by rollback, still under load.
            registry.rollback("ctr")
            wait_until(lambda: all(s[-1][1] == 1 for s in load.seen), 30, "rollback was not followed", 0.02)
            time.sleep(0.2)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=15)
        store.close()
    assert load.errors == []
    responses = [r for s in load.seen for r in s]
    assert len(responses) > 100
    assert {status for status, _, _ in responses} == {200}
    assert {v for _, v, _ in responses} == {1, 2}
    for s in load.seen:  # each client sees 1 ... 1, 2 ... 2, 1 ... 1: never an old version after the swap
        versions = [v for _, v, _ in s]
        changes = [b for a, b in zip(versions, versions[1:], strict=False) if a != b]
        assert changes == [2, 1], changes
    print(f"\n{workers} worker(s): {len(responses)} requests, 0 failed; release -> first v2 response: "
          f"{(first_v2 - released) * 1000:.0f} ms (poll 100 ms)")
