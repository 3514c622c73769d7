"""Did a change slow the engine down? `engine_overhead.py` (shoal only, no anchors) on an older
commit and on the working tree, interleaved in one session, with the ratio after/before.

The older commit is checked out into a temporary git worktree and imported from there
(PYTHONPATH, inherited by the executor's processes); both sides use this checkout's venv and
its benchmark script. Runs alternate before, after, before, after... so that the machine's drift
weighs on both; each figure is the median over the runs of its side. Ratios below 1 mean faster.

Prints ONE JSON line on stdout and writes it to benchmarks/results/engine_before_after.json;
progress goes to stderr. The box is shared and noisy: only the ratios of one session mean much.

Usage: python benchmarks/engine_before_after.py --before REV [--rounds 2] [--reps 3] [--chains]

--chains measures only 100-task chains (shell and python worker), in wall time and in the
driver's own CPU time, which the box's noise moves far less; it writes
results/engine_before_after_chains.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULT_FILE = BENCH / "results" / "engine_before_after.json"
SHAPES = ("shell_chain", "shell_fanout", "python_worker_chain", "python_worker_fanout", "python_fork_chain",
          "python_fork_fanout", "dag_2000")

sys.path.insert(0, str(BENCH))
from _machine import emit, machine_facts  # noqa: E402 - the benchmarks dir is not a package on sys.path


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def one_run(code_root: Path, out_dir: Path, reps: int) -> dict[str, Any]:
    """engine_overhead.py --skip-anchors importing shoal from `code_root`; its JSON line."""
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    # Run a copy so that the committed results/engine_overhead.json (with its anchors) stays.
    script = out_dir / "engine_overhead.py"
    if not script.exists():
        for name in ("engine_overhead.py", "_machine.py", "requirements-anchors.txt"):
            (out_dir / name).write_text((BENCH / name).read_text())
        os.symlink(BENCH / "_engine_anchors", out_dir / "_engine_anchors")
        (out_dir / "results").mkdir()
    done = subprocess.run([sys.executable, str(script), "--skip-anchors", "--reps", str(reps)], env=env, cwd=code_root,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# --chains: 100-task chains in one warm process per side, timed in wall time and in the driver
# process's own CPU time (user + system, from getrusage). CPU time does not count the time the
# driver waits for the machine, so it moves far less than wall time on a busy box.
CHAIN_SCRIPT = """
import json, resource, statistics, sys, tempfile, time
from shoal.client import Client
from shoal.executors.local import LocalExecutor
from shoal.spec.models import Workflow

kind, pairs = sys.argv[1], int(sys.argv[2])
def task(i):
    base = ({"type": "shell", "command": "true"} if kind == "shell"
            else {"type": "python", "callable": "benchmarks._engine_anchors.noop:noop"})
    return {"name": f"t{i}", **base, **({"upstream": [f"t{i - 1}"]} if i else {})}
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
executor = LocalExecutor().start()
client = Client(home=tempfile.mkdtemp(), executor=executor)
for name, n in (("one", 1), ("many", 100)):
    client.apply(Workflow.model_validate({"name": name, "tasks": [task(i) for i in range(n)]}), source_dir=sys.argv[3])
    client.run(name, wait=True)
wall, used = [], []
for _ in range(pairs):
    t, u = time.perf_counter(), cpu(); client.run("one", wait=True); w1, c1 = time.perf_counter() - t, cpu() - u
    t, u = time.perf_counter(), cpu(); client.run("many", wait=True); wn, cn = time.perf_counter() - t, cpu() - u
    wall.append((wn - w1) / 99 * 1000); used.append((cn - c1) / 99 * 1000)
executor.close()
print(json.dumps({f"{kind}_chain_wall_ms": statistics.median(wall),
                  f"{kind}_chain_driver_cpu_ms": statistics.median(used)}))
"""


def chains_run(code_root: Path, pairs: int) -> dict[str, float]:
    """Wall and driver-CPU ms per task of a shell and a python (worker) 100-task chain."""
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    out: dict[str, float] = {}
    for kind in ("shell", "python"):
        done = subprocess.run([sys.executable, "-c", CHAIN_SCRIPT, kind, str(pairs), str(REPO)], env=env,
                              cwd=code_root, capture_output=True, text=True, check=True)
        out.update({k: round(v, 4) for k, v in json.loads(done.stdout.strip().splitlines()[-1]).items()})
    return out


def figures(result: dict[str, Any]) -> dict[str, float]:
    shoal = result["shoal"]
    out = {f"{shape}_per_task_ms": shoal[shape]["per_task_ms"] for shape in SHAPES
           if isinstance(shoal.get(shape), dict) and "per_task_ms" in shoal[shape]}
    out["sql_statements_per_task_chain_100"] = result["sql_statements_per_task"]["chain_100_per_task"]
    out["sql_statements_per_task_dag_2000"] = result["sql_statements_per_task"]["dag_2000_per_task"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", required=True, help="the commit to compare with (e.g. the issue's base)")
    ap.add_argument("--rounds", type=int, default=2, help="before/after pairs (default 2)")
    ap.add_argument("--reps", type=int, default=3, help="engine_overhead's repetitions per figure (default 3)")
    ap.add_argument("--chains", action="store_true",
                    help="only 100-task chains, in wall time and in the driver's CPU time (a few minutes)")
    ap.add_argument("--no-write", action="store_true", help="print only; leave results/ alone")
    args = ap.parse_args()
    rev = subprocess.run(["git", "rev-parse", "--short", args.before], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout.strip()
    sides: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory(prefix="shoal-before-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(tree), rev], cwd=REPO, check=True)
        try:
            roots = {"before": tree, "after": REPO}
            for i in range(args.rounds):
                for side in ("before", "after"):
                    log(f"round {i + 1}/{args.rounds}: {side} ({rev if side == 'before' else 'working tree'})")
                    out_dir = Path(tmp) / side
                    out_dir.mkdir(exist_ok=True)
                    if args.chains:
                        sides[side].append(chains_run(roots[side], 3 * args.reps))
                    else:
                        sides[side].append(figures(one_run(roots[side], out_dir, args.reps)))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO, check=False)
    medians = {side: {k: round(statistics.median(r[k] for r in runs), 4) for k in runs[0]}
               for side, runs in sides.items()}
    ratios = {k: round(medians["after"][k] / medians["before"][k], 3) for k in medians["after"]
              if medians["before"].get(k)}
    result = {
        "benchmark": "engine_before_after" + ("_chains" if args.chains else ""),
        "machine": machine_facts(),
        "config": {"before": rev, "rounds": args.rounds, "reps": args.reps,
                   "method": ("100-task chains, 3 x reps pairs of runs per round, wall and driver CPU time"
                              if args.chains else "engine_overhead.py --skip-anchors")
                   + "; before/after interleaved; medians over rounds"},
        "before": medians["before"],
        "after": medians["after"],
        "ratio_after_over_before": ratios,
        "rounds": sides,  # every round's figures: the spread says how much a ratio means here
        "no_regression": all(v <= 1.10 for v in ratios.values()),  # 10%: within this box's noise
    }
    emit(result, RESULT_FILE.with_name("engine_before_after_chains.json") if args.chains else RESULT_FILE,
         write=not args.no_write)


if __name__ == "__main__":
    main()
