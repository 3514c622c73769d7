"""The Airflow 3 anchor of the web UI benchmark: the same 200-task DAG and a history of runs, its UI.

Reuses the API benchmark's Airflow (`_api_airflow`: the venv `.bench/airflow-venv` from
requirements-airflow.txt, a SQLite AIRFLOW_HOME, `airflow api-server`, which also serves
Airflow's React UI, and the simple auth manager with one admin user and a password).

`UiSite(venv, root, runs, spec, port)`:
1. writes two DAG files: the four 20-task DAGs of `_api_history` (as the API benchmark) and
   the 200-task workflow of `_ui_seed.big_workflow` as a DAG with the same task ids and edges
   (shell -> BashOperator, sql -> SQLExecuteQueryOperator, switch and condition ->
   BranchPythonOperator (the condition with trigger rule all_done, as shoal's), the ML tasks ->
   PythonOperator with the same params as op_kwargs; `summary` all_done);
2. `airflow db migrate`, `airflow dags reserialize`, starts `airflow api-server`;
3. the history: one run of each DAG triggered through the API, then copied with sqlite3 into
   `runs` dag runs of `_api_history.plan(runs)` (`_api_history`'s code, as the API benchmark);
   and one triggered run of the 200-task DAG whose task instances get the states and times of
   shoal's seeded run (`_ui_seed.big_run_states` / `big_run_times`), the run marked success.

Stdlib only.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
import urllib.parse
from pathlib import Path
from typing import Any

import _api_airflow as af
import _api_history as history
import _ui_seed as seed

BIG_DAG_FILE = '''
import datetime as dt
import json

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import BranchPythonOperator, PythonOperator
from airflow.sdk import DAG

SPEC = json.loads({spec!r})


def ml_task(**params):
    return params


def branch(**params):
    return params["choose"]


with DAG(SPEC["name"], schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False,
         description=SPEC["description"], params=SPEC.get("params", {{}})) as dag:
    ops = {{}}
    for t in SPEC["tasks"]:
        kind, name = t["type"], t["name"]
        rule = t.get("trigger_rule") or ("all_done" if kind == "condition" else "all_success")
        if kind == "shell":
            op = BashOperator(task_id=name, bash_command=t["command"], trigger_rule=rule)
        elif kind == "sql":
            op = SQLExecuteQueryOperator(task_id=name, conn_id="warehouse", sql=t["sql"], trigger_rule=rule)
        elif kind == "switch":
            targets = [c["then"] for c in t["cases"]] + ([t["default"]] if t.get("default") else [])
            op = BranchPythonOperator(task_id=name, python_callable=branch, op_kwargs={{"choose": targets[0],
                                      "cases": t["cases"]}}, trigger_rule=rule)
        elif kind == "condition":
            op = BranchPythonOperator(task_id=name, python_callable=branch,
                                      op_kwargs={{"choose": t["success_branch"], "failure": t["failure_branch"]}},
                                      trigger_rule=rule)
        else:
            params = {{k: v for k, v in t.items() if k not in ("name", "type", "upstream")}}
            op = PythonOperator(task_id=name, python_callable=ml_task, op_kwargs=params, trigger_rule=rule)
        ops[name] = op
    for t in SPEC["tasks"]:
        for up in t.get("upstream", []):
            ops[up] >> ops[t["name"]]
'''

# shoal task-run state -> Airflow task-instance state
TI_STATE = {"success": "success", "failed": "failed", "skipped": "skipped", "upstream_failed": "upstream_failed"}


class UiSite(af.Site):
    """An Airflow home with the history DAGs, the big DAG and one finished run of it."""

    def __init__(self, venv: Path, root: Path, runs: int, spec: dict[str, Any], port: int | None = None) -> None:
        super().__init__(venv, root, runs)
        self.spec = spec
        if port is not None:
            self.port = port
            self.base = f"http://127.0.0.1:{port}"
        self.big_run_id = ""

    def prepare(self) -> dict[str, Any]:
        import secrets

        t0 = time.perf_counter()
        (self.root / "dags").mkdir(parents=True, exist_ok=True)
        self.jwt_secret = secrets.token_urlsafe(32)
        self.password = secrets.token_urlsafe(16)
        (self.root / "passwords.json").write_text(json.dumps({af.USER: self.password}))
        (self.root / "dags" / "bench_dags.py").write_text(
            af.DAG_FILE.format(workflows=history.WORKFLOWS, tasks=history.TASK_NAMES))
        (self.root / "dags" / "big_dag.py").write_text(BIG_DAG_FILE.format(spec=json.dumps(self.spec)))
        self.airflow("db", "migrate")
        self.airflow("dags", "reserialize")
        want = sorted([*history.WORKFLOWS, self.spec["name"]])
        with sqlite3.connect(self.db) as conn:
            dags = sorted(r[0] for r in conn.execute("SELECT dag_id FROM serialized_dag"))
        if dags != want:
            raise RuntimeError(f"airflow dags reserialize stored {dags}, not {want} (a DAG file failed to import?)")
        t_migrate = time.perf_counter() - t0
        self.start()
        t1 = time.perf_counter()
        if self.runs:
            self._seed({wf: self._trigger(wf) for wf in history.WORKFLOWS})
        self.big_run_id = self._trigger(self.spec["name"])
        self._finish_big_run()
        seed_s = time.perf_counter() - t1
        with sqlite3.connect(self.db) as conn:
            counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("dag_run", "task_instance")}
        tis = self._call("GET", f"/api/v2/dags/{self.spec['name']}/dagRuns/"
                                f"{urllib.parse.quote(self.big_run_id, safe='')}/taskInstances?limit=1000")
        if tis["total_entries"] != len(self.spec["tasks"]):
            raise RuntimeError(f"the big DAG's run has {tis['total_entries']} task instances, "
                               f"not {len(self.spec['tasks'])}")
        return {"dag_runs": counts["dag_run"], "task_instances": counts["task_instance"], "dags": len(dags),
                "db_bytes": self.db.stat().st_size, "migrate_reserialize_s": round(t_migrate, 1),
                "seed_s": round(seed_s, 2), "big_run_id": self.big_run_id}

    def _finish_big_run(self) -> None:
        """The triggered run of the big DAG as shoal's seeded run ended: states, times, success."""
        start = history.LAST_DATE + dt.timedelta(hours=1, seconds=5)
        times, ended = seed.big_run_times(self.spec, start)
        states = seed.big_run_states(self.spec)
        dag_id = self.spec["name"]
        with sqlite3.connect(self.db, timeout=60) as conn:
            for name, state in states.items():
                begin, end, secs = times.get(name, (None, None, None))
                conn.execute(
                    "UPDATE task_instance SET state = ?, start_date = ?, end_date = ?, duration = ?, try_number = ?, "
                    "hostname = ?, queued_dttm = ? WHERE dag_id = ? AND run_id = ? AND task_id = ?",
                    (TI_STATE[state], af._ts(begin), af._ts(end), secs, 1 if begin else 0,
                     "bench-host" if begin else "", af._ts(begin), dag_id, self.big_run_id, name))
            conn.execute("UPDATE dag_run SET state = 'success', start_date = ?, end_date = ? "
                         "WHERE dag_id = ? AND run_id = ?", (af._ts(start), af._ts(ended), dag_id, self.big_run_id))
            conn.commit()
