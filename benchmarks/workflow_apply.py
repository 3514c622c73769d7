"""`shoal workflow apply` on large generated workflow files: does its time grow linearly?

One run, on this machine:
1. generates YAML workflow files of 2,000, 8,000 and 20,000 tasks (always the same ones) in two
   shapes, under a temporary directory:
   - chain: t0 -> t1 -> ... ; each task reads its upstream's output and the output of the task
     two before it (an upstream two links away, so reachability is checked), plus a date;
   - dag: layers of 50 tasks; each task has 1-3 upstreams in the layer before and, one time in
     five, one more from any earlier layer (fan-in); it reads an upstream's output and one of that
     upstream's upstreams' (transitive). The first task of each layer is a `switch` choosing
     between two tasks of the next layer on an upstream's output;
2. applies each file the way `shoal workflow apply FILE` does (`Client.apply_path`: read,
   validate, store as a new version), into a fresh SQLite home per repetition, in a child process
   per (shape, size) so one measurement's memory and garbage do not weigh on the next, with a
   timeout (a file that does not finish in time is reported as such);
3. reports per (shape, size): the median wall and CPU time of --reps applies, per-task times,
   the file's size, and the time of reading + validating alone (`Client.load`, once);
   `growth`: per-task time of the largest size over the smallest's (1.0 = linear), and the
   target: the 20,000-task file applies in under 10 s.

The first apply in each child (a 2-task file, untimed) imports and registers everything.
Prints ONE JSON line on stdout and writes it to benchmarks/results/workflow_apply.json; progress
goes to stderr. The machine is a shared, noisy 2-core box: read the ratios of one run (and the CPU
times, which other load disturbs less), never absolute figures across runs.

Usage: python benchmarks/workflow_apply.py [--sizes 2000 8000 20000] [--reps 3] [--timeout 300]
       [--quick] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULT_FILE = BENCH / "results" / "workflow_apply.json"
SIZES = (2_000, 8_000, 20_000)
SHAPES = ("chain", "dag")
SEED = 20240611
DAG_WIDTH = 50
TARGET_TASKS = 20_000
TARGET_SECONDS = 10.0
GROWTH_FLAT = 1.5  # per-task time at the largest size <= 1.5x the smallest's counts as linear

sys.path.insert(0, str(BENCH))
from _machine import emit, machine_facts  # noqa: E402 - the benchmarks dir is not a package on sys.path


def log(msg: str) -> None:
    print(f"[workflow_apply {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -------------------------------------------------------------------------------------- workflows


def chain(n: int) -> dict[str, Any]:
    tasks: list[dict[str, Any]] = []
    for i in range(n):
        task: dict[str, Any] = {"name": f"t{i}", "type": "shell"}
        if i == 0:
            task["command"] = "echo start ${ds}"
        else:
            task["upstream"] = [f"t{i - 1}"]
            task["params"] = {"prev": f"${{t{i - 1}.out}}", "day": "$[yyyyMMdd-1]"}
            far = f" ${{t{i - 2}.out}}" if i >= 2 else ""
            task["command"] = f"echo ${{prev}} ${{day}}{far}"
        tasks.append(task)
    return {"name": f"chain_{n}", "params": {"region": "cn"}, "tasks": tasks}


def dag(n: int) -> dict[str, Any]:
    rng = random.Random(SEED)
    upstream: dict[str, list[str]] = {}
    tasks: list[dict[str, Any]] = []
    switch_targets: dict[str, str] = {}  # task -> the switch of the layer before that may choose it
    for i in range(n):
        layer, pos = divmod(i, DAG_WIDTH)
        name = f"t{i}"
        ups: list[str] = []
        if layer:
            before = [f"t{j}" for j in range((layer - 1) * DAG_WIDTH, min(layer * DAG_WIDTH, n))]
            ups = rng.sample(before, min(len(before), rng.randint(1, 3)))
            if layer > 1 and rng.random() < 0.2:
                ups.append(f"t{rng.randrange(0, (layer - 1) * DAG_WIDTH)}")
            if name in switch_targets:
                ups.append(switch_targets[name])
            ups = list(dict.fromkeys(ups))
        upstream[name] = ups
        task: dict[str, Any] = {"name": name}
        if ups:
            task["upstream"] = ups
        first = next((u for u in ups if u not in switch_targets.values()), None)
        nxt = [f"t{j}" for j in range((layer + 1) * DAG_WIDTH + 1, (layer + 1) * DAG_WIDTH + 3) if j < n]
        if pos == 0 and first is not None and len(nxt) == 2:
            task.update(type="switch", cases=[{"when": f"${{{first}.score}} > 0.5", "then": nxt[0]}], default=nxt[1])
            for target in nxt:
                switch_targets[target] = name
        else:
            task["type"] = "shell"
            if first is None:
                task["command"] = "echo start ${ds} ${region}"
            else:
                grand = next((u for u in upstream[first] if u not in switch_targets.values()), None)
                task["params"] = {"x": f"${{{first}.out}}", "day": "$[yyyyMMdd-1]"}
                task["command"] = "echo ${x} ${day}" + (f" ${{{grand}.out}}" if grand else "")
        tasks.append(task)
    return {"name": f"dag_{n}", "params": {"region": "cn"}, "tasks": tasks}


def write_workflow(directory: Path, shape: str, n: int) -> Path:
    path = directory / f"{shape}_{n}.yaml"
    doc = chain(n) if shape == "chain" else dag(n)
    path.write_text(yaml.dump(doc, Dumper=yaml.CSafeDumper if yaml.__with_libyaml__ else yaml.SafeDumper,
                              sort_keys=False, width=200))
    return path


# ------------------------------------------------------------------------------------------ child


def child(path: Path, reps: int) -> dict[str, Any]:
    """Times `Client.apply_path(path)` into fresh homes; runs in its own process."""
    from shoal.client import Client

    with tempfile.TemporaryDirectory(prefix="shoal-bench-apply-") as tmp:
        warm = Path(tmp) / "warm.yaml"
        warm.write_text("name: warm\ntasks:\n  - {name: a, type: shell, command: 'true'}\n"
                        "  - {name: b, type: shell, command: 'echo ${a.out}', upstream: [a]}\n")
        Client(home=Path(tmp) / "warm").apply_path(warm)
        c0, w0 = time.process_time(), time.perf_counter()
        loaded = Client(home=Path(tmp) / "load").load(path)
        load = {"wall_s": time.perf_counter() - w0, "cpu_s": time.process_time() - c0}
        tasks = len(loaded[0].workflow.tasks)
        del loaded
        walls, cpus = [], []
        for rep in range(reps):
            client = Client(home=Path(tmp) / f"rep{rep}")
            c0, w0 = time.process_time(), time.perf_counter()
            [result] = client.apply_path(path)
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
            client.close()
            if not result.changed:
                raise RuntimeError("the apply stored nothing: the home was not fresh")
    return {"tasks": tasks, "wall_s": walls, "cpu_s": cpus, "load": load}


def measure(path: Path, reps: int, timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(path), "--reps", str(reps)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish in {timeout:g} s"}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    raw = json.loads(done.stdout.strip().splitlines()[-1])
    wall, cpu = statistics.median(raw["wall_s"]), statistics.median(raw["cpu_s"])
    n = raw["tasks"]
    return {
        "tasks": n,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "per_task_ms": round(wall / n * 1000, 4),
        "cpu_per_task_ms": round(cpu / n * 1000, 4),
        "wall_s_reps": [round(x, 3) for x in raw["wall_s"]],
        "cpu_s_reps": [round(x, 3) for x in raw["cpu_s"]],
        "load_validate_wall_s": round(raw["load"]["wall_s"], 3),
        "load_validate_cpu_s": round(raw["load"]["cpu_s"], 3),
        "loadavg_1m_after": round(os.getloadavg()[0], 2),
    }


# ------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="task counts (default 2000 8000 20000)")
    ap.add_argument("--reps", type=int, default=3, help="applies per (shape, size); the median is reported")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per (shape, size) before giving up")
    ap.add_argument("--quick", action="store_true", help="1 repetition instead of 3")
    ap.add_argument("--no-write", action="store_true", help=f"print the JSON only, do not write {RESULT_FILE.name}")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child(args.child, args.reps)), flush=True)
        return 0
    reps = 1 if args.quick else args.reps
    sizes = sorted(set(args.sizes))
    t_start = time.perf_counter()
    facts = machine_facts(("shoal", "yaml", "pydantic", "sqlalchemy"), dirty_path="shoal/spec")
    facts["libyaml"] = bool(yaml.__with_libyaml__)
    results: dict[str, dict[str, Any]] = {shape: {} for shape in SHAPES}
    files: dict[str, dict[str, int]] = {shape: {} for shape in SHAPES}
    with tempfile.TemporaryDirectory(prefix="shoal-bench-apply-files-") as tmp:
        for shape in SHAPES:
            for n in sizes:
                path = write_workflow(Path(tmp), shape, n)
                files[shape][str(n)] = path.stat().st_size
                log(f"{shape} {n:,} tasks ({path.stat().st_size / 2**20:.1f} MiB): applying {reps}x")
                results[shape][str(n)] = r = measure(path, reps, args.timeout)
                log(f"{shape} {n:,}: {r}")
    growth: dict[str, float | None] = {}
    for shape in SHAPES:
        low, high = results[shape].get(str(sizes[0]), {}), results[shape].get(str(sizes[-1]), {})
        ok = "per_task_ms" in low and "per_task_ms" in high and len(sizes) > 1
        growth[shape] = round(high["per_task_ms"] / low["per_task_ms"], 3) if ok else None
        growth[f"{shape}_cpu"] = round(high["cpu_per_task_ms"] / low["cpu_per_task_ms"], 3) if ok else None
    big = {shape: results[shape].get(str(TARGET_TASKS), {}) for shape in SHAPES}
    targets_met: dict[str, bool | None] = {
        f"{shape}_{TARGET_TASKS}_under_{TARGET_SECONDS:g}s": (
            None if not big[shape] else "wall_s" in big[shape] and big[shape]["wall_s"] < TARGET_SECONDS
        )
        for shape in SHAPES
    }
    targets_met.update({
        f"{shape}_growth_flat": None if growth[f"{shape}_cpu"] is None else growth[f"{shape}_cpu"] <= GROWTH_FLAT
        for shape in SHAPES
    })
    known = [v for v in targets_met.values() if v is not None]
    targets_met["all"] = bool(known) and all(known)
    facts["loadavg_end"] = list(os.getloadavg())
    result = {
        "benchmark": "workflow_apply",
        "machine": facts,
        "config": {
            "sizes": sizes, "shapes": list(SHAPES), "reps": reps, "timeout_s": args.timeout, "seed": SEED,
            "dag_width": DAG_WIDTH, "file_bytes": files,
            "method": "Client.apply_path(file) (what `shoal workflow apply FILE` runs: read, validate, store "
                      "a new version) into a fresh embedded SQLite home per repetition, in one child process "
                      "per (shape, size) after an untimed 2-task apply; median wall and process CPU time of "
                      "the repetitions. load_validate_* = Client.load(file) alone (read + validate), once.",
        },
        "results": results,
        "growth": growth,
        "targets": {"tasks": TARGET_TASKS, "seconds": TARGET_SECONDS, "growth_flat_max": GROWTH_FLAT},
        "targets_met": targets_met,
        "elapsed_s": round(time.perf_counter() - t_start, 1),
    }
    emit(result, RESULT_FILE, write=not args.no_write)
    errors = any("error" in r for shape in SHAPES for r in results[shape].values())
    return 2 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
