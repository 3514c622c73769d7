"""Small real models for registry and serving tests (trained in a second), and a real HTTP server."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shoal.config import Settings
from shoal.ml.bundle import build_bundle
from shoal.ml.preprocess import Pipeline
from shoal.ml.train import train
from shoal.registry import Registry
from shoal.store import Store
from tests.conftest import wait_until
from tests.features.conftest import talkingdata_csv  # noqa: F401 - a fixture for the feature-set model

COLUMNS = ["clicks", "app", "hour"]


def frame(rows: int = 600, seed: int = 0) -> pd.DataFrame:
    """A learnable binary problem: many clicks and app 3 mean an install."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "clicks": rng.integers(0, 50, rows).astype(np.int64),
        "app": rng.integers(0, 6, rows).astype(np.int64),
        "hour": rng.uniform(0, 24, rows),
    })
    logit = 0.1 * df["clicks"] - 3 + 2.0 * (df["app"] == 3)
    df["label"] = (rng.uniform(size=rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return df


def save_bundle(directory: Path, *, trees: int = 10, seed: int = 0, steps: list[dict] | None = None) -> Path:
    """Train a small xgboost model (with a log step on clicks by default) and save its bundle."""
    df = frame(seed=seed)
    pipeline = Pipeline(steps if steps is not None else [{"type": "log", "columns": ["clicks"]}], COLUMNS).fit(df)
    result = train("xgboost", pipeline.transform(df), df["label"].to_numpy(float),
                   params={"num_boost_round": trees, "max_depth": 3}, seed=seed,
                   feature_names=pipeline.output_columns)
    bundle = build_bundle(result, algorithm="xgboost", label="label", frame=df, pipeline=pipeline)
    bundle.save(directory)
    return directory


@pytest.fixture
def registry(store: Store, tmp_path: Path) -> Registry:
    """Model `ctr` with versions 1 and 2 (different seeds), `production` on version 1."""
    reg = Registry(store)
    for seed in (0, 1):
        reg.register("ctr", save_bundle(tmp_path / f"b{seed}", seed=seed), metrics={"auc": 0.8 + seed / 100})
    reg.release("ctr", 1)
    return reg


@contextmanager
def uvicorn_in_thread(app: Any) -> Iterator[str]:
    """`app` behind a real uvicorn server on a free loopback port, in a thread; yields its base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    try:

        def started() -> bool:
            assert thread.is_alive(), "uvicorn stopped before it started"
            return bool(server.started)

        wait_until(started, 30, "uvicorn did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(settings: Settings, port: int, log: Path, workers: int = 1,
                 extra: Sequence[str] = ()) -> subprocess.Popen[bytes]:
    """`shoal serve ctr` (`extra`: more options) in its own session, once it answers /health."""
    env = {**os.environ, **settings.to_env(), **settings.store_env(), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "shoal.cli.main", "serve", "ctr", "--port", str(port), "--poll", "0.1",
           "--workers", str(workers), *extra]
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)

    def answers_health() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"shoal serve exited with {proc.returncode}:\n{log.read_text()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/health")
            return conn.getresponse().status == 200
        except OSError:  # not listening yet
            return False

    try:
        wait_until(answers_health, 60, log.read_text, interval=0.1)
    except BaseException:
        proc.kill()
        raise
    return proc
