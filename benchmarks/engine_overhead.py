"""Engine overhead: per-task wall time of shoal vs Prefect 3 vs Dagster vs the process floors.

One run measures, on this machine and in this order:
1. the floors: 100 x subprocess.run(["true"]) (spawn floor), 100 x os.fork + os._exit + waitpid
   of a warm interpreter, bare and with the engine imported (fork floor), and a fresh
   `python -c pass` (interpreter floor);
2. shoal (embedded default, fresh SQLite home per measurement): 100-task chain and fan-out of
   shell `true` tasks and of no-op python tasks (isolation worker and fork), a 2,000-task layered
   random DAG of shell `true` tasks, and the SQL statements per task of the 100-task chain and of
   the 2,000-task DAG;
3. the anchors, each in its own process with the venv benchmarks/.venvs/anchors (created on
   first use from the pinned benchmarks/requirements-anchors.txt): Prefect 3 and Dagster, same
   shapes, trivial in-process tasks; each as shipped (default logging: `prefect`, `dagster`) and
   with their loggers quieted (`prefect_quiet`, `dagster_quiet`); Dagster also with its default
   persistent SQLite storage (`dagster_durable`, `dagster_durable_quiet`); Prefect's runs report
   both when the flow returned and when its API server had recorded every task run (`recorded`);
4. shoal again (its figures are the median over both batches, so drift weighs on both sides);
5. the floors again (the figures are the median over both batches).

Three comparisons, each with its own targets:
- targets_met: the anchors as shipped, in memory (Prefect's figure is taken when the flow returns,
  before its server has recorded the task runs; Dagster's ephemeral instance keeps nothing);
- targets_met_quiet: the same with the anchors' loggers quieted (faster);
- targets_met_durable: like for like with shoal, which writes every task transition to its
  database before the next task starts: Prefect until its server has recorded every task run,
  Dagster with its persistent SQLite instance (targets_met_durable_quiet: loggers quieted).

Per-task time = (wall of an N-task run - wall of a 1-task run of the same kind) / (N - 1), in a
warm process, median of --reps repetitions (see _engine_anchors/_common.py). The machine is a
shared, noisy 2-core box: compare the ratios of one run, never absolute figures across runs.

Prints ONE JSON line on stdout and writes it to benchmarks/results/engine_overhead.json; progress
goes to stderr. Usage: python benchmarks/engine_overhead.py [--quick] [--reps N] [--skip-anchors]
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
ANCHORS_DIR = BENCH / "_engine_anchors"
ANCHOR_VENV = BENCH / ".venvs" / "anchors"
RESULT_FILE = BENCH / "results" / "engine_overhead.json"
# fastapi<0.155: from 0.155 on, fastapi rejects `Body(min_items=...)`, which the newest Prefect
# the registry serves here (3.8.x) still uses, and its ephemeral API server fails to import.
ANCHOR_REQUIREMENTS_FILE = BENCH / "requirements-anchors.txt"
ANCHOR_REQUIREMENTS = [line.split("#")[0].strip() for line in ANCHOR_REQUIREMENTS_FILE.read_text().splitlines()
                       if line.split("#")[0].strip()]
ANCHOR_TIMEOUT_S = 3600
NOOP_CALLABLE = "benchmarks._engine_anchors.noop:noop"
DAG_SEED = 20240611
DAG_WIDTH = 50
SQL_FLAT_TOLERANCE = 1.10  # statements/task of a 2,000-task chain <= 1.10 x the 100-task chain's

sys.path.insert(0, str(BENCH))
from _engine_anchors._common import per_task  # noqa: E402 - the benchmarks dir is not a package on sys.path
from _machine import machine_facts  # noqa: E402


def log(msg: str) -> None:
    print(f"[engine_overhead {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------ floors


def _per_op_ms(op: Callable[[], object], count: int, reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(count):
            op()
        out.append((time.perf_counter() - t0) / count * 1000)
    return out


def _spawn_true() -> None:
    subprocess.run(["true"], check=True)


def _fresh_python() -> None:
    subprocess.run([sys.executable, "-c", "pass"], check=True)


# Forking costs about in proportion to the forking process's resident memory (page tables; more
# so in a VM), so the fork floor is measured in a warm interpreter of known content, the same
# before and after the rest: a bare one, and one that has imported the engine (shoal.client).
_FORK_PROBE = """
import json, os, sys, time
for m in sys.argv[3:]:
    __import__(m)
