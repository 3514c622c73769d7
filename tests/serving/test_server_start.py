"""`shoal serve` checks and binds its address before it loads a model: a wrong or busy port is
one clear line and exit 2, before any "serving" banner."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from shoal.config import Settings
from shoal.errors import InvalidInput
from shoal.registry import Registry
from shoal.serving.server import bind, check_port
from tests.conftest import cli_runner
from tests.serving.conftest import free_port, start_server


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.mark.parametrize("port", [0, -1, 65536, 99999])
def test_a_port_outside_the_tcp_range_is_refused(port: int) -> None:
    with pytest.raises(InvalidInput, match=f"--port {port} is not a TCP port"):
        check_port(port)


def test_a_busy_port_is_named_with_what_to_do() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(InvalidInput, match=f"port {port} on 127.0.0.1 is already in use.*--port"):
            bind("127.0.0.1", port)


def test_an_unknown_host_is_refused() -> None:
    with pytest.raises(InvalidInput, match="--host 'no-such-host.invalid' is not an address"):
        bind("no-such-host.invalid", free_port())


def test_bind_listens_at_once_on_the_port_asked_for() -> None:
    sock = bind("127.0.0.1", free_port())
    try:
        port = sock.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # accepted by the kernel's backlog before any server runs
    finally:
        sock.close()


@pytest.mark.parametrize("args", [["--port", "99999"], ["--port", "0"]])
def test_shoal_serve_refuses_a_bad_port_before_loading(monkeypatch: pytest.MonkeyPatch, registry: Registry,
                                                       store_settings: Settings, tmp_path: Path,
                                                       args: list[str]) -> None:
    cli = cli_runner(monkeypatch, store_settings, tmp_path)
    r = cli("serve", "ctr", *args)
    assert r.exit_code == 2, r.output
    assert "not a TCP port" in r.output and "serving" not in r.output


@pytest.mark.parametrize("workers", ["1", "2"])
def test_shoal_serve_on_a_busy_port_exits_2_without_a_banner(registry: Registry, store_settings: Settings,
                                                             workers: str) -> None:
    env = {**os.environ, **store_settings.to_env(), **store_settings.store_env()}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "shoal.cli.main", "serve", "ctr", "--port", str(port),
                               "--workers", workers], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in done.stderr
    assert "serving" not in done.stdout + done.stderr and "Traceback" not in done.stderr


def test_shoal_serve_listens_on_the_port_its_banner_names(registry: Registry, store_settings: Settings,
                                                          tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    server = start_server(store_settings, port, log)
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
        assert f"on http://127.0.0.1:{port}" in log.read_text()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=15)
