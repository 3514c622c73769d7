"""A driver killed with SIGKILL: its executor kills what still runs, records everything, exits."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil

from .conftest import HERE, kill_session_leftovers, wait_gone

DRIVER = textwrap.dedent(
    """
    import json, sys, time
    import psutil
    from shoal.executors.base import Launch
    from shoal.executors.local import LocalExecutor

    out, here = sys.argv[1], sys.argv[2]
    ex = LocalExecutor(preload=[], workers=1, kill_grace=0.5).start()

    def launch(name, **fields):
        return Launch(key=f"{name}:1", log_path=f"{out}/{name}.log", result_path=f"{out}/{name}.json", **fields)

    def wait_exited(pid):
        while True:
            try:
                if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                    return
            except psutil.NoSuchProcess:
                return
            time.sleep(0.005)

    pids = {}
    # Exited before the crash, never polled: must keep its true (successful) result.
    pids["done"] = ex.submit(launch("done", kind="command", argv=["sh", "-c", "echo finished"]))
    # Exited too, but a grandchild still holds its output pipe: also a true result.
    pids["lingering"] = ex.submit(launch("lingering", kind="command", argv=["sh", "-c", "sleep 30 & exit 0"]))
    wait_exited(pids["done"])
    wait_exited(pids["lingering"])
    pids["sleeping"] = ex.submit(launch("sleeping", kind="command", argv=["sh", "-c", "sleep 100 & sleep 100"]))
    pids["fork"] = ex.submit(launch("fork", kind="python", target="targets:sleep", sys_path=[here]))
    pids["worker"] = ex.submit(launch("worker", kind="python", target="targets:sleep", sys_path=[here],
                                      isolation="worker"))
    print(json.dumps({"server": ex.server_pid, "pids": pids}), flush=True)
    time.sleep(100)
    """
)


def test_sigkilled_driver_leaves_exact_result_files(tmp_path: Path) -> None:
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(tmp_path), HERE], stdout=subprocess.PIPE, text=True
    )
    try:
        assert driver.stdout is not None
        info = json.loads(driver.stdout.readline())
        pids: dict[str, int] = info["pids"]
        server = psutil.Process(info["server"])
        running = [psutil.Process(pids[name]) for name in ("sleeping", "fork", "worker")]
        running += psutil.Process(pids["sleeping"]).children(recursive=True)
        driver.send_signal(signal.SIGKILL)
        driver.wait()
        assert not wait_gone([server], timeout=10), "the executor did not exit after its driver died"
    finally:
        driver.kill()
        driver.wait()
        if driver.stdout is not None:
            driver.stdout.close()

    assert not wait_gone(running), "attempts of the dead driver are still running"
    results = {name: json.loads((tmp_path / f"{name}.json").read_text()) for name in pids}
    for name in ("done", "lingering"):
        assert (results[name]["exit_code"], results[name]["killed"], results[name]["error"]) == (
            0,
            False,
            None,
        )
    for name in ("sleeping", "fork", "worker"):
        assert results[name]["killed"] is True, results[name]
        assert results[name]["error"] == "driver exited"
        assert results[name]["pid"] == pids[name]
    assert "finished" in (tmp_path / "done.log").read_text()
    assert "driver exited" in (tmp_path / "sleeping.log").read_text().splitlines()[-1]
    kill_session_leftovers(pids["lingering"])  # its `sleep 30` outlives it by design