count, reps, out = int(sys.argv[1]), int(sys.argv[2]), []
for _ in range(reps):
    t0 = time.perf_counter()
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    out.append((time.perf_counter() - t0) / count * 1000)
with open("/proc/self/status") as f:
    rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
print(json.dumps({"ms": out, "rss_kib": rss}))
"""


def _fork_floor(reps: int, *imports: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", _FORK_PROBE, "100", str(reps), *imports],
                          check=False, capture_output=True, text=True, cwd=REPO, timeout=600)
    if proc.returncode != 0:
        return {"ms": [], "error": proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]}
    return json.loads(proc.stdout)


def measure_floors(reps: int) -> dict[str, Any]:
    return {
        "spawn_true_ms": _per_op_ms(_spawn_true, 100, reps),
        "fork_exit_wait_ms": _fork_floor(reps),
        "fork_exit_wait_engine_loaded_ms": _fork_floor(reps, "shoal.client"),
        "fresh_python_ms": _per_op_ms(_fresh_python, 10, reps),
    }


def summarize_floors(batches: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in batches[0]:
        if isinstance(batches[0][key], dict):  # a fork probe
            samples = [x for b in batches for x in b[key]["ms"]]
            out[f"{key.removesuffix('_ms')}_rss_kib"] = batches[0][key].get("rss_kib")
            errors = [b[key]["error"] for b in batches if "error" in b[key]]
            if errors:
                out[f"{key.removesuffix('_ms')}_error"] = errors[0]
        else:
            samples = [x for b in batches for x in b[key]]
        out[key] = round(statistics.median(samples), 4) if samples else None
        out[f"{key}_reps"] = [round(x, 4) for x in samples]
    out["method"] = (
        "per operation, median over reps of both batches (before and after the rest). spawn: 100 x "
        "subprocess.run(['true']) in the benchmark process; fork: 100 x os.fork + os._exit(0) + waitpid "
        "in a warm interpreter that imported nothing (fork_exit_wait) or shoal.client "
        "(fork_exit_wait_engine_loaded), see *_rss_kib; fresh python: 10 x `python -c pass`")
    return out


# ----------------------------------------------------------------------------------------- anchors


def ensure_anchor_venv() -> Path:
    """benchmarks/.venvs/anchors with Prefect 3 and Dagster; created (or updated) on first use."""
    py = ANCHOR_VENV / "bin" / "python"
    stamp = ANCHOR_VENV / ".bench-requirements"
    want = "\n".join(ANCHOR_REQUIREMENTS) + "\n"
    if py.exists() and stamp.exists() and stamp.read_text() == want:
        return py
    if not py.exists():
        base = shutil.which("python3") or sys.executable
        log(f"creating the anchors venv {ANCHOR_VENV} ({base} -m venv)")
        subprocess.run([base, "-m", "venv", str(ANCHOR_VENV)], check=True, stdout=sys.stderr)
    log(f"installing {' '.join(ANCHOR_REQUIREMENTS)} into it (first run only; a few minutes)")
    subprocess.run(
        [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *ANCHOR_REQUIREMENTS],
        check=True, stdout=sys.stderr,
    )
    stamp.write_text(want)
    return py


def _anchor_env(home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PREFECT_", "DAGSTER_")) and k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update({
        # Prefect: default ephemeral API server on loopback, its database in a fresh home.
        "PREFECT_HOME": home,
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "DAGSTER_HOME": home,
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "DO_NOT_TRACK": "1",
    })
    return env


def run_anchor(py: Path, script: str, tasks: int, reps: int, logging: str = "default",
               extra: tuple[str, ...] = ()) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="shoal-bench-anchor-") as home:
        cmd = [str(py), str(ANCHORS_DIR / script), "--tasks", str(tasks), "--reps", str(reps), "--logging", logging,
               *extra]
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, env=_anchor_env(home), cwd=home, check=False, capture_output=True, text=True,
                                  timeout=ANCHOR_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return {"error": f"{script} did not finish within {ANCHOR_TIMEOUT_S}s"}
        elapsed = time.perf_counter() - t0
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            try:
                out = json.loads(line)
            except ValueError:
                continue
            out["elapsed_s"] = round(elapsed, 1)
            return out
    return {"error": f"{script} exited {proc.returncode} without a JSON line",
            "stderr_tail": proc.stderr[-3000:]}


# ------------------------------------------------------------------------------------------- shoal


def _chain(n: int) -> list[list[str]]:
    return [[] if i == 0 else [f"t{i - 1}"] for i in range(n)]


def _fanout(n: int) -> list[list[str]]:
    return [[] if i == 0 else ["t0"] for i in range(n)]


def layered_dag(n: int, width: int = DAG_WIDTH, seed: int = DAG_SEED) -> list[list[str]]:
    """Upstreams of t0..t{n-1}: layers of `width` tasks; each task of a layer after the first has
    1-3 upstreams in the previous layer and, one time in five, one more in any earlier layer."""
    rng = random.Random(seed)
    ups: list[list[str]] = []
    for i in range(n):
        layer = i // width
        if layer == 0:
            ups.append([])
            continue
        prev = range((layer - 1) * width, layer * width)
        chosen = set(rng.sample(prev, rng.randint(1, 3)))
        if layer >= 2 and rng.random() < 0.2:
            chosen.add(rng.randrange(0, (layer - 1) * width))
        ups.append([f"t{j}" for j in sorted(chosen)])
    return ups


def _task(kind: str, i: int, upstream: list[str]) -> dict[str, Any]:
    if kind == "shell":
        return {"name": f"t{i}", "type": "shell", "command": "true", "upstream": upstream}
    isolation = kind.removeprefix("python_")  # python_worker | python_fork
    return {"name": f"t{i}", "type": "python", "callable": NOOP_CALLABLE, "isolation": isolation,
            "upstream": upstream}


def measure_shoal(reps: int, tasks: int, dag_tasks: int, count_sizes: bool = True) -> dict[str, Any]:
    """Everything shoal, behind the one client API (`Client(home=...)`, `apply`, `run`, `engine`).

    Each measurement (one shape and task kind) gets a fresh embedded home and, when the client
    takes one, its own warm executor (fork server + worker pool) shared by its runs, as a
    long-lived scheduler would have; otherwise each run starts its own and the subtraction of the
    1-task run removes that start. One 1-task and one N-task workflow are applied, one untimed run
    of each counts the SQL statements (and warms up), then `reps` timed pairs of runs give the
    per-task time.
    """
    try:
        from shoal.client import Client
        from shoal.spec.models import Workflow
    except ImportError as exc:
        msg = f"shoal.client is not available yet ({exc}); shoal was not measured"
        log(f"ERROR: {msg}")
        return {"error": msg}
    from sqlalchemy import event

    try:
        from shoal.executors.local import LocalExecutor
    except ImportError:
        LocalExecutor = None
    shared_executor = LocalExecutor is not None and "executor" in inspect.signature(Client).parameters

    def workflow(name: str, kind: str, upstreams: list[list[str]]) -> Workflow:
        return Workflow.model_validate({
            "name": name, "description": "engine_overhead benchmark",
            "tasks": [_task(kind, i, up) for i, up in enumerate(upstreams)],
        })

    def measure(kind: str, shape: str, upstreams: list[list[str]], timed: bool = True) -> dict[str, Any]:
        n = len(upstreams)
        wf_1 = workflow(f"bench_{kind}_{shape}_1", kind, [[]])
        wf_n = workflow(f"bench_{kind}_{shape}_{n}", kind, upstreams)
        statements = [0]

        def count(*_args: Any) -> None:
            statements[0] += 1

        def run(wf: Workflow) -> None:
            info = client.run(wf.name, wait=True, timeout=1800)
            state = getattr(info.state, "value", info.state)
            if state != "success":
                raise RuntimeError(f"shoal run of {wf.name} ended {state!r}: {getattr(info, 'error', '')}")

        def counted(wf: Workflow) -> int:
            statements[0] = 0
            event.listen(client.engine, "before_cursor_execute", count)
            try:
                run(wf)
            finally:
                event.remove(client.engine, "before_cursor_execute", count)
            return statements[0]

        home = tempfile.mkdtemp(prefix="shoal-bench-")
        executor = client = None
        try:
            executor = LocalExecutor().start() if shared_executor else None
            client = Client(home=home, executor=executor) if executor else Client(home=home)
            client.apply(wf_1, source_dir=REPO)
            client.apply(wf_n, source_dir=REPO)
            s_1 = counted(wf_1)
            s_n = counted(wf_n)  # doubles as the warm-up run
            out = per_task(lambda k: run(wf_1 if k == 1 else wf_n), n, reps, warmup=False) if timed else {}
            out["sql_statements"] = {
                "run_1_task": s_1, "run_n_tasks": s_n,
                "per_task": round(s_n / n, 3),
                "marginal_per_task": round((s_n - s_1) / (n - 1), 3),
                "method": "statements through Client.engine (before_cursor_execute) during one untimed run",
            }
            return out
        finally:
            if client is not None:
                client.close()
            if executor is not None:
                executor.close()
            shutil.rmtree(home, ignore_errors=True)

    # (key, task kind, shape, upstreams, timed). The last entry is the same shape as the first
    # at the DAG's size, statements counted, not timed: what "statements per task do not grow
    # with the DAG size" compares.
    plan: list[tuple[str, str, str, list[list[str]], bool]] = [
        (f"{kind}_{shape}", kind, shape, _chain(tasks) if shape == "chain" else _fanout(tasks), True)
        for kind in ("shell", "python_worker", "python_fork") for shape in ("chain", "fanout")
    ]
    plan.append((f"dag_{dag_tasks}", "shell", "dag", layered_dag(dag_tasks), True))
    if count_sizes:
        plan.append((f"shell_chain_{dag_tasks}", "shell", f"chain{dag_tasks}", _chain(dag_tasks), False))
    out: dict[str, Any] = {"executor": "one warm LocalExecutor per measurement, shared by its runs"
                           if shared_executor else "the client's default: one executor per run"}
    for key, kind, shape, upstreams, timed in plan:
        log(f"shoal: {key} ({len(upstreams)} tasks, {f'{reps} reps' if timed else 'statements only'})")
        try:
            out[key] = measure(kind, shape, upstreams, timed)
            out[key]["completed"] = True
            if shape == "dag":
                out[key]["edges"] = sum(len(u) for u in upstreams)
                out[key]["layers"] = -(-len(upstreams) // DAG_WIDTH)
                out[key]["seed"] = DAG_SEED
        except Exception as exc:  # noqa: BLE001 - one broken measurement must not hide the others
            log(f"shoal: {key} failed: {exc!r}")
            out[key] = {"completed": False, "error": repr(exc), "traceback": traceback.format_exc()[-3000:]}
    return out


# --------------------------------------------------------------------------------- ratios, targets


def _pt(d: dict[str, Any] | None, *path: str) -> float | None:
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d if isinstance(d, (int, float)) else None


def _ratio(num: float | None, den: float | None) -> float | None:
    if num is None or den is None or den <= 0:
        return None
    return round(num / den, 3)


def _at_least(value: float | None, bound: float) -> bool | None:
    return None if value is None else value >= bound


def _at_most(value: float | None, bound: float) -> bool | None:
    return None if value is None else value <= bound


def merge_shoal(batches: list[dict[str, Any]]) -> dict[str, Any]:
    """One figure per measurement from shoal batches taken before and after the anchors: the
    median of every batch's reps, so a machine that drifts over the run weighs on both sides."""
    out = dict(batches[0])
    for key, first in batches[0].items():
        if not isinstance(first, dict) or "per_task_ms_reps" not in first:
            continue
        reps = [r for b in batches if isinstance(b.get(key), dict) for r in b[key].get("per_task_ms_reps", [])]
        out[key] = {**first, "per_task_ms": round(statistics.median(reps), 4), "per_task_ms_reps": reps,
                    "batches": len(batches)}
    return out


