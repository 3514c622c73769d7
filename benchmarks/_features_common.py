"""Helpers shared by features_offline.py and features_online.py (stdlib + what shoal needs)."""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import _machine  # noqa: E402

REPO = BENCH.parent
RESULTS = BENCH / "results"
# Generated data is cached outside the repository, keyed by its size and generator version.
DATA_DIR = Path(os.environ.get("SHOAL_BENCH_DATA", Path(tempfile.gettempdir()) / "shoal-bench-features"))


def logger(name: str):  # type: ignore[no-untyped-def]
    def log(msg: str) -> None:
        print(f"[{name} {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    return log


def machine_facts() -> dict[str, Any]:
    return _machine.machine_facts(
        ("shoal", "duckdb", "sqlglot", "redis", "pandas", "numpy"), dirty_path="shoal/features"
    )


def latency_summary(ms: list[float]) -> dict[str, Any]:
    s = sorted(ms)
    return {
        "n": len(s),
        "p50_ms": round(_machine.percentile(s, 50), 4),
        "p90_ms": round(_machine.percentile(s, 90), 4),
        "p99_ms": round(_machine.percentile(s, 99), 4),
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
