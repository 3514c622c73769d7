"""Python task targets for the executor tests; imported by fork children and warm workers."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from shoal.errors import TaskFailed


def echo(payload: dict[str, Any]) -> dict[str, Any]:
    print("hello from", os.getpid())
    print("##shoal:set from_line=line value")
    print("##shoal:set shared=from line")
    return {"echo": payload, "shared": "from return", "pid": os.getpid()}


def noop(payload: dict[str, Any]) -> dict[str, Any]:
    return {}


def boom(payload: dict[str, Any]) -> dict[str, Any]:
    raise ValueError("boom " + str(payload.get("n", "")))


def fail_cleanly(payload: dict[str, Any]) -> dict[str, Any]:
    raise TaskFailed("the input table is empty")


def not_json(payload: dict[str, Any]) -> dict[str, Any]:
    return {"when": object()}


def not_a_dict(payload: dict[str, Any]) -> Any:
    return [1, 2]


def environment(payload: dict[str, Any]) -> dict[str, Any]:
    """Reports what it sees, then dirties the process state a worker must restore."""
    seen = {
        "pid": os.getpid(),
        "cwd": os.getcwd(),
        "var": os.environ.get("SHOAL_TEST_VAR"),
        "path0": sys.path[0],
        "extra": os.environ.get("SHOAL_TEST_EXTRA"),
    }
    os.environ["SHOAL_TEST_EXTRA"] = "leaked"
    os.chdir("/")
    sys.path.insert(0, "/leaked")
    return seen


def sleep(payload: dict[str, Any]) -> dict[str, Any]:
    print("sleeping", flush=True)
    time.sleep(float(payload.get("seconds", 100)))
    return {}


def exit_code(payload: dict[str, Any]) -> dict[str, Any]:
    sys.exit(int(payload["code"]))


def hard_exit(payload: dict[str, Any]) -> dict[str, Any]:
    print("about to vanish", flush=True)
    os._exit(5)


def partial_output(payload: dict[str, Any]) -> dict[str, Any]:
    sys.stdout.write("no newline at the end")
    return {"ok": True}


def not_a_number(payload: dict[str, Any]) -> dict[str, Any]:
    return {"auc": float("nan"), "loss": float("inf")}


def leave_behind(payload: dict[str, Any]) -> dict[str, Any]:
    """Start a process that outlives this call, in the task's process group, and return its pid."""
    import subprocess

    child = subprocess.Popen(["sleep", "300"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return {"left": child.pid}


def has_modules(payload: dict[str, Any]) -> dict[str, Any]:
    """Which of `modules` this process had imported before the task began."""
    return {"had": {name: name in sys.modules for name in payload["modules"]}}


def whole_environment(payload: dict[str, Any]) -> dict[str, Any]:
    """The task process's whole environment, as outputs."""
    return {"env": dict(os.environ)}