# Which anchor workload each shoal mode is compared with: shell tasks with the anchors' tasks
# that run `true`, python tasks with their no-op tasks.
PAIRS = {"shell": "shell", "python_worker": "python", "python_fork": "python"}


def _over_shoal(shoal: dict[str, Any], res: dict[str, Any] | None, *within: str) -> dict[str, Any]:
    """Anchor per-task time over shoal's, per shoal mode and shape; `within` picks a figure
    nested in the anchor's result (Prefect's "recorded")."""
    r: dict[str, Any] = {}
    for mode, anchor_kind in PAIRS.items():
        for shape in ("chain", "fanout"):
            suffix = "" if shape == "chain" else "_fanout"
            r[mode + suffix] = _ratio(_pt(res, f"{anchor_kind}_{shape}", *within, "per_task_ms"),
                                      _pt(shoal, f"{mode}_{shape}", "per_task_ms"))
    return r


def _anchor_targets(po: dict[str, Any], do: dict[str, Any]) -> dict[str, bool | None]:
    return {
        "shell_chain_10x_below_prefect": _at_least(po["shell"], 10),
        "shell_chain_10x_below_dagster": _at_least(do["shell"], 10),
        "python_worker_chain_10x_below_prefect": _at_least(po["python_worker"], 10),
        "python_worker_chain_10x_below_dagster": _at_least(do["python_worker"], 10),
        "python_fork_chain_5x_below_prefect": _at_least(po["python_fork"], 5),
        "python_fork_chain_5x_below_dagster": _at_least(do["python_fork"], 5),
    }


