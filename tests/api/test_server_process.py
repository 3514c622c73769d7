"""`shoal server` as a new user starts it: one command gives the API and a scheduler; a workflow
applied and started over HTTP runs to success; a run's changes and a task's log lines arrive
as server-sent events; Ctrl+C (SIGINT to the process group) stops both."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.api.conftest import Server
from tests.conftest import wait_until

pytestmark = pytest.mark.slow  # real processes: seconds


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(tmp_path_factory.mktemp("server"))
    yield s
    s.kill()


def events(api: httpx.Client, path: str) -> list[tuple[str, Any]]:
    """Every server-sent event of a stream, until the server ends it."""
    got: list[tuple[str, Any]] = []
    with api.stream("GET", path) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[len("event: "):]
            elif line.startswith("data: "):
                got.append((name, json.loads(line[len("data: "):])))
    return got


def test_a_run_and_its_log_followed_live_over_server_sent_events(server: Server) -> None:
    api = server.api
    wf = ("name: slow\ntasks:\n  - {name: a, type: shell, command: 'echo one; sleep 1; echo two'}\n"
          "  - {name: b, type: shell, command: 'echo three', upstream: [a]}\n")
    assert api.post("/api/v1/workflows", json={"content": wf}).status_code == 201
    run_id = api.post("/api/v1/runs", json={"workflow": "slow"}).json()["id"]
    seen = events(api, f"/api/v1/projects/default/runs/{run_id}/events")
    kinds = [k for k, _ in seen]
    assert kinds[0] == "run" and kinds[-1] == "end", kinds
    assert seen[-2][0] == "run" and seen[-2][1]["state"] == "success"
    tasks = [(d["task"], d["state"]) for k, d in seen if k == "task"]
    assert ("a", "running") in tasks and ("a", "success") in tasks and ("b", "success") in tasks, tasks
    assert tasks.index(("a", "success")) < tasks.index(("b", "success"))
    # The log of a task that has ended: its lines, then the end.
    lines = events(api, f"/api/v1/projects/default/runs/{run_id}/tasks/a/log/follow")
    texts = [d["text"] for k, d in lines if k == "line"]
    assert any(t.endswith("] one") for t in texts) and any(t.endswith("] two") for t in texts), texts
    assert lines[0] == ("attempt", {"attempt": 1}) and lines[-1] == ("end", {})
    # Followed while it runs: the lines arrive as written.
    run2 = api.post("/api/v1/runs", json={"workflow": "slow"}).json()["id"]
    live = events(api, f"/api/v1/projects/default/runs/{run2}/tasks/a/log/follow")
    assert [t for t in (d.get("text", "") for _, d in live) if t.endswith(("] one", "] two"))], live
    missing = api.get(f"/api/v1/projects/default/runs/{run_id}/tasks/nope/log/follow")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    unknown = api.get("/api/v1/projects/default/runs/99999/events")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    anon = httpx.get(f"http://127.0.0.1:{server.port}/api/v1/projects/default/runs/{run_id}/events")
    assert anon.status_code == 401


def test_shoal_server_runs_what_the_api_starts_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    server = Server(tmp_path)
    proc, log, api = server.proc, server.log, server.api
    try:
        wf = "name: hi\ntasks:\n  - {name: a, type: shell, command: 'echo \"$X\"', env: {X: '${x}'}}\nparams: {x: ''}\n"
        assert api.post("/api/v1/workflows", json={"content": wf}).status_code == 201
        run = api.post("/api/v1/runs", json={"workflow": "hi", "params": {"x": "$(touch pwned)"}}).json()

        def ended() -> dict | None:
            info = api.get(f"/api/v1/projects/default/runs/{run['id']}").json()
            return info if info["state"] in ("success", "failed") else None

        assert wait_until(ended, 60, log.read_text)["state"] == "success"
        assert not (tmp_path / "pwned").exists()  # the parameter reached the task as text
        children = psutil.Process(proc.pid).children(recursive=True)
        assert children, "no scheduler process"
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl+C in the terminal
        assert proc.wait(timeout=60) == 0, log.read_text()
        text = log.read_text()
        assert "scheduler stopped" in text and "shoal API stopped" in text and text.count("stopping:") == 1, text
        _, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, f"outlived `shoal server`: {alive}"
    finally:
        server.kill()


def test_a_killed_server_takes_its_scheduler_with_it(tmp_path: Path) -> None:
    server = Server(tmp_path)
    try:
        children = psutil.Process(server.proc.pid).children(recursive=True)
        assert children, "no scheduler process"
        server.proc.kill()  # kill -9: no chance to stop the scheduler itself
        server.proc.wait()
        _, alive = psutil.wait_procs(children, timeout=60)
        for child in alive:  # not to leave it behind when the assertion fails
            child.kill()
        assert not alive, f"outlived a killed `shoal server`: {alive}"
    finally:
        server.kill()


def _workers(server: Server) -> list[psutil.Process]:
    """The live API worker processes of a `shoal server --workers N` (not its scheduler)."""
    found = []
    for p in psutil.Process(server.proc.pid).children():
        try:
            command = " ".join(p.cmdline())
        except psutil.Error:  # ended (a zombie until its parent reaps it)
            continue
        if "scheduler" not in command and "resource_tracker" not in command:
            found.append(p)
    return found


def _ended(p: psutil.Process) -> bool:
    """Gone, or a zombie: it has ended, whether or not its new parent reaps it."""
    try:
        return p.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _both_workers(server: Server) -> list[psutil.Process]:
    def both() -> list[psutil.Process] | None:
        found = _workers(server)
        return found if len(found) == 2 else None

    return wait_until(both, 60, lambda: str(_workers(server)))


def test_api_workers_share_the_port_are_replaced_and_stop_with_the_server(tmp_path: Path) -> None:
    """`--workers 2`: two API processes answer on the one port; one killed is replaced; Ctrl+C
    stops them all, and a server killed with -9 takes them with it."""
    server = Server(tmp_path, "--workers", "2")
    try:
        assert "2 workers" in server.log.read_text()
        first = _both_workers(server)
        for _ in range(20):  # a new connection each: any worker may take it
            with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", headers=server.api.headers) as c:
                assert c.get("/api/v1/whoami").json()["user"] == "admin"
        first[0].kill()  # one worker dies: the supervisor starts another
        wait_until(lambda: len(w := _workers(server)) == 2 and first[0] not in w, 60, lambda: str(_workers(server)))
        assert server.api.get("/api/v1/whoami").status_code == 200
        os.killpg(server.proc.pid, signal.SIGINT)  # Ctrl+C in the terminal
        assert server.proc.wait(timeout=60) == 0, server.log.read_text()
        assert "shoal API stopped" in server.log.read_text()
    finally:
        server.kill()

    (tmp_path / "again").mkdir()
    server = Server(tmp_path / "again", "--workers", "2")
    try:
        workers = _both_workers(server)
        server.proc.kill()  # kill -9 of the supervisor
        server.proc.wait()
        wait_until(lambda: all(map(_ended, workers)), 60,
                   lambda: f"API workers outlived a killed `shoal server`: {workers}")
    finally:
        server.kill()
