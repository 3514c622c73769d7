"""One large request must not stall the others: scoring it runs off the event loop.

A real uvicorn server (in a thread) and real concurrent HTTP requests. The large request is held
inside its scoring by a gate until the small one has been answered, so the tests assert an
order of events, never a duration: with scoring on the event loop, the small request could only
be answered after the large one (when the gate gives up waiting).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from shoal.registry import Registry
from shoal.serving import LoadedModel, ModelWatcher, create_app
from shoal.serving.app import LARGE_AT_ONCE
from tests.conftest import wait_until
from tests.serving.conftest import uvicorn_in_thread

ROW = {"clicks": 30, "app": 3, "hour": 10.5}
# Only the failing case waits this long: the gate gives up, and the large request goes on.
GATE_TIMEOUT = 20


@pytest.fixture
def backend() -> str:
    return "sqlite"


class Gate:
    """Wraps a loaded model: scoring three rows or more waits until the test opens the gate."""

    def __init__(self, model: LoadedModel) -> None:
        self.model = model
        self.entered = threading.Event()
        self.opened = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def score(self, rows: Sequence[Any]) -> list[float]:
        if len(rows) >= 3:
            self.entered.set()
            self.opened.wait(GATE_TIMEOUT)
        return self.model.score(rows)


@pytest.fixture
def gated_app(registry: Registry) -> Iterator[tuple[str, ModelWatcher, Gate, Any]]:
    watcher = ModelWatcher(registry, "ctr", "production", poll=3600)
    gate = Gate(watcher.current)
    watcher.current = gate  # type: ignore[assignment]
    app = create_app(watcher)
    with uvicorn_in_thread(app) as url:
        yield url, watcher, gate, app


@pytest.fixture
def gated(gated_app: tuple[str, ModelWatcher, Gate, Any]) -> tuple[str, ModelWatcher, Gate]:
    return gated_app[:3]


def post(url: str, path: str, body: Any) -> httpx.Response:
    with httpx.Client(base_url=url, timeout=120) as client:
        return client.post(path, content=json.dumps(body).encode(), headers={"content-type": "application/json"})


def split(n: int) -> dict[str, Any]:
    return {"dataframe_split": {"columns": list(ROW), "data": [[i % 50, 3, 10.5] for i in range(n)]}}


LARGE = {  # a small body of several rows is scored in a thread; a large body is parsed there too
    "predict-3": ("/predict", [ROW] * 3, 3),
    "predict-5000": ("/predict", [{**ROW, "clicks": i % 50} for i in range(5000)], 5000),
    "records-3": ("/invocations", {"dataframe_records": [ROW] * 3}, 3),
    "split-5000": ("/invocations", split(5000), 5000),
}


@pytest.mark.parametrize(("path", "large", "rows"), LARGE.values(), ids=LARGE.keys())
def test_a_small_request_is_answered_while_a_large_one_is_scored(
    gated: tuple[str, ModelWatcher, Gate], path: str, large: Any, rows: int
) -> None:
    url, _, gate = gated
    done: list[str] = []

    def request(name: str, body: Any) -> httpx.Response:
        r = post(url, path, body)
        done.append(name)
        return r

    with ThreadPoolExecutor(2) as pool:
        big = pool.submit(request, "large", large)
        assert gate.entered.wait(60), "the large request never reached scoring"
        small = pool.submit(request, "small", ROW if path == "/predict" else {"dataframe_records": [ROW]})
        small_answer = small.result(timeout=120)
        gate.opened.set()  # the large request may finish now
        big_answer = big.result(timeout=120)
    assert done == ["small", "large"]
    assert small_answer.status_code == 200 and big_answer.status_code == 200, (small_answer.text, big_answer.text)
    assert len(big_answer.json()["scores" if path == "/predict" else "predictions"]) == rows


def test_a_large_request_keeps_the_version_it_started_with(gated: tuple[str, ModelWatcher, Gate],
                                                            registry: Registry) -> None:
    """A swap while a large request is being scored in a thread: it still answers with one version."""
    url, watcher, gate = gated
    rows = [{**ROW, "clicks": i % 50, "app": i % 6} for i in range(2000)]
    with ThreadPoolExecutor(1) as pool:
        big = pool.submit(post, url, "/predict", rows)
        assert gate.entered.wait(60)
        registry.release("ctr", 2)
        assert watcher.check()  # version 2 is served from now on...
        assert post(url, "/predict", ROW).json()["version"] == 2
        gate.opened.set()
        answer = big.result(timeout=120).json()
    assert answer["version"] == 1  # ...but the request that started on version 1 is scored by it
    v1 = registry.load(registry.get("ctr", version=1))
    v2 = registry.load(registry.get("ctr", version=2))
    assert answer["scores"] == pytest.approx([float(s) for s in v1.predict_rows(rows)], abs=1e-7)
    assert answer["scores"] != pytest.approx([float(s) for s in v2.predict_rows(rows)], abs=1e-7)


def test_many_concurrent_requests_each_get_their_own_answer(registry: Registry) -> None:
    """Requests scored in worker threads at once never mix up each other's rows."""
    watcher = ModelWatcher(registry, "ctr", "production", poll=3600)
    bundle = registry.load(registry.get("ctr", version=1))
    bodies = [[{**ROW, "clicks": (i + j) % 50, "app": i % 6} for j in range(1 + 40 * (i % 3))] for i in range(24)]
    with uvicorn_in_thread(create_app(watcher)) as url, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda body: post(url, "/predict", body), bodies))
    for body, answer in zip(bodies, answers, strict=True):
        assert answer.status_code == 200, answer.text
        assert answer.json()["scores"] == pytest.approx([float(s) for s in bundle.predict_rows(body)], abs=1e-7)


def test_large_bodies_are_scored_a_few_at_a_time(gated_app: tuple[str, ModelWatcher, Gate, Any]) -> None:
    """More large bodies than LARGE_AT_ONCE wait their turn; small requests do not wait behind them."""
    url, _, gate, app = gated_app
    large = [{**ROW, "clicks": i % 50} for i in range(500)]  # ~18 KB: parsed and scored in a thread
    n = LARGE_AT_ONCE + 2
    with ThreadPoolExecutor(n) as pool:
        answers = [pool.submit(post, url, "/predict", large) for _ in range(n)]
        limiter = app.state.large_bodies
        wait_until(lambda: (limiter.borrowed_tokens, limiter.statistics().tasks_waiting) == (LARGE_AT_ONCE, 2),
                   60, lambda: str(limiter.statistics()))  # a safety net: it returns as soon as all have arrived
        assert post(url, "/predict", ROW).status_code == 200
        assert post(url, "/predict", [ROW] * 2).status_code == 200  # a small batch: not behind the large ones
        gate.opened.set()
        assert [a.result(timeout=120).status_code for a in answers] == [200] * n