def _all(targets: dict[str, bool | None]) -> bool | None:
    measured = [v for v in targets.values() if v is not None]
    return all(measured) if len(measured) == len(targets) else (False if False in measured else None)


def compute(shoal: dict[str, Any], anchors: dict[str, dict[str, Any]], floors: dict[str, Any],
            tasks: int, dag_tasks: int) -> dict[str, Any]:
    """Ratios and targets, in three comparisons (see the module's docstring): the anchors as
    shipped and in memory (targets_met), quieted (targets_met_quiet), and durable like shoal:
    Prefect until its server recorded the task runs, Dagster on SQLite (targets_met_durable,
    and targets_met_durable_quiet)."""
    ratios: dict[str, Any] = {}
    for tool in ("prefect", "dagster", "prefect_quiet", "dagster_quiet", "dagster_durable", "dagster_durable_quiet"):
        ratios[f"{tool}_over_shoal"] = _over_shoal(shoal, anchors.get(tool, {}).get("results"))
    for tool in ("prefect", "prefect_quiet"):
        ratios[f"{tool}_recorded_over_shoal"] = _over_shoal(shoal, anchors.get(tool, {}).get("results"), "recorded")
    ratios["shoal_shell_over_spawn_floor"] = _ratio(
        _pt(shoal, "shell_chain", "per_task_ms"), floors.get("spawn_true_ms")
    )
    ratios["shoal_python_fork_over_fork_floor"] = _ratio(_pt(shoal, "python_fork_chain", "per_task_ms"),
                                                         floors.get("fork_exit_wait_ms"))
    # A reference between the two floors' interpreters: the fork server holds the task runtime
    # (pydantic, the task registry, ~30 MB), less than shoal.client, more than a bare one.
    ratios["shoal_python_fork_over_engine_fork_floor"] = _ratio(
        _pt(shoal, "python_fork_chain", "per_task_ms"), floors.get("fork_exit_wait_engine_loaded_ms")
    )

    def stmts(key: str, which: str) -> float | None:
        return _pt(shoal, key, "sql_statements", which)

    small, big, dag_key = "shell_chain", f"shell_chain_{dag_tasks}", f"dag_{dag_tasks}"
    sql = {
        f"chain_{tasks}_per_task": stmts(small, "per_task"), f"chain_{dag_tasks}_per_task": stmts(big, "per_task"),
        "ratio": _ratio(stmts(big, "per_task"), stmts(small, "per_task")),
        f"chain_{tasks}_marginal_per_task": stmts(small, "marginal_per_task"),
        f"chain_{dag_tasks}_marginal_per_task": stmts(big, "marginal_per_task"),
        "marginal_ratio": _ratio(stmts(big, "marginal_per_task"), stmts(small, "marginal_per_task")),
        # The layered DAG (fan-in, several ready at once) for reference: its own shape's figure.
        f"dag_{dag_tasks}_per_task": stmts(dag_key, "per_task"),
        f"dag_{dag_tasks}_marginal_per_task": stmts(dag_key, "marginal_per_task"),
    }

    dag = shoal.get(f"dag_{dag_tasks}") if isinstance(shoal, dict) else None
    sql_ratios = [x for x in (sql["ratio"], sql["marginal_ratio"]) if x is not None]
    common = {
        "shell_chain_within_3x_spawn_floor": _at_most(ratios["shoal_shell_over_spawn_floor"], 3),
        f"dag_{dag_tasks}_completes": None if not isinstance(dag, dict) else bool(dag.get("completed")),
        "sql_statements_per_task_flat": (None if len(sql_ratios) < 2
                                         else max(sql_ratios) <= SQL_FLAT_TOLERANCE),
    }
    out: dict[str, Any] = {"ratios": ratios, "sql_statements_per_task": sql}
    for name, prefect, dagster in (
        ("targets_met", "prefect", "dagster"),
        ("targets_met_quiet", "prefect_quiet", "dagster_quiet"),
        ("targets_met_durable", "prefect_recorded", "dagster_durable"),
        ("targets_met_durable_quiet", "prefect_quiet_recorded", "dagster_durable_quiet"),
    ):
        met = {**_anchor_targets(ratios[f"{prefect}_over_shoal"], ratios[f"{dagster}_over_shoal"]), **common}
        met["all"] = _all(met)
        out[name] = met
    return out


