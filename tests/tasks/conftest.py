"""Task-type tests run real workflows: reuse the engine tests' client / apply / run fixtures;
`server` is a real HTTP server on 127.0.0.1 for the `http` task."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.engine.conftest import apply_yaml, client, run_yaml, workdir

__all__ = ["HttpServer", "apply_yaml", "client", "run_yaml", "server", "workdir"]


class _Handler(BaseHTTPRequestHandler):
    """`/metrics?auc=X` -> {"data": {"auc": X}}; `/echo` -> the request back; `/status/N` -> N;
    `/binary` -> 500 with a body holding NUL bytes; `/redirect?to=P` -> 302 to P; `/slow?s=S` ->
    200 after S seconds."""

    server: HttpServer

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest's output clean
        pass

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        self.server.requests.append({
            "method": self.command, "path": url.path, "query": parse_qs(url.query), "body": raw.decode(),
            "content_type": self.headers.get("Content-Type"), "x_token": self.headers.get("X-Token"),
        })
        if url.path == "/metrics":
            auc = float(parse_qs(url.query).get("auc", ["0.81"])[0])
            self._reply(200, {"data": {"auc": auc, "model": "m1"}, "tags": ["a", "b"]})
        elif url.path == "/echo":
            self._reply(201, {"method": self.command, "echo": json.loads(raw) if raw else None})
        elif url.path == "/binary":
            data = b"\x00\x01\x02binary"
            self.send_response(500)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif url.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", parse_qs(url.query)["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/slow":
            time.sleep(float(parse_qs(url.query)["s"][0]))
            self._reply(200, {"slow": True})
        elif url.path.startswith("/status/"):
            self._reply(int(url.path.rsplit("/", 1)[1]), {"error": "as requested"})
        else:
            self._reply(404, {"error": f"no route {url.path}"})

    do_GET = do_POST = do_PUT = _handle


class HttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def server() -> Iterator[HttpServer]:
    srv = HttpServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=10)


