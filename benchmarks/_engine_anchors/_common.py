"""The one timing method shared by engine_overhead.py and the anchor scripts (stdlib only).

Per-task time of a tool on a shape = (wall time of an N-task run - wall time of a 1-task run of
the same shape and task kind) / (N - 1), both runs in the same warm process: the tool's fixed
per-run cost (flow/job/workflow start and finish) cancels out and what is left is the marginal
cost of one more task. Each repetition yields one such figure; the reported value is the median
over repetitions. One untimed warm-up run of N tasks comes first.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def per_task(run: Callable[[int], dict | None], n: int, reps: int, warmup: bool = True) -> dict:
    """Time `run(1)` and `run(n)` `reps` times; milliseconds.

    `run(k)` runs one k-task workflow. It returns None, and its wall time is what is measured, or
    a dict of named durations in seconds, each from the start of the run (e.g. {"wall": 1.2,
    "recorded": 3.4}); each name then gets its own per-task figure, "wall" being the headline.
    """
    if warmup:
        run(n)
    samples: dict[str, list[tuple[float, float]]] = {}
    for _ in range(reps):
        t1 = _timed(run, 1)
        tn = _timed(run, n)
        for name in tn:
            samples.setdefault(name, []).append((t1[name], tn[name]))
    out = _summary(samples.pop("wall"), n)
    for name, pairs in samples.items():
        out[name] = _summary(pairs, n)
    return out


def _timed(run: Callable[[int], dict | None], k: int) -> dict:
    t0 = time.perf_counter()
    extra = run(k)
    wall = time.perf_counter() - t0
    return {"wall": wall, **(extra or {})}


def _summary(pairs: list[tuple[float, float]], n: int) -> dict:
    marginal = [(tn - t1) / (n - 1) * 1000 for t1, tn in pairs]
    t1_ms = statistics.median(t1 for t1, _ in pairs) * 1000
    tn_ms = statistics.median(tn for _, tn in pairs) * 1000
    return {
        "per_task_ms": round(statistics.median(marginal), 4),
        "per_task_ms_reps": [round(x, 4) for x in marginal],
        "run_1_task_ms": round(t1_ms, 3),
        "run_n_tasks_ms": round(tn_ms, 3),
        "gross_per_task_ms": round(tn_ms / n, 4),
        "tasks": n,
        "reps": len(pairs),
    }
