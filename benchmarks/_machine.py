"""What every benchmark records about the machine and the code it measured."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def machine_facts(modules: Sequence[str] = ("shoal",), dirty_path: str | None = None) -> dict[str, Any]:
    """Cores, CPU, memory, load, the versions of `modules`, the commit (and whether `dirty_path` has edits)."""
    facts: dict[str, Any] = {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "loadavg_start": list(os.getloadavg()),
    }
    try:
        with open("/proc/cpuinfo") as f:
            facts["cpu"] = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), None)
        with open("/proc/meminfo") as f:
            facts["memory_kib"] = int(f.readline().split()[1])
    except OSError:
        pass
    for mod in modules:
        try:
            facts[f"{mod}_version"] = __import__(mod).__version__
        except (ImportError, AttributeError):
            facts[f"{mod}_version"] = None
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                             check=False, capture_output=True, text=True, timeout=10)
        facts["shoal_commit"] = rev.stdout.strip() or None
        if dirty_path is not None:
            dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", dirty_path],
                                   check=False, capture_output=True, text=True, timeout=10)
            facts[f"{dirty_path.replace('/', '_')}_dirty"] = bool(dirty.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        facts["shoal_commit"] = None
    return facts


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values (NaN for none)."""
    if not sorted_values:
        return math.nan
    k = max(0, min(len(sorted_values) - 1, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


def emit(result: dict[str, Any], path: Path, write: bool = True) -> str:
    """Print `result` as one JSON line on stdout and, if `write`, keep it at `path` (results/)."""
    line = json.dumps(result, separators=(",", ":"))
    if write:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(line + "\n")
        print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}", file=sys.stderr, flush=True)
    print(line, flush=True)
    return line


def timed_command(cmd: list[str], env: dict[str, str], timeout: float) -> float:
    """Milliseconds a fresh process of `cmd` takes from start to exit (in the repository, output
    captured); RuntimeError with the end of its stderr if it fails."""
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, timeout=timeout)
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    return elapsed


def anchor_venv(venv: Path, requirements: Sequence[str], log: Any) -> bool:
    """A venv of its own for an anchor system (Airflow, MLflow): created on first use, and the
    requirements installed again only when their list changed (a stamp file in the venv keeps
    the list installed). `log(msg)` reports progress. True if it installed anything."""
    import shutil

    py = venv / "bin" / "python"
    stamp = venv / ".bench-requirements"
    want = "\n".join(requirements) + "\n"
    if py.exists() and stamp.exists() and stamp.read_text() == want:
        return False
    if not py.exists():
        base = shutil.which("python3") or sys.executable
        log(f"creating the venv {venv} ({base} -m venv)")
        venv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([base, "-m", "venv", str(venv)], check=True, stdout=sys.stderr)
    log(f"installing {' '.join(requirements)} into it (first run only; a few minutes)")
    subprocess.run([str(py), "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off",
                    *requirements], check=True, stdout=sys.stderr, stderr=sys.stderr)
    stamp.write_text(want)
    return True
