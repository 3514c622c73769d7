"""The Airflow 3 anchor of the API benchmark: its own venv, a SQLite home per history, `airflow api-server`.

Airflow never goes into the project's venv. `ensure_venv()` creates `.bench/airflow-venv`
(gitignored) with `python3 -m venv` and installs benchmarks/requirements-airflow.txt;
`.bench-requirements` in the venv records what was installed, and a change reinstalls.

`Site(venv, root, runs)` is one AIRFLOW_HOME on SQLite (its default database) with the four
workflows of `_api_history` as DAGs of 20 BashOperator tasks (same names, same edges) and the
simple auth manager with one admin user. `prepare()`:
1. `airflow db migrate`, `airflow dags reserialize` (the DAGs into the database, as the DAG
   processor would store them; no scheduler or DAG processor runs afterwards);
2. starts `airflow api-server --workers 1` (one uvicorn worker, as `shoal api`) and takes a JWT
   from POST /auth/token;
3. triggers one dag run of each DAG through the API (POST dagRuns: Airflow's own code writes
   the run and its 20 task instances), then copies those rows, with sqlite3, into the history
   of `_api_history.plan(runs)`: the same dates and states (a stopped shoal run is a queued
   Airflow run, stopped and pending task runs are task instances without a state, since Airflow
   has no stopped run), and deletes the templates. The history is then exactly `runs` dag runs
   with 20 task instances each.

Calls measured (same clients as shoal's):
- list: GET /api/v2/dags/W/dagRuns?state=S&limit=50&order_by=-id (newest first, as shoal)
- show: GET /api/v2/dags/W/dagRuns/R then GET .../dagRuns/R/taskInstances (Airflow has no call
        returning a run with its task instances: two requests, timed together)
- post: POST /api/v2/dags/W/dagRuns {"logical_date": null} (a manual run; creates its task
        instances; no scheduler runs, so it stays queued)

Stdlib only (it drives the venv's `airflow` through subprocesses and HTTP, and the database through sqlite3).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import secrets
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _api_history as history
import _api_load as load
import _machine
import _serving_load as servers

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DEFAULT_VENV = REPO / ".bench" / "airflow-venv"
REQUIREMENTS = BENCH / "requirements-airflow.txt"
USER = "bench"

DAG_FILE = '''
import datetime as dt

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

WORKFLOWS = {workflows!r}
TASKS = {tasks!r}

for name in WORKFLOWS:
    with DAG(name, schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False) as dag:
        ops = [BashOperator(task_id=t, bash_command=f"echo {{name}} {{t}}") for t in TASKS]
        for i, op in enumerate(ops):
            if i:
                ops[i - 1] >> op
            if i >= 3 and i % 4 == 3:
                ops[i - 3] >> op
    globals()[name] = dag
'''

# shoal state -> Airflow state (None: no state yet)
RUN_STATE = {"success": "success", "failed": "failed", "running": "running", "stopped": "queued", "queued": "queued"}
TI_STATE = {"success": "success", "failed": "failed", "upstream_failed": "upstream_failed", "running": "running",
            "pending": None, "stopped": None}


def _log(msg: str) -> None:
    print(f"[api-airflow {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def requirements() -> list[str]:
    return [ln.strip() for ln in REQUIREMENTS.read_text().splitlines() if ln.strip() and not ln.startswith("#")]


def ensure_venv(path: Path = DEFAULT_VENV) -> Path:
    """The Airflow venv (created, or reinstalled when requirements-airflow.txt changed)."""
    venv = Path(path)
    t0 = time.monotonic()
    if not _machine.anchor_venv(venv, requirements(), _log):
        return venv
    _log(f"Airflow venv ready in {time.monotonic() - t0:.0f}s")
    return venv


def versions(venv: Path) -> dict[str, Any]:
    code = ("import importlib.metadata as m, json, sqlite3, sys; print(json.dumps({d: m.version(d) for d in "
            "('apache-airflow', 'fastapi', 'uvicorn', 'sqlalchemy')} | {'sqlite': sqlite3.sqlite_version, "
            "'python': sys.version.split()[0]}))")
    out = subprocess.run([str(venv / "bin" / "python"), "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _ts(value: dt.datetime | None) -> str | None:
    """How Airflow's UtcDateTime columns hold a time in SQLite (naive UTC text)."""
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S.%f")


