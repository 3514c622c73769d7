"""The MLflow anchor of the serving benchmark: its own venv, logging an xgboost booster, `mlflow models serve`.

MLflow never goes into the project's venv. `ensure_mlflow_venv()` creates `.bench/mlflow-venv`
(gitignored) with `python3 -m venv` and installs `mlflow>=3,<4`, `xgboost-cpu==<the version in the
project's venv>` and `pandas`; `.bench-requirements` in the venv records what was installed, and a
change of that list reinstalls.

`log_xgboost()` runs a small script with that venv's python which loads `model.ubj` into an
`xgb.Booster`, sets the feature names and logs it with `mlflow.xgboost.log_model` (signature:
float64 columns in, one float out) into a SQLite tracking store under `workdir`; it returns the
local artifact directory of the logged model (an MLmodel directory), which `mlflow models serve -m`
takes without a tracking server.

`mlflow_serve_argv()` gives argv + env for `mlflow models serve --env-manager local` with ONE
uvicorn worker (shoal serves in one process: fair comparison); MLflow starts uvicorn as a
subprocess found on PATH, so the venv's bin goes first on PATH.

Stdlib only: importable from any interpreter.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _machine  # the benchmarks directory is on sys.path wherever this module is imported

REPO = Path(__file__).resolve().parent.parent
DEFAULT_VENV = REPO / ".bench" / "mlflow-venv"
MLFLOW_WORKERS = 1


def _log(msg: str) -> None:
    print(f"[serving-mlflow {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def xgboost_version() -> str:
    """The xgboost version of the interpreter running this (the project's venv)."""
    for dist in ("xgboost-cpu", "xgboost"):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    import xgboost

    return str(xgboost.__version__)


def mlflow_requirements() -> list[str]:
    return ["mlflow>=3,<4", f"xgboost-cpu=={xgboost_version()}", "pandas"]


def venv_python(venv: Path) -> Path:
    return Path(venv) / "bin" / "python"


def ensure_mlflow_venv(path: Path = DEFAULT_VENV) -> Path:
    """The MLflow venv (created, or updated when the requirement list changed); returns the venv dir."""
    venv = Path(path)
    if not venv.is_absolute():
        venv = REPO / venv
    t0 = time.monotonic()
    if not _machine.anchor_venv(venv, mlflow_requirements(), _log):
        return venv
    _log(f"MLflow venv ready in {time.monotonic() - t0:.0f} s: mlflow {mlflow_version(venv)}")
    return venv


def mlflow_version(venv: Path = DEFAULT_VENV) -> str | None:
    out = subprocess.run(
        [str(venv_python(venv)), "-c", "import importlib.metadata as m; print(m.version('mlflow'))"],
        check=False, capture_output=True, text=True,
    )
    return out.stdout.strip() or None


def venv_versions(venv: Path = DEFAULT_VENV) -> dict[str, str | None]:
    """Versions of what the MLflow server runs on (pandas matters: MLflow's per-request cost is mostly pandas)."""
    dists = ["mlflow", "xgboost-cpu", "pandas", "numpy", "fastapi", "uvicorn", "starlette"]
    code = ("import importlib.metadata as m, json, sys\n"
            "def v(d):\n    try: return m.version(d)\n    except m.PackageNotFoundError: return None\n"
            "print(json.dumps({d: v(d) for d in sys.argv[1:]}))")
    out = subprocess.run([str(venv_python(venv)), "-c", code, *dists], check=False, capture_output=True, text=True)
    try:
        return dict(json.loads(out.stdout))
    except ValueError:
        return dict.fromkeys(dists)


def _base_env(venv: Path, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MLFLOW_") and k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update({
        "PATH": f"{Path(venv) / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        "VIRTUAL_ENV": str(venv),
        "MLFLOW_TRACKING_URI": f"sqlite:///{Path(workdir).resolve() / 'mlflow.db'}",
        # No telemetry, no network: everything stays on loopback.
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    })
    return env