# -------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--quick", action="store_true", help="1 repetition instead of 3")
    ap.add_argument("--reps", type=int, default=None, help="repetitions per figure (median; default 3)")
    ap.add_argument("--skip-anchors", action="store_true", help="do not run Prefect and Dagster")
    ap.add_argument("--skip-shoal", action="store_true", help="do not run shoal (anchors and floors only)")
    ap.add_argument("--tasks", type=int, default=100, help=argparse.SUPPRESS)
    ap.add_argument("--dag-tasks", type=int, default=2000, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    reps = args.reps or (1 if args.quick else 3)
    floor_reps = 3 if args.quick else 5

    t_start = time.perf_counter()
    facts = machine_facts(("shoal", "sqlalchemy"))
    log(f"floors ({floor_reps} reps)")
    floor_batches = [measure_floors(floor_reps)]

    shoal_batches = [] if args.skip_shoal else [measure_shoal(reps, args.tasks, args.dag_tasks)]

    anchors: dict[str, dict[str, Any]] = {}
    runs = [(tool + suffix, script, logging, extra) for logging, suffix in (("default", ""), ("quiet", "_quiet"))
            for tool, script, extra in (("prefect", "prefect_bench.py", ()), ("dagster", "dagster_bench.py", ()),
                                        ("dagster_durable", "dagster_bench.py", ("--storage", "sqlite")))]
    if args.skip_anchors:
        anchors = {name: {"skipped": True} for name, *_ in runs}
    else:
        try:
            py = ensure_anchor_venv()
        except (OSError, subprocess.CalledProcessError) as exc:
            log(f"ERROR: could not set up the anchors venv: {exc}")
            py = None
        for name, script, logging, extra in runs:
            if py is None:
                anchors[name] = {"error": "anchors venv could not be set up"}
                continue
            log(f"{name} ({args.tasks} tasks, {reps} reps, {logging} logging)")
            anchors[name] = run_anchor(py, script, args.tasks, reps, logging, extra)
            if "error" in anchors[name]:
                log(f"ERROR: {name}: {anchors[name]['error']}")
    if not args.skip_shoal:
        log("shoal again, after the anchors")
        shoal_batches.append(measure_shoal(reps, args.tasks, args.dag_tasks, count_sizes=False))
    shoal: dict[str, Any] = merge_shoal(shoal_batches) if shoal_batches else {"skipped": True}

    log("floors again")
    floor_batches.append(measure_floors(floor_reps))
    floors = summarize_floors(floor_batches)
    facts["loadavg_end"] = list(os.getloadavg())
    facts["prefect_version"] = anchors.get("prefect", {}).get("version")
    facts["dagster_version"] = anchors.get("dagster", {}).get("version")

    result = {
        "benchmark": "engine_overhead",
        "machine": facts,
        "config": {
            "reps": reps, "tasks": args.tasks, "dag_tasks": args.dag_tasks, "quick": args.quick,
            "per_task_method": "(wall of N-task run - wall of 1-task run of the same kind) / (N - 1), "
                               "warm, median over reps (shoal: over its batches before and after the anchors)",
        },
        "floors": floors,
        "shoal": shoal,
        **{name: anchors[name] for name, *_ in runs},
        **compute(shoal, anchors, floors, args.tasks, args.dag_tasks),
        "elapsed_s": round(time.perf_counter() - t_start, 1),
    }
    line = json.dumps(result, separators=(",", ":"))
    RESULT_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULT_FILE.write_text(line + "\n")
    print(line, flush=True)
    log(f"wrote {RESULT_FILE.relative_to(REPO)}")
    for name in ("targets_met", "targets_met_quiet", "targets_met_durable", "targets_met_durable_quiet"):
        log(f"{name}: {json.dumps(result[name])}")
    failed = ("error" in shoal or any(isinstance(v, dict) and "error" in v for v in shoal.values())
              or any("error" in a for a in anchors.values()))
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
