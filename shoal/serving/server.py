"""Running a model server: check the address, bind it, then load the model and serve.

Binding comes first so that a wrong or busy port is found at once, with a message that says
what to change, before seconds of model loading and before any "serving" banner; uvicorn is
then handed the bound socket (one process) or shares it among its worker processes.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
from collections.abc import Callable

from shoal.errors import InvalidInput
from shoal.registry import Registry
from shoal.serving.body import Limits

MAX_PORT = 65535
BACKLOG = 2048  # uvicorn's default: bursts of clients wait in the kernel, not in a refusal


def check_port(port: int) -> int:
    """`port` if it can be a TCP port to listen on, else InvalidInput naming the range."""
    if not 1 <= port <= MAX_PORT:
        raise InvalidInput(f"--port {port} is not a TCP port: use a number from 1 to {MAX_PORT}")
    return port


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or InvalidInput saying why not and what to change."""
    check_port(port)
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise InvalidInput(f"--host {host!r} is not an address of this machine ({exc.strerror}): use an IP "
                           "address such as 127.0.0.1 or 0.0.0.0, or a resolvable name") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart at once after a stop
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise InvalidInput(f"port {port} on {host} is already in use (another shoal server?): stop "
                               "what listens there or choose another port with --port") from None
        if exc.errno == errno.EACCES:
            raise InvalidInput(f"no permission to listen on {host}:{port} (ports below 1024 need root): "
                               "choose a port from 1024 up with --port") from None
        raise InvalidInput(f"cannot listen on {host}:{port}: {exc.strerror or exc}; check --host and "
                           "--port") from None
    sock.set_inheritable(True)  # worker processes serve on the same socket
    return sock


def serve(registry: Registry, model: str, alias: str, *, host: str, port: int, poll: float, workers: int,
          limits: Limits, announce: Callable[[str], None]) -> None:
    """Serve `model@alias` until stopped: bind, load (and say what is served), answer requests."""
    if workers < 1:
        raise InvalidInput(f"--workers {workers} must be at least 1")
    sock = bind(host, port)
    # One request is one row (or a few): waking an OpenMP pool costs more than the trees, and a
    # spinning pool steals the core the event loop needs. Set before any ML library loads.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from shoal.serving.app import SERVE_ENV, server_app

    try:
        endpoints = "(POST /predict, /invocations; GET /health, /metadata)"
        if workers > 1:
            mv = registry.get(model, alias=alias)  # fail here, once, if there is nothing to serve
            announce(f"serving {model}@{alias} = version {mv.version} ({mv.flavor}) on http://{host}:{port}"
                     f" with {workers} worker processes  {endpoints}")
            os.environ[SERVE_ENV] = json.dumps({"model": model, "alias": alias, "poll": poll,
                                                "project": registry.project, "max_body_bytes": limits.max_body_bytes,
                                                "max_rows": limits.max_rows})
            config = uvicorn.Config("shoal.serving.app:app_from_env", factory=True, workers=workers, host=host,
                                    port=port, log_level="warning", access_log=False)
            Multiprocess(config, sockets=[sock]).run()
            return

        watcher, app = server_app(registry, model, alias, poll, limits)
        mv = watcher.current.version
        announce(f"serving {model}@{alias} = version {mv.version} ({mv.flavor}) on http://{host}:{port}  {endpoints}")
        try:
            uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False)).run(sockets=[sock])
        finally:
            watcher.stop()
    except BaseException:
        sock.close()  # a model that cannot be served: free the port at once (and in tests, the fd)
        raise
    # The loaded models are frozen out of the collector: skip tearing them down one by one (and
    # DuckDB's nanobind reporting them as leaks) on the way out.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


__all__ = ["bind", "check_port", "serve"]