_LOG_SCRIPT = r"""
import json, sys, warnings
warnings.filterwarnings("ignore")
import mlflow, mlflow.xgboost, xgboost as xgb
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

booster_path, names, artifacts = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
booster = xgb.Booster()
booster.load_model(booster_path)
booster.feature_names = names
booster.feature_types = ["float"] * len(names)
signature = ModelSignature(
    inputs=Schema([ColSpec("double", n) for n in names]),
    outputs=Schema([ColSpec("double")]),
)
exp = mlflow.get_experiment_by_name("shoal-serving-bench")
exp_id = exp.experiment_id if exp else mlflow.create_experiment("shoal-serving-bench", artifact_location=artifacts)
with mlflow.start_run(experiment_id=exp_id) as run:
    info = mlflow.xgboost.log_model(booster, name="model", signature=signature, model_format="ubj")
local = mlflow.artifacts.download_artifacts(artifact_uri=info.model_uri)
print(json.dumps({"model_uri": info.model_uri, "run_id": run.info.run_id, "local_path": local,
                  "mlflow": mlflow.__version__, "xgboost": xgb.__version__}))
"""


def log_xgboost(venv: Path, booster_path: Path, feature_names: Sequence[str], workdir: Path,
                info: dict[str, Any] | None = None) -> str:
    """Log `booster_path` (model.ubj) with mlflow.xgboost into a SQLite store under `workdir`.

    Returns a model URI for `mlflow models serve -m`: the local directory of the logged model
    (an MLmodel dir). `info`, if given, is filled with model_uri (models:/...), run_id, versions.
    """
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    env = _base_env(venv, workdir)
    proc = subprocess.run(
        [str(venv_python(venv)), "-c", _LOG_SCRIPT, str(Path(booster_path).resolve()),
         json.dumps(list(feature_names)), str(workdir / "artifacts")],
        check=False, capture_output=True, text=True, env=env, cwd=workdir, timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"logging the booster with MLflow failed (exit {proc.returncode}):\n"
                           f"{proc.stderr[-4000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if info is not None:
        info.update(out)
    return str(out["local_path"])


def mlflow_serve_argv(venv: Path, model_uri: str, port: int, workdir: Path | None = None,
                      workers: int = MLFLOW_WORKERS, omp_num_threads: int | None = 1,
                      access_log: bool = True) -> tuple[list[str], dict[str, str]]:
    """argv + env of `mlflow models serve` for `model_uri` on 127.0.0.1:`port` (no conda/virtualenv).

    `omp_num_threads`: OMP_NUM_THREADS for the server (xgboost's OpenMP pool; None = leave it to
    the runtime = all cores). One thread is much faster for one-row predictions on a small box and
    OpenMP spin-waits badly when cores are shared: give shoal's server the same value.
    `access_log=False` sets UVICORN_ACCESS_LOG=false (uvicorn reads UVICORN_* env vars; MLflow
    itself runs uvicorn with its default access log on INFO).
    """
    workdir = Path(workdir) if workdir is not None else Path(model_uri).parent
    env = _base_env(venv, workdir)
    if omp_num_threads is not None:
        env["OMP_NUM_THREADS"] = str(omp_num_threads)
    if not access_log:
        env["UVICORN_ACCESS_LOG"] = "false"
    # `-w N` becomes `uvicorn --workers N`; with 1, uvicorn serves in its own process (no supervisor).
    argv = [str(Path(venv) / "bin" / "mlflow"), "models", "serve", "-m", str(model_uri),
            "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", str(workers)]
    return argv, env


def mlflow_body(rows: Sequence[dict[str, float]] | Sequence[Sequence[float]], columns: Sequence[str]) -> bytes:
    """`{"dataframe_split": {"columns": [...], "data": [[...], ...]}}` for POST /invocations."""
    data = [[r[c] for c in columns] if isinstance(r, dict) else list(r) for r in rows]
    return json.dumps({"dataframe_split": {"columns": list(columns), "data": data}},
                      separators=(",", ":")).encode()


def mlflow_records_body(rows: Sequence[dict[str, float]]) -> bytes:
    """`{"dataframe_records": [{...}, ...]}` for POST /invocations."""
    return json.dumps({"dataframe_records": list(rows)}, separators=(",", ":")).encode()


HEALTH_PATH = "/ping"  # MLflow's scoring server: GET /ping (and /health) -> 200 once the model is loaded
PREDICT_PATH = "/invocations"