class Site:
    """One AIRFLOW_HOME with `runs` dag runs of history and its API server."""

    def __init__(self, venv: Path, root: Path, runs: int) -> None:
        self.venv, self.root, self.runs = venv, root, runs
        self.db = root / "airflow.db"
        self.port = servers.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.headers: dict[str, str] = {}
        self.seeded: list[tuple[str, str]] = []  # (dag_id, run_id) of the history
        self.max_id = 0

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SHOAL_"))}
        env.update({
            "AIRFLOW_HOME": str(self.root),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.root / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db}",
            "AIRFLOW__CORE__AUTH_MANAGER":
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.root / "passwords.json"),
            "AIRFLOW__API_AUTH__JWT_SECRET": self.jwt_secret,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "PATH": f"{self.venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        })
        return env

    def airflow(self, *args: str, timeout: float = 600) -> str:
        proc = subprocess.run([str(self.venv / "bin" / "airflow"), *args], env=self.env(), capture_output=True,
                              text=True, timeout=timeout, cwd=self.root)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout)[-1500:]
            raise RuntimeError(f"airflow {' '.join(args)} exited {proc.returncode}: {tail}")
        return proc.stdout

    def prepare(self) -> dict[str, Any]:
        t0 = time.perf_counter()
        (self.root / "dags").mkdir(parents=True, exist_ok=True)
        self.jwt_secret = secrets.token_urlsafe(32)
        self.password = secrets.token_urlsafe(16)
        (self.root / "passwords.json").write_text(json.dumps({USER: self.password}))
        (self.root / "dags" / "bench_dags.py").write_text(
            DAG_FILE.format(workflows=history.WORKFLOWS, tasks=history.TASK_NAMES))
        self.airflow("db", "migrate")
        self.airflow("dags", "reserialize")
        with sqlite3.connect(self.db) as conn:
            dags = [r[0] for r in conn.execute("SELECT dag_id FROM serialized_dag ORDER BY dag_id")]
        if sorted(dags) != sorted(history.WORKFLOWS):
            raise RuntimeError(f"airflow dags reserialize stored {dags}, not {list(history.WORKFLOWS)}")
        t_migrate = time.perf_counter() - t0
        self.start()
        templates = {wf: self._trigger(wf) for wf in history.WORKFLOWS}
        t1 = time.perf_counter()
        self._seed(templates)
        seed_s = time.perf_counter() - t1
        with sqlite3.connect(self.db) as conn:
            counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("dag_run", "task_instance")}
        info = {"dag_runs": counts["dag_run"], "task_instances": counts["task_instance"],
                "db_bytes": self.db.stat().st_size, "migrate_reserialize_s": round(t_migrate, 1),
                "insert_s": round(seed_s, 2), "journal_mode": self._journal_mode()}
        info["answers"] = self.check()
        return info

    def _journal_mode(self) -> str:
        with sqlite3.connect(self.db) as conn:
            return str(conn.execute("PRAGMA journal_mode").fetchone()[0])

    def start(self) -> None:
        argv = [str(self.venv / "bin" / "airflow"), "api-server", "--port", str(self.port), "--host", "127.0.0.1",
                "--workers", "1"]
        self.proc = servers.start_server(argv, self.env(), self.port, cwd=self.root, name=f"airflow-api-{self.runs}")
        ready = servers.wait_ready(f"{self.base}/api/v2/monitor/health", timeout=300, proc=self.proc)
        _log(f"airflow api-server on {self.runs:,} runs ready in {ready:.1f}s (port {self.port})")
        body = json.dumps({"username": USER, "password": self.password}).encode()
        req = urllib.request.Request(f"{self.base}/auth/token", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            token = json.loads(resp.read())["access_token"]
        self.headers = {"Authorization": f"Bearer {token}"}

    def stop(self) -> None:
        if self.proc is not None:
            servers.stop_server(self.proc)
            self.proc = None

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={**self.headers, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read())

    def _trigger(self, dag_id: str) -> str:
        return str(self._call("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None})["dag_run_id"])

    def _seed(self, templates: dict[str, str]) -> None:
        """Copy each DAG's template run (and its task instances) into the planned history."""
        planned = history.plan(self.runs)
        with sqlite3.connect(self.db) as conn:
            conn.row_factory = sqlite3.Row
            run_tpl: dict[str, dict[str, Any]] = {}
            ti_tpl: dict[str, dict[str, dict[str, Any]]] = {}
            for dag_id, run_id in templates.items():
                run_tpl[dag_id] = dict(conn.execute("SELECT * FROM dag_run WHERE dag_id = ? AND run_id = ?",
                                                    (dag_id, run_id)).fetchone())
                tis = conn.execute("SELECT * FROM task_instance WHERE dag_id = ? AND run_id = ?", (dag_id, run_id))
                ti_tpl[dag_id] = {r["task_id"]: dict(r) for r in tis}
                if len(ti_tpl[dag_id]) != history.TASKS:
                    raise RuntimeError(f"a triggered run of {dag_id} has {len(ti_tpl[dag_id])} task instances")
            sample_id = next(iter(ti_tpl[history.WORKFLOWS[0]].values()))["id"]
            dashed = "-" in str(sample_id)
            for dag_id, run_id in templates.items():
                conn.execute("DELETE FROM task_instance WHERE dag_id = ? AND run_id = ?", (dag_id, run_id))
                conn.execute("DELETE FROM dag_run WHERE dag_id = ? AND run_id = ?", (dag_id, run_id))
            run_cols = [c for c in run_tpl[history.WORKFLOWS[0]] if c != "id"]
            ti_cols = list(next(iter(ti_tpl[history.WORKFLOWS[0]].values())))
            run_sql = f"INSERT INTO dag_run ({', '.join(run_cols)}) VALUES ({', '.join('?' * len(run_cols))})"
            ti_sql = f"INSERT INTO task_instance ({', '.join(ti_cols)}) VALUES ({', '.join('?' * len(ti_cols))})"
            run_rows, ti_rows = [], []
            for p in planned:
                rid = f"scheduled__{p.logical_date.isoformat()}+00:00"
                row = dict(run_tpl[p.workflow])
                row.update(run_id=rid, run_type="scheduled", state=RUN_STATE[p.state],
                           logical_date=_ts(p.logical_date), run_after=_ts(p.logical_date),
                           data_interval_start=_ts(p.logical_date), data_interval_end=_ts(p.logical_date),
                           queued_at=_ts(p.logical_date), start_date=_ts(p.started_at), end_date=_ts(p.ended_at),
                           created_at=_ts(p.logical_date), updated_at=_ts(p.ended_at or p.started_at or p.logical_date))
                run_rows.append([row[c] for c in run_cols])
                clock = p.started_at
                for name, state, secs in zip(history.TASK_NAMES, p.task_states, p.task_seconds, strict=True):
                    ti = dict(ti_tpl[p.workflow][name])
                    ran = state in ("success", "failed", "running")
                    ended = state in ("success", "failed")
                    new_id = uuid.uuid4()
                    ti.update(id=str(new_id) if dashed else new_id.hex, run_id=rid, state=TI_STATE[state],
                              try_number=1 if ran else 0, start_date=_ts(clock) if ran else None,
                              end_date=None, duration=None, hostname="bench-host" if ran else None,
                              pid=4242 if ran else None, queued_dttm=_ts(clock) if ran else None,
                              updated_at=_ts(clock) if clock else None)
                    if ended and clock is not None:
                        end = clock + dt.timedelta(seconds=secs)
                        ti.update(end_date=_ts(end), duration=secs)
                        clock = end
                    ti_rows.append([ti[c] for c in ti_cols])
                self.seeded.append((p.workflow, rid))
            conn.executemany(run_sql, run_rows)
            conn.executemany(ti_sql, ti_rows)
            conn.commit()
            self.max_id = int(conn.execute("SELECT max(id) FROM dag_run").fetchone()[0])

    def check(self) -> dict[str, Any]:
        page = self._call("GET", "/api/v2/dags/ingest/dagRuns?state=success&limit=50&order_by=-id")
        wf, rid = self.seeded[-1]
        run = self._call("GET", f"/api/v2/dags/{wf}/dagRuns/{rid}")
        tis = self._call("GET", f"/api/v2/dags/{wf}/dagRuns/{rid}/taskInstances")
        runs = page["dag_runs"]
        assert runs and all(r["dag_id"] == "ingest" and r["state"] == "success" for r in runs), runs[:2]
        assert tis["total_entries"] == history.TASKS, tis
        return {"list_items": len(runs), "list_total_entries": page.get("total_entries"),
                "list_bytes": len(json.dumps(page)), "show_tasks": len(tis["task_instances"]),
                "show_bytes": len(json.dumps(run)) + len(json.dumps(tis))}

    def samples(self) -> dict[str, Callable[[random.Random, int], list[load.Sample]]]:
        wfs, states = history.WORKFLOWS, history.LIST_STATES

        def list_(rng: random.Random, k: int) -> list[load.Sample]:
            out = []
            for _ in range(k):
                wf, st = rng.choice(wfs), rng.choice(states)
                out.append((st, [load.get(f"/api/v2/dags/{wf}/dagRuns?state={st}&limit=50&order_by=-id")]))
            return out

        def list_page20(rng: random.Random, k: int) -> list[load.Sample]:
            return [("page20", [load.get(f"/api/v2/dags/{rng.choice(wfs)}/dagRuns?limit=20&order_by=-id")])
                    for _ in range(k)]

        def show(rng: random.Random, k: int) -> list[load.Sample]:
            out = []
            for _ in range(k):
                wf, rid = rng.choice(self.seeded)
                q = urllib.parse.quote(rid, safe="")
                out.append(("show", [load.get(f"/api/v2/dags/{wf}/dagRuns/{q}"),
                                     load.get(f"/api/v2/dags/{wf}/dagRuns/{q}/taskInstances")]))
            return out

        def post(rng: random.Random, k: int) -> list[load.Sample]:
            return [("post", [load.post(f"/api/v2/dags/{rng.choice(wfs)}/dagRuns", {"logical_date": None}, 200)])
                    for _ in range(k)]

        return {"list": list_, "list_page20": list_page20, "show": show, "post": post}

    def delete_posted(self) -> int:
        """Remove the runs the POST phase made (ids above the history's) and their task instances."""
        with sqlite3.connect(self.db, timeout=60) as conn:
            made = conn.execute("SELECT dag_id, run_id FROM dag_run WHERE id > ?", (self.max_id,)).fetchall()
            conn.executemany("DELETE FROM task_instance WHERE dag_id = ? AND run_id = ?", made)
            conn.execute("DELETE FROM dag_run WHERE id > ?", (self.max_id,))
            conn.commit()
        return len(made)
