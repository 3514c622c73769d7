"""`shoal api` and `shoal server`: the REST API on uvicorn, alone or with a scheduler beside it.

The address is checked and bound before anything else starts, with the model server's checks
(a port out of range, busy, or a host that is not this machine's is one clear error). `shoal
server` is the embedded default in one command: the API here and `shoal scheduler` (which runs
the local executor) as a child process on the same database, in its own session; when the API
stops (Ctrl+C, SIGTERM) it tells the scheduler to stop as SIGTERM does, and waits for it; if it
is killed outright, the kernel sends the scheduler SIGTERM (Linux's parent-death signal).

`workers` > 1 serves the one socket from that many API processes (uvicorn's supervisor, which
replaces a worker that dies): a Python process answers on one core, so a busy API wants one
per core. The workers open the store from the environment (`app_from_env`) and, like the
scheduler, get SIGTERM if the parent is killed.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from shoal import services

SCHEDULER_EXTRA_WAIT = 15.0  # seconds past the stop grace before a scheduler that will not stop is killed


def serve_api(store: services.Store, *, host: str, port: int, announce: Callable[[str], None],
              workers: int = 1) -> None:
    """Answer API requests on host:port until stopped (Ctrl+C, SIGTERM)."""
    sock = _bind(host, port)
    try:
        _run(store, sock, host, port, announce, workers)
    finally:
        sock.close()


def serve_with_scheduler(store: services.Store, *, host: str, port: int, announce: Callable[[str], None],
                         workers: int = 1) -> None:
    """The API and a scheduler until stopped; the scheduler drains (running tasks get
    SHOAL_STOP_GRACE_SECONDS to finish) before this returns."""
    sock = _bind(host, port)
    env = {**os.environ, **store.settings.to_env(), **store.settings.store_env()}
    # Its own session: a Ctrl+C reaches this process only, which tells the scheduler once.
    scheduler = subprocess.Popen([sys.executable, "-m", "shoal.cli.entry", "scheduler"], env=env,
                                 start_new_session=True, preexec_fn=_stop_with_parent)
    try:
        _run(store, sock, host, port, announce, workers)
    finally:
        sock.close()
        _stop(scheduler, store.settings.stop_grace_seconds + SCHEDULER_EXTRA_WAIT)


def _stop_with_parent() -> None:
    """In the scheduler (or an API worker), before it starts: on Linux, get SIGTERM (and drain)
    when `shoal server` dies without stopping it (kill -9), instead of driving runs on behind a
    dead API. Called before any thread of ours starts, as preexec_fn requires."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _stop(scheduler: subprocess.Popen[bytes], within: float) -> None:
    """Stop the scheduler as SIGTERM does (it drains); kill it after `within` seconds, or at a
    second Ctrl+C."""
    if scheduler.poll() is None:
        scheduler.send_signal(signal.SIGTERM)
    try:
        scheduler.wait(timeout=within)
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        scheduler.kill()
        scheduler.wait()


def _bind(host: str, port: int) -> socket.socket:
    from shoal._extras import imports_of

    with imports_of("`shoal api`"):
        from shoal.serving.server import bind
    return bind(host, port)


def _run(store: services.Store, sock: socket.socket, host: str, port: int, announce: Callable[[str], None],
         workers: int) -> None:
    from shoal._extras import imports_of

    with imports_of("`shoal api`"):
        import uvicorn
        from uvicorn.supervisors import Multiprocess

        from shoal.api.app import create_app
    where = f"http://{host}:{port}"
    try:
        if workers > 1:
            # The workers are new interpreters (spawned): they find the database as this one did.
            os.environ.update({**store.settings.to_env(), **store.settings.store_env()})
            config = uvicorn.Config(f"{__name__}:app_from_env", factory=True, workers=workers, log_level="warning")
            announce(f"shoal API on {where}/api/v1, {workers} workers  (OpenAPI: {where}/docs)")
            Multiprocess(config, sockets=[sock]).run()
        else:
            app = create_app(store)
            tune_for_serving()
            announce(f"shoal API on {where}/api/v1  (OpenAPI: {where}/docs)")
            uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn stops on Ctrl+C, then raises it again: it is how a server ends
        pass
    announce("shoal API stopped")


def app_from_env() -> Any:
    """The app of one of `workers` API processes: the store the environment names."""
    from shoal.api.app import create_app
    from shoal.store import open_store

    _stop_with_parent()
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:
        # The supervisor died before the line above could ask to hear of it: nobody will stop
        # this worker, so it does not start.
        raise SystemExit("shoal api: the supervisor of this worker is gone")
    app = create_app(open_store())
    tune_for_serving()
    return app


def tune_for_serving() -> None:
    """The interpreter of an API process, once its app is built. A request's thread waits on the
    database with the GIL released; when the answer comes it waits again for the GIL, up to the
    switch interval (5 ms by default) while another thread runs Python: at 0.5 ms the API's p99
    under 8 clients dropped by about a third (benchmarks/api.py). And what the app built at
    start (routes, schemas, models) is moved out of the collector's way for good (gc.freeze),
    so that no request pays for walking it."""
    import gc

    sys.setswitchinterval(0.0005)
    gc.collect()
    gc.freeze()


__all__ = ["app_from_env", "serve_api", "serve_with_scheduler"]
