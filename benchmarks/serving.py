"""Model serving: shoal's model server vs `mlflow models serve` on the same xgboost booster.

One run, on this machine, loopback only:
1. runs the TalkingData workflow (examples/talkingdata/workflow.yaml, 200,000 generated clicks)
   in a scratch SHOAL_HOME, with early stopping off so the booster has exactly 100 trees; the
   workflow releases `talkingdata` (online features + preprocessing + xgboost);
2. registers the same booster without features or preprocessing as `talkingdata_bare` (the
   request is the model's 15 feature values), and logs the same `model.ubj` with MLflow (its own
   venv under .bench/, `mlflow.xgboost.log_model`, float64 signature);
3. serves, one server at a time, each pinned to one core with OMP_NUM_THREADS=1 (wrk and the
   client on the other core), and measures single-row latency (2,000 sequential requests on one
   keep-alive connection, after 200 warm-up) and throughput (wrk, 8 connections, 10 s):
     - mlflow:             POST /invocations, dataframe_split of the feature row
     - shoal_bare:         POST /predict, the feature row as a JSON object
     - shoal_bare_mlflow:  POST /invocations on shoal, the same body as MLflow's
     - shoal_features:     POST /predict, a raw click: online window features from the memory
                           store + the saved preprocessing + the model
     - fastapi_floor:      a bare FastAPI/uvicorn endpoint returning a constant (the anchor: no
                           Python server on this stack can beat it)
4. measures release -> first response by the new version: with shoal_features serving (default
   poll 0.5 s), registers and releases a new version and polls /predict until it answers with it;
5. measures single clicks next to large requests (shoal_features_next_to_large): one client posts
   10,000-click requests back to back while another posts single clicks on its own connection
   for 8 s; how many single clicks were answered and their latency (a large request must not
   stall the small ones: scoring it runs in a worker thread).

Targets (issue 5): shoal_bare p99 <= 2 ms; shoal_features p99 <= 5 ms; shoal_bare req/s >= 3x
MLflow's in the same run.

Prints ONE JSON line and writes benchmarks/results/serving.json.
Usage: python benchmarks/serving.py [--rows 200000] [--n 2000] [--seconds 10] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO))
import _machine  # noqa: E402
import _serving_load as load  # noqa: E402
import _serving_mlflow as mlf  # noqa: E402

FLOOR_APP = '''
from fastapi import FastAPI, Request
app = FastAPI()

@app.get("/health")
def health():
    return {"status": "ok"}

@app.post("/predict")
async def predict(request: Request):
    await request.body()
    return {"score": 0.5}
'''


def log(msg: str) -> None:
    print(f"[serving {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def shoal(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHOAL_HOME": str(home)}
    return subprocess.run([str(Path(sys.executable).parent / "shoal"), *args], env=env, check=True,
                          capture_output=True, text=True)


def serve_argv(home: Path, model: str, port: int) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "SHOAL_HOME": str(home), "OMP_NUM_THREADS": "1"}
    return [str(Path(sys.executable).parent / "shoal"), "serve", model, "--port", str(port)], env


def train_demo_model(home: Path, rows: int) -> None:
    """The TalkingData workflow, with early stopping off: a 100-tree booster, released."""
    from examples.talkingdata.make_data import make

    wf_dir = home / "wf"
    shutil.copytree(REPO / "examples" / "talkingdata", wf_dir, ignore=shutil.ignore_patterns("__pycache__"))
    doc = yaml.safe_load((wf_dir / "workflow.yaml").read_text())
    for task in doc["tasks"]:
        if task["type"] == "train":
            task.pop("early_stopping_rounds", None)
            task["hyperparams"]["num_boost_round"] = 100
    (wf_dir / "workflow.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    make(str(wf_dir / "clicks.csv"), rows=rows)
    shoal(home, "workflow", "apply", str(wf_dir / "workflow.yaml"))
    started = time.monotonic()
    shoal(home, "run", "talkingdata", "--wait", "-p", f"data={wf_dir / 'clicks.csv'}")
    log(f"workflow ran in {time.monotonic() - started:.1f}s")


def bare_model(home: Path) -> tuple[Path, list[str], dict[str, float], dict[str, Any]]:
    """Register the released booster alone as talkingdata_bare; its booster file, features, a row."""
    from shoal.config import Settings
    from shoal.ml.bundle import build_bundle
    from shoal.ml.data import load_samples
    from shoal.registry import Registry
    from shoal.store import open_store

    store = open_store(Settings(home=home))
    reg = Registry(store)
    mv = reg.get("talkingdata", alias="production")
    bundle = reg.load(mv)
    test = load_samples(path=str(home / "artifacts" / "runs" / "default" / "talkingdata" / "1" / "dataset"
                                 / "test.parquet"))
    features = list(bundle.meta["features"])
    X = bundle.pipeline.transform(test)  # type: ignore[union-attr]
    import pandas as pd

    frame = pd.DataFrame(X, columns=features)
    bare = build_bundle(bundle.model, algorithm="xgboost", label=None, frame=frame, inputs=features)
    bare_dir = home / "bare_bundle"
    bare.save(bare_dir)
    reg.register("talkingdata_bare", bare_dir)
    reg.release("talkingdata_bare", 1)
    row = {f: float(v) for f, v in zip(features, X[0], strict=True)}
    info = {"trees": int(bundle.model.booster.num_boosted_rounds()) if hasattr(bundle.model, "booster") else None,
            "features": len(features), "auc": mv.metrics.get("auc")}
    store.close()
    return Path(mv.artifact_uri) / "model.ubj", features, row, info


def release_to_first_response(home: Path, port: int, repeats: int = 10) -> dict[str, Any]:
    """Release new versions under a polling client: ms from release() returning to the first answer."""
    import http.client

    from shoal.config import Settings
    from shoal.registry import Registry
    from shoal.store import open_store

    argv, env = serve_argv(home, "talkingdata", port)
    proc = load.start_server(argv, env, port, name="shoal-release")
    samples = []
    try:
        load.wait_ready(f"http://127.0.0.1:{port}/health", timeout=180, proc=proc)
        store = open_store(Settings(home=home))
        reg = Registry(store)
        source = Path(reg.get("talkingdata", version=1).artifact_uri)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        rng = random.Random(5)
        for _ in range(repeats):
            # A random wait first: a release lands anywhere in the server's poll period, not just
            # after the swap the previous loop saw (which would always cost the full period).
            time.sleep(rng.uniform(0, 0.5))
            mv = reg.register("talkingdata", source)
            reg.release("talkingdata", mv.version)
            released = time.perf_counter()
            while True:
                conn.request("GET", "/health")
                if json.loads(conn.getresponse().read())["version"] == mv.version:
                    break
            samples.append((time.perf_counter() - released) * 1000)
        store.close()
    finally:
        load.stop_server(proc)
    samples.sort()
    return {"poll_s": 0.5, "repeats": repeats, "ms": [round(s, 1) for s in samples],
            "median_ms": round(samples[len(samples) // 2], 1), "max_ms": round(samples[-1], 1)}


def small_next_to_large(home: Path, port: int, click: dict[str, Any], rows: int = 10_000,
                        seconds: float = 8.0) -> dict[str, Any]:
    """Single-click latency while another connection keeps a `rows`-click request in flight."""
    import http.client
    import statistics
    import threading

    argv, env = serve_argv(home, "talkingdata", port)
    server_cpus, client_cpus = load.split_cpus()
    proc = load.start_server(argv, env, port, name="shoal-next-to-large", cpus=server_cpus)
    own = os.sched_getaffinity(0)
    small, large = json.dumps(click).encode(), json.dumps([click] * rows).encode()
    headers = {"Content-Type": "application/json"}
    stop = threading.Event()
    large_s: list[float] = []
    errors: list[str] = []

    def post_large() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while not stop.is_set():
            t0 = time.perf_counter()
            conn.request("POST", "/predict", large, headers)
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                errors.append(f"large: HTTP {r.status}")
            large_s.append(time.perf_counter() - t0)

    try:
        load.wait_ready(f"http://127.0.0.1:{port}/health", timeout=180, proc=proc)
        if server_cpus:
            load.pin(proc.pid, server_cpus)
            os.sched_setaffinity(0, client_cpus)
        thread = threading.Thread(target=post_large, daemon=True)
        thread.start()
        while not large_s and thread.is_alive() and not errors:  # the first large request is warm-up
            time.sleep(0.01)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        times = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            t0 = time.perf_counter()
            conn.request("POST", "/predict", small, headers)
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                errors.append(f"small: HTTP {r.status}")
            times.append((time.perf_counter() - t0) * 1000)
        stop.set()
        thread.join(timeout=120)
    finally:
        stop.set()
        load.stop_server(proc)
        os.sched_setaffinity(0, own)
    times.sort()
    return {"rows": rows, "seconds": seconds, "small_requests": len(times),
            "small_p50_ms": round(times[len(times) // 2], 2), "small_p99_ms": round(times[int(len(times) * 0.99)], 2),
            "small_max_ms": round(times[-1], 2), "large_requests": len(large_s),
            "large_median_s": round(statistics.median(large_s), 3), "errors": errors[:5]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    result: dict[str, Any] = {"benchmark": "serving",
                              "machine": _machine.machine_facts(("shoal", "xgboost", "fastapi", "uvicorn"))}
    result["wrk"] = load.wrk_version(load.ensure_wrk())
    venv = mlf.ensure_mlflow_venv()
    result["mlflow_venv"] = mlf.venv_versions(venv)
    load.TMP.mkdir(parents=True, exist_ok=True)
    settings = {"n": args.n, "connections": args.connections, "seconds": args.seconds, "omp_num_threads": 1,
                "pinned": "server on one core, wrk + client on the other", "mlflow_workers": mlf.MLFLOW_WORKERS}
    result["settings"] = settings
    with tempfile.TemporaryDirectory(dir=load.TMP, prefix="serving-") as tmp:
        home = Path(tmp) / "home"
        train_demo_model(home, args.rows)
        booster, features, row, info = bare_model(home)
        result["model"] = info
        click = {"ip": 5003, "app": 3, "device": 1, "os": 13, "channel": 7, "click_time": 1510185660000}
        measure = {"n": args.n, "connections": args.connections, "seconds": args.seconds}

        model_uri = mlf.log_xgboost(venv, booster, features, Path(tmp) / "mlflow")
        port = load.free_port()
        argv, env = mlf.mlflow_serve_argv(venv, model_uri, port, workdir=Path(tmp) / "mlflow")
        mlflow_body = mlf.mlflow_body([row], features)
        result["mlflow"] = load.measure_server("mlflow", argv, env, port, mlf.HEALTH_PATH, mlf.PREDICT_PATH,
                                               mlflow_body, **measure)

        port = load.free_port()
        argv, env = serve_argv(home, "talkingdata_bare", port)
        result["shoal_bare"] = load.measure_server("shoal-bare", argv, env, port, "/health", "/predict",
                                                   json.dumps(row).encode(), **measure)
        port = load.free_port()
        argv, env = serve_argv(home, "talkingdata_bare", port)
        result["shoal_bare_mlflow"] = load.measure_server("shoal-bare-invocations", argv, env, port, "/health",
                                                          "/invocations", mlflow_body, **measure)
        port = load.free_port()
        argv, env = serve_argv(home, "talkingdata", port)
        result["shoal_features"] = load.measure_server("shoal-features", argv, env, port, "/health", "/predict",
                                                       json.dumps(click).encode(), **measure)

        app_dir = Path(tmp) / "floor"
        app_dir.mkdir()
        (app_dir / "floor_app.py").write_text(FLOOR_APP)
        port = load.free_port()
        argv = [sys.executable, "-m", "uvicorn", "--app-dir", str(app_dir), "floor_app:app", "--host", "127.0.0.1",
                "--port", str(port), "--log-level", "warning", "--no-access-log"]
        result["fastapi_floor"] = load.measure_server("fastapi-floor", argv, None, port, "/health", "/predict",
                                                      json.dumps(row).encode(), **measure)
        result["shoal_features_next_to_large"] = small_next_to_large(home, load.free_port(), click)
        result["release_to_first_response"] = release_to_first_response(home, load.free_port())

    def rps(name: str) -> float | None:
        return result[name].get("throughput", {}).get("requests_per_s")

    def p99(name: str) -> float | None:
        return result[name].get("latency", {}).get("p99_ms")

    ratios: dict[str, Any] = {}
    if rps("mlflow") and rps("shoal_bare"):
        ratios["shoal_bare_rps_over_mlflow"] = round(rps("shoal_bare") / rps("mlflow"), 2)  # type: ignore[operator]
    if rps("mlflow") and rps("shoal_bare_mlflow"):
        ratios["shoal_invocations_rps_over_mlflow"] = round(rps("shoal_bare_mlflow") / rps("mlflow"), 2)  # type: ignore[operator]
    if rps("fastapi_floor") and rps("shoal_bare"):
        ratios["shoal_bare_rps_over_floor"] = round(rps("shoal_bare") / rps("fastapi_floor"), 2)  # type: ignore[operator]
    result["ratios"] = ratios
    result["targets"] = {
        "shoal_bare_p99_le_2ms": (p99("shoal_bare") or 1e9) <= 2.0,
        "shoal_features_p99_le_5ms": (p99("shoal_features") or 1e9) <= 5.0,
        "shoal_rps_ge_3x_mlflow": ratios.get("shoal_bare_rps_over_mlflow", 0) >= 3.0,
    }
    result["machine"]["loadavg_end"] = list(os.getloadavg())
    line = json.dumps(result, separators=(",", ":"), default=str)
    print(line, flush=True)
    if not args.no_write:
        out = BENCH / "results" / "serving.json"
        out.write_text(json.dumps(result, indent=1, default=str) + "\n")
        log(f"wrote {out}")
    failed = [k for k in ("mlflow", "shoal_bare", "shoal_bare_mlflow", "shoal_features", "fastapi_floor")
              if "error" in result[k]]
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
