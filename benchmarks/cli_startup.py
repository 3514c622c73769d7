"""How fast does the `shoal` command answer? The time of a fresh process, start to exit.

One run, on this machine, each command --reps times, interleaved (round robin, so a burst of
other load weighs on all of them alike), in a fresh process each time:
- `import typer`: the anchor, `python -c 'import typer'`, the floor of any typer CLI;
- `python -c pass`: the interpreter alone;
- `shoal --help`, `shoal version`: what typing the command's name costs;
- `shoal runs list`: a command that opens the database, on a temporary SQLite home holding one
  workflow and 3 finished runs (made before timing, with `shoal workflow apply` and `shoal run --wait`).

`shoal` is what the console script calls (`python -m shoal.cli.entry`, the project.scripts
entry `shoal.cli.entry:main`). Reports the median and the minimum of each, in ms, the targets
(--help and version <= 250 ms, runs list <= 500 ms) and each shoal figure over the typer anchor.

Prints ONE JSON line on stdout and writes it to benchmarks/results/cli_startup.json; progress goes
to stderr. The machine is a shared, noisy 2-core box: read the ratios of one run, never absolute
figures across runs.

Usage: python benchmarks/cli_startup.py [--reps 21] [--quick] [--no-write]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULT_FILE = BENCH / "results" / "cli_startup.json"
TARGETS_MS = {"shoal --help": 250.0, "shoal version": 250.0, "shoal runs list": 500.0}
WORKFLOW = "name: bench\ntasks:\n  - {name: a, type: shell, command: 'true'}\n"
RUNS = 3

sys.path.insert(0, str(BENCH))
from _machine import emit, machine_facts, timed_command  # noqa: E402 - the benchmarks dir is not a package on sys.path


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def commands() -> dict[str, list[str]]:
    py, shoal = sys.executable, [sys.executable, "-m", "shoal.cli.entry"]
    return {
        "python -c pass": [py, "-c", "pass"],
        "import typer": [py, "-c", "import typer"],
        "shoal --help": [*shoal, "--help"],
        "shoal version": [*shoal, "version"],
        "shoal runs list": [*shoal, "runs", "list"],
    }


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOAL_")}
    env.update(SHOAL_HOME=str(home), COLUMNS="120")
    return env


def prepare(home: Path, env: dict[str, str]) -> None:
    """A home with one workflow and a few finished runs, so `runs list` reads and prints rows."""
    shoal = [sys.executable, "-m", "shoal.cli.entry"]
    wf = home.parent / "bench.yaml"
    wf.write_text(WORKFLOW)
    steps = [[*shoal, "workflow", "apply", str(wf)], *([[*shoal, "run", "bench", "--wait"]] * RUNS)]
    for step in steps:
        subprocess.run(step, env=env, cwd=REPO, check=True, capture_output=True, timeout=120)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=21, help="runs of each command; the median is reported")
    ap.add_argument("--quick", action="store_true", help="5 runs of each instead of --reps")
    ap.add_argument("--no-write", action="store_true", help=f"print the JSON only, do not write {RESULT_FILE.name}")
    args = ap.parse_args(argv)
    reps = 5 if args.quick else args.reps
    t_start = time.perf_counter()
    facts = machine_facts(("shoal", "typer"), dirty_path="shoal/cli")
    facts["rich_version"] = importlib.metadata.version("rich")  # rich has no __version__
    cmds = commands()
    samples: dict[str, list[float]] = {name: [] for name in cmds}
    with tempfile.TemporaryDirectory(prefix="shoal-bench-cli-") as tmp:
        home = Path(tmp) / "home"
        env = environment(home)
        log(f"preparing {home}: 1 workflow, {RUNS} runs")
        prepare(home, env)
        for cmd in cmds.values():  # once untimed: the page cache and .pyc files are warm for all
            timed_command(cmd, env, timeout=60)
        for i in range(reps):
            for name, cmd in cmds.items():
                samples[name].append(timed_command(cmd, env, timeout=60))
            log(f"round {i + 1}/{reps}: " + ", ".join(f"{n} {s[-1]:.0f} ms" for n, s in samples.items()))
    results: dict[str, Any] = {
        name: {"median_ms": round(statistics.median(s), 1), "min_ms": round(min(s), 1)} for name, s in samples.items()
    }
    anchor = results["import typer"]["median_ms"]
    for name in TARGETS_MS:
        results[name]["over_typer_import"] = round(results[name]["median_ms"] / anchor, 2)
    targets_met: dict[str, bool] = {name: results[name]["median_ms"] <= ms for name, ms in TARGETS_MS.items()}
    targets_met["all"] = all(targets_met.values())
    facts["loadavg_end"] = list(os.getloadavg())
    result = {
        "benchmark": "cli_startup",
        "machine": facts,
        "config": {
            "reps": reps, "commands": {name: " ".join(Path(c).name if i == 0 else c for i, c in enumerate(cmd))
                                        for name, cmd in cmds.items()},
            "method": "wall time of a fresh process, start to exit (subprocess.run, output captured), commands "
                      "interleaved round robin after one untimed run each; SQLite home with 1 workflow and "
                      f"{RUNS} finished runs",
        },
        "results": results,
        "targets_ms": TARGETS_MS,
        "targets_met": targets_met,
        "elapsed_s": round(time.perf_counter() - t_start, 1),
    }
    emit(result, RESULT_FILE, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
