"""Helpers shared by features_offline.py and features_online.py (stdlib + what shoal needs)."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
# Generated data is cached outside the repository, keyed by its size and generator version.
DATA_DIR = Path(os.environ.get("SHOAL_BENCH_DATA", Path(tempfile.gettempdir()) / "shoal-bench-features"))


def logger(name: str):  # type: ignore[no-untyped-def]
    def log(msg: str) -> None:
        print(f"[{name} {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    return log


def machine_facts() -> dict[str, Any]:
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
    for mod in ("shoal", "duckdb", "sqlglot", "redis", "pandas", "numpy"):
        try:
            facts[f"{mod}_version"] = __import__(mod).__version__
        except (ImportError, AttributeError):
            facts[f"{mod}_version"] = None
    try:
        rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                             check=False, capture_output=True, text=True, timeout=10)
        facts["shoal_commit"] = rev.stdout.strip() or None
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "shoal/features"],
                               check=False, capture_output=True, text=True, timeout=10)
        facts["shoal_features_dirty"] = bool(dirty.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        facts["shoal_commit"] = None
    return facts


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return math.nan
    k = max(0, min(len(sorted_values) - 1, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


def latency_summary(ms: list[float]) -> dict[str, Any]:
    s = sorted(ms)
    return {
        "n": len(s),
        "p50_ms": round(percentile(s, 50), 4),
        "p90_ms": round(percentile(s, 90), 4),
        "p99_ms": round(percentile(s, 99), 4),
        "max_ms": round(s[-1], 4) if s else None,
        "mean_ms": round(statistics.fmean(s), 4) if s else None,
    }


def write_result(name: str, result: dict[str, Any], log) -> None:  # type: ignore[no-untyped-def]
    result["machine"]["loadavg_end"] = list(os.getloadavg())
    line = json.dumps(result, separators=(",", ":"), default=str)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(line + "\n")
    print(line, flush=True)
    log(f"wrote {path.relative_to(REPO)}")
