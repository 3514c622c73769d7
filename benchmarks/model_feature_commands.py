"""How long do `shoal model release` and `shoal features compute` take on a demo-sized home?

Both were seconds (issue 14): a release loaded the model to check it (importing xgboost,
scikit-learn, scipy), and a compute of one row loaded the whole online store snapshot. Now a
release checks the artifact's hashes and a compute reads only its keys from the snapshot.

Prepares a temporary SQLite home as `make demo` has it: --rows TalkingData clicks (default
200,000) imported, the example feature SQL deployed and loaded online, and a small xgboost model
registered twice. Then times, interleaved round robin in fresh processes after one untimed run
each: `shoal model release` (alternating between the two versions, so the alias really moves),
`shoal features compute` of one click, and the anchor `shoal runs list` (a command that opens
the same database and prints a table: what any database command costs).

Prints ONE JSON line on stdout and writes it to benchmarks/results/model_feature_commands.json;
progress goes to stderr. The box is shared and noisy: compare the commands of one run.

Usage: python benchmarks/model_feature_commands.py [--rows 200000] [--reps 11] [--no-write]
"""

from __future__ import annotations

import argparse
import json
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
RESULT_FILE = BENCH / "results" / "model_feature_commands.json"
FEATURES_SQL = REPO / "examples" / "talkingdata" / "features.sql"
CLICK = {"ip": 5003, "app": 12, "device": 1, "os": 13, "channel": 245, "click_time": 1510185660000}

sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO))
from _machine import emit, machine_facts, timed_command  # noqa: E402 - the benchmarks dir is not a package on sys.path


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def save_model(directory: Path) -> Path:
    """A small xgboost bundle over two of the feature set's features (what the demo releases)."""
    import numpy as np
    import pandas as pd

    from shoal.ml.bundle import build_bundle
    from shoal.ml.preprocess import Pipeline
    from shoal.ml.train import train

    rng = np.random.default_rng(0)
    columns = ["ip_clicks_1h", "ip_app_clicks_1d"]
    df = pd.DataFrame({c: rng.integers(0, 50, 500).astype(np.int64) for c in columns})
    df["label"] = (df[columns[0]] > 25).astype(np.int64)
    pipeline = Pipeline([], columns).fit(df)
    result = train("xgboost", pipeline.transform(df), df["label"].to_numpy(float),
                   params={"num_boost_round": 20, "max_depth": 4}, seed=0, feature_names=pipeline.output_columns)
    build_bundle(result, algorithm="xgboost", label="label", frame=df, pipeline=pipeline).save(directory)
    return directory


def prepare(home: Path, env: dict[str, str], rows: int) -> dict[str, Any]:
    from examples.talkingdata.make_data import make

    shoal = [sys.executable, "-m", "shoal.cli.entry"]
    clicks = home.parent / "clicks.csv"
    make(str(clicks), rows=rows)
    model = save_model(home.parent / "model")
    steps = [
        [*shoal, "init"],
        [*shoal, "features", "import", "talkingdata", str(clicks)],
        [*shoal, "features", "deploy", "td", str(FEATURES_SQL)],
        [*shoal, "model", "register", "ctr", str(model), "--feature-set", "td"],
        [*shoal, "model", "register", "ctr", str(model), "--feature-set", "td"],
    ]
    for step in steps:
        subprocess.run(step, env=env, cwd=REPO, check=True, capture_output=True, timeout=600)
    done = subprocess.run([*shoal, "features", "online-import", "td", "--json"], env=env, cwd=REPO, check=True,
                          capture_output=True, timeout=600)
    return json.loads(done.stdout)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000, help="clicks in the table (make demo: 200,000)")
    ap.add_argument("--reps", type=int, default=11, help="runs of each command; the median is reported")
    ap.add_argument("--no-write", action="store_true", help=f"print the JSON only, do not write {RESULT_FILE.name}")
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    facts = machine_facts(("shoal",), dirty_path="shoal")
    shoal = [sys.executable, "-m", "shoal.cli.entry"]
    names = ("shoal model release", "shoal features compute", "shoal runs list")
    samples: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory(prefix="shoal-bench-model-features-") as tmp:
        home = Path(tmp) / "home"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHOAL_")}
        env.update(SHOAL_HOME=str(home), COLUMNS="120")
        log(f"preparing {home}: {args.rows} clicks, feature set td online, model ctr v1 and v2")
        online = prepare(home, env, args.rows)
        compute = [*shoal, "features", "compute", "td", "--row", json.dumps(CLICK)]
        listing = [*shoal, "runs", "list"]
        for cmd in ([*shoal, "model", "release", "ctr", "1"], compute, listing):  # warm caches, untimed
            timed_command(cmd, env, timeout=120)
        for i in range(args.reps):
            version = str(2 - i % 2)  # 2, 1, 2, ...: every release moves the alias
            release = [*shoal, "model", "release", "ctr", version]
            samples["shoal model release"].append(timed_command(release, env, timeout=120))
            samples["shoal features compute"].append(timed_command(compute, env, timeout=120))
            samples["shoal runs list"].append(timed_command(listing, env, timeout=120))
            log(f"round {i + 1}/{args.reps}: " + ", ".join(f"{n} {s[-1]:.0f} ms" for n, s in samples.items()))
    results = {name: {"median_ms": round(statistics.median(s), 1), "min_ms": round(min(s), 1)}
               for name, s in samples.items()}
    anchor = results["shoal runs list"]["median_ms"]
    for name in names[:2]:
        results[name]["over_runs_list"] = round(results[name]["median_ms"] / anchor, 2)
    facts["loadavg_end"] = list(os.getloadavg())
    result = {
        "benchmark": "model_feature_commands",
        "machine": facts,
        "config": {
            "reps": args.reps, "rows": args.rows,
            "online": {k: online[k] for k in ("rows_read", "rows_stored", "keys", "rows")},
            "method": "wall time of a fresh process, start to exit (subprocess.run, output captured), commands "
                      "interleaved round robin after one untimed run each; SQLite home under a temp dir",
        },
        "results": results,
        "elapsed_s": round(time.perf_counter() - t_start, 1),
    }
    emit(result, RESULT_FILE, write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
