"""`shoal server` as a new user starts it: one command gives the API and a scheduler; a workflow
applied and started over HTTP runs to success; Ctrl+C (SIGINT to the process group) stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import wait_until
from tests.serving.conftest import free_port

pytestmark = pytest.mark.slow  # real processes: seconds


def test_shoal_server_runs_what_the_api_starts_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOAL_")}
    env["SHOAL_HOME"] = str(tmp_path / "home")
    log = tmp_path / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "shoal.cli.entry", "server", "--port", str(port)], env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=tmp_path)
    try:
        def started() -> str | None:
            assert proc.poll() is None, log.read_text()
            text = log.read_text()
            return text if "shoal API on" in text and "scheduler" in text and " started" in text else None

        text = wait_until(started, 60, log.read_text, interval=0.1)
        token = next(line for line in text.splitlines() if line.startswith("shoal_"))
        api = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"})
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
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
