"""What the web UI benchmark puts in its database: many workflows, a long run history, one big DAG.

- `small_workflows(n)`: n workflows (`wf-0001`...) spread over PROJECTS, each the 20-task shell
  chain of `_api_history` (every fourth task also waits for the one three back), a description,
  and on one in four a schedule that has not begun yet (start STARTS_IN_DAYS away: the list shows
  a next fire time, and the server's scheduler creates no run while the benchmark runs).
- `big_workflow(tasks)`: the 200-task workflow, a realistic ML DAG (see its docstring), as a spec.
- `big_run_rows(spec, ...)`: one finished run of it with every task run's state and times, as a
  run would leave them (switches and conditions skipped their other branch, one model failed).
- `seed(store, ...)`: applies all of them through the service layer (`apply_files`, one
  transaction, real versions) and bulk-inserts the history as `benchmarks/api.py` does: the
  runs of `_api_history.plan(n)` (same dates, states and task-run times), round robin over the
  workflows. Only ended runs: the running and queued runs of the plan are stored as stopped,
  since the server's scheduler would otherwise take them over and run their tasks during the
  measurement.

Always the same for the same sizes (fixed random seeds).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Callable
from typing import Any

import _api_history as history

PROJECTS = ("ads", "recsys", "risk", "growth")
BIG_PROJECT = "ads"
BIG_NAME = "ml_pipeline"
STARTS_IN_DAYS = 30
ALGORITHMS = ("xgboost", "lightgbm", "lr")
SEED_BATCH = 500  # runs per INSERT batch (x20 task runs)
# The plan's states the scheduler would act on -> what is stored instead (see the docstring).
ENDED = {"running": "stopped", "queued": "stopped"}


def workflow_name(i: int) -> str:
    return f"wf-{i + 1:04d}"


def small_workflows(n: int, today: dt.date) -> list[dict[str, Any]]:
    start = (today + dt.timedelta(days=STARTS_IN_DAYS)).isoformat()
    crons = ("0 2 * * *", "30 6 * * 1-5", "0 */6 * * *", "15 3 1 * *")
    out = []
    for i in range(n):
        tasks = []
        for k, task in enumerate(history.TASK_NAMES):
            ups = [history.TASK_NAMES[k - 1]] if k else []
            if k >= 3 and k % 4 == 3:
                ups.append(history.TASK_NAMES[k - 3])
            tasks.append({"name": task, "type": "shell", "command": f"echo {workflow_name(i)} {task}",
                          **({"upstream": ups} if ups else {})})
        wf: dict[str, Any] = {"name": workflow_name(i), "project": PROJECTS[i % len(PROJECTS)],
                              "description": f"nightly {('ingest', 'features', 'training', 'report')[i % 4]} "
                                             f"job number {i + 1} of the {PROJECTS[i % len(PROJECTS)]} team",
                              "tasks": tasks}
        if i % 4 == 0:
            wf["schedule"] = {"cron": crons[(i // 4) % len(crons)], "timezone": "UTC", "start": start,
                              "catchup": False}
        out.append(wf)
    return out


def big_workflow(n: int) -> dict[str, Any]:
    """An n-task ML DAG, layered, with fan-out and fan-in and several task types.

    `start` (shell) fans out to K sources; each source is 14 tasks: `extract_i` (sql, first row
    out) -> `check_i` (switch on the row count: `dataset_i`, else `alert_i`) -> `dataset_i`
    (dataset: sql, label, random split) -> `preprocess_i` (fill_missing, log, one_hot) -> one
    `train_i_<algo>` (train, with hyperparams and early stopping) and `evaluate_i_<algo>` per
    algorithm (xgboost, lightgbm, lr) -> `gate_i` (condition over the three evaluations:
    `report_i` if all succeeded, else `page_i`). Then about n/12 `compare_j` shell tasks, each
    waiting for 3 evaluations of different sources (fan-in across pipelines), and `summary`
    waiting for every report and comparison (trigger rule all_done). K is as large as leaves
    room for the comparisons; below 16 tasks there are no sources, only comparisons after start.
    """
    tasks: list[dict[str, Any]] = [{"name": "start", "type": "shell", "command": "echo start ${ds}"}]
    per_source = 14
    k = 0
    while 2 + per_source * (k + 1) + max(1, n // 12) <= n:
        k += 1
    evaluations: list[list[str]] = []
    reports: list[str] = []
    for i in range(k):
        label = "is_attributed"
        tasks += [
            {"name": f"extract_{i}", "type": "sql", "upstream": ["start"], "output": "first_row",
             "sql": f"SELECT count(*) AS n, max(day) AS last_day FROM events_{i} WHERE day = ${{ds}}"},
            {"name": f"check_{i}", "type": "switch", "upstream": [f"extract_{i}"],
             "cases": [{"when": f"${{extract_{i}.n}} > 1000", "then": f"dataset_{i}"}], "default": f"alert_{i}"},
            {"name": f"alert_{i}", "type": "shell", "upstream": [f"check_{i}"],
             "command": f"echo 'source {i} has too few rows for ${{ds}}' >&2"},
            {"name": f"dataset_{i}", "type": "dataset", "upstream": [f"check_{i}"], "label": label,
             "sql": f"SELECT * FROM read_parquet('samples/source_{i}.parquet')", "split": "random",
             "fractions": [0.8, 0.1, 0.1], "seed": 7 + i},
            {"name": f"preprocess_{i}", "type": "preprocess", "upstream": [f"dataset_{i}"],
             "train": f"${{dataset_{i}.train}}", "label": label,
             "steps": [{"type": "fill_missing", "columns": ["clicks_1h"], "strategy": "constant", "value": 0},
                       {"type": "log", "columns": ["clicks_1h", "clicks_1d"]},
                       {"type": "one_hot", "columns": ["os"]}]},
        ]
        evals = []
        for algo in ALGORITHMS:
            hyper = {"xgboost": {"num_boost_round": 200, "max_depth": 6, "eta": 0.1},
                     "lightgbm": {"num_boost_round": 200, "num_leaves": 63, "learning_rate": 0.05},
                     "lr": {"C": 1.0}}[algo]
            tasks += [
                {"name": f"train_{i}_{algo}", "type": "train", "upstream": [f"preprocess_{i}"], "algorithm": algo,
                 "train": f"${{dataset_{i}.train}}", "validation": f"${{dataset_{i}.validation}}",
                 "preprocess": f"${{preprocess_{i}.config}}", "label": label, "hyperparams": hyper,
                 **({"early_stopping_rounds": 20} if algo != "lr" else {})},
                {"name": f"evaluate_{i}_{algo}", "type": "evaluate", "upstream": [f"train_{i}_{algo}"],
                 "model_dir": f"${{train_{i}_{algo}.model_dir}}", "data": f"${{dataset_{i}.test}}",
                 "label": label, "threshold": 0.5},
            ]
            evals.append(f"evaluate_{i}_{algo}")
        tasks += [
            {"name": f"gate_{i}", "type": "condition", "upstream": evals, "success_branch": [f"report_{i}"],
             "failure_branch": [f"page_{i}"]},
            {"name": f"report_{i}", "type": "shell", "upstream": [f"gate_{i}"],
             "command": f"echo 'source {i}: models evaluated for ${{ds}}'"},
            {"name": f"page_{i}", "type": "shell", "upstream": [f"gate_{i}"],
             "command": f"echo 'source {i}: a model failed to evaluate' >&2"},
        ]
        evaluations.append(evals)
        reports.append(f"report_{i}")
    rng = random.Random(16)
    compares = []
    for j in range(n - len(tasks) - 1):
        if len(evaluations) >= 3:
            ups = [rng.choice(evaluations[s]) for s in rng.sample(range(len(evaluations)), 3)]
        else:
            ups = ["start"]
        compares.append(f"compare_{j}")
        tasks.append({"name": f"compare_{j}", "type": "shell", "upstream": ups,
                      "command": f"echo comparing {' '.join(ups)}"})
    tasks.append({"name": "summary", "type": "shell", "upstream": reports + compares, "trigger_rule": "all_done",
                  "command": "echo all sources done for ${ds}"})
    assert len(tasks) == n, (len(tasks), n)
    return {"name": BIG_NAME, "project": BIG_PROJECT, "params": {"min_auc": "0.75"},
            "description": f"{n}-task ML pipeline: {k} sources, {len(ALGORITHMS)} models each, gated releases",
            "tasks": tasks}


DURATIONS = {"shell": (0.5, 3.0), "sql": (2.0, 12.0), "switch": (0.02, 0.08), "condition": (0.02, 0.08),
             "dataset": (20.0, 60.0), "preprocess": (10.0, 30.0), "train": (60.0, 300.0), "evaluate": (10.0, 40.0)}


def big_run_states(spec: dict[str, Any]) -> dict[str, str]:
    """Each task's state after one run: every switch picked its dataset except the last source's
    (which alerted), one model of the first source failed (its gate paged), the rest succeeded."""
    names = [t["name"] for t in spec["tasks"]]
    sources = sorted({int(n.split("_")[1]) for n in names if n.startswith("extract_")})
    state = dict.fromkeys(names, "success")
    if sources:
        last = sources[-1]
        state[f"dataset_{last}"] = "skipped"
        for n in names:  # the rest of that source's pipeline is skipped with it
            if n.split("_")[0] in ("preprocess", "train", "evaluate", "gate", "report", "page") \
                    and n.split("_")[1] == str(last):
                state[n] = "skipped"
        for i in sources:
            if i != last:
                state[f"alert_{i}"] = "skipped"
                state[f"page_{i}"] = "skipped"
        first = sources[0]
        if first != last:
            state[f"evaluate_{first}_{ALGORITHMS[-1]}"] = "failed"
            state[f"page_{first}"], state[f"report_{first}"] = "success", "skipped"
        for t in spec["tasks"]:  # a comparison after a skipped or failed evaluation does not run
            if t["name"].startswith("compare_") and any(state[u] != "success" for u in t["upstream"]):
                state[t["name"]] = "upstream_failed" if any(state[u] == "failed" for u in t["upstream"]) \
                    else "skipped"
    return state


def big_run_times(spec: dict[str, Any], started: dt.datetime) -> tuple[dict[str, tuple[Any, Any, float]], dt.datetime]:
    """Start, end and duration of each task that ran: after the last of its upstreams ended."""
    states = big_run_states(spec)
    rng = random.Random(200)
    ends: dict[str, dt.datetime] = {}
    out: dict[str, tuple[Any, Any, float]] = {}
    for t in spec["tasks"]:  # the spec lists upstreams before their downstreams
        ready = max((ends[u] for u in t.get("upstream", []) if u in ends), default=started)
        if states[t["name"]] in ("skipped", "upstream_failed"):
            continue
        lo, hi = DURATIONS[t["type"]]
        secs = round(rng.uniform(lo, hi), 3)
        begin = ready + dt.timedelta(seconds=rng.uniform(0.05, 0.4))
        ends[t["name"]] = begin + dt.timedelta(seconds=secs)
        out[t["name"]] = (begin, ends[t["name"]], secs)
    return out, max(ends.values(), default=started)


def seed(store: Any, n_workflows: int, n_runs: int, big_tasks: int, log: Callable[[str], None]) -> dict[str, Any]:
    """Everything above into `store` (a fresh one): the admin's token and what was stored."""
    from _seed_db import current_versions
    from sqlalchemy import func, insert, select, text

    from shoal import services
    from shoal.store.models import runs, task_runs, workflows

    t0 = time.perf_counter()
    first = services.users.first_admin(store)
    assert first is not None, "a new database has no users"
    big = big_workflow(big_tasks)
    files = [(f"{wf['name']}.json", json.dumps(wf), "json") for wf in small_workflows(n_workflows, dt.date.today())]
    files.append((f"{BIG_NAME}.json", json.dumps(big), "json"))
    services.workflows.apply_files(store, files)
    apply_s = time.perf_counter() - t0
    log(f"  applied {len(files)} workflows in {apply_s:.1f}s")
    ids = current_versions(store)
    planned = history.plan(n_runs)
    t_rows = time.perf_counter()
    with store.engine.begin() as conn:
        for start in range(0, n_runs, SEED_BATCH):
            run_rows, task_rows = [], []
            for p in planned[start:start + SEED_BATCH]:
                run_id = p.index + 1
                wf_id, vid = ids[workflow_name(p.index % n_workflows)] if n_workflows else ids[BIG_NAME]
                state = ENDED.get(p.state, p.state)
                started = p.started_at
                run_rows.append({
                    "id": run_id, "workflow_id": wf_id, "version_id": vid, "logical_date": p.logical_date,
                    "timezone": "UTC", "state": state, "trigger": "schedule", "params": {}, "disabled": [],
                    "priority": 0, "dedup_key": f"schedule:{wf_id}:{p.logical_date.isoformat()}",
                    "error": "task failed" if state == "failed" else None, "created_at": p.logical_date,
                    "started_at": started, "ended_at": p.ended_at or (started or p.logical_date)
                    + dt.timedelta(seconds=30),
                })
                clock = started
                for name, tstate, secs in zip(history.TASK_NAMES, p.task_states, p.task_seconds, strict=True):
                    tstate = "stopped" if tstate in ("running", "pending") else tstate
                    ended = tstate in ("success", "failed") and clock is not None
                    row = {"run_id": run_id, "task_name": name, "state": tstate, "attempt": 1 if ended else 0,
                           "max_attempts": 1, "priority": 0, "queued_at": clock if ended else None,
                           "started_at": clock if ended else None, "ended_at": None, "duration": None,
                           "host": "bench-host" if ended else None, "pid": 4242 if ended else None,
                           "outputs": {"rows": 1000} if tstate == "success" else {},
                           "error": "exit status 1" if tstate == "failed" else None,
                           "note": "upstream failed" if tstate == "upstream_failed" else None}
                    if ended:
                        row["ended_at"] = clock + dt.timedelta(seconds=secs)
                        row["duration"] = secs
                        clock = row["ended_at"]
                    task_rows.append(row)
            conn.execute(insert(runs), run_rows)
            conn.execute(insert(task_runs), task_rows)
            if start // SEED_BATCH % 4 == 3:
                log(f"  seeded {start + len(run_rows):,} of {n_runs:,} runs")
        big_run = n_runs + 1
        wf_id, vid = ids[BIG_NAME]
        logical = history.LAST_DATE + dt.timedelta(hours=1)
        started = logical + dt.timedelta(seconds=5)
        times, ended = big_run_times(big, started)
        states = big_run_states(big)
        conn.execute(insert(runs), [{
            "id": big_run, "workflow_id": wf_id, "version_id": vid, "logical_date": logical, "timezone": "UTC",
            "state": "success", "trigger": "manual", "params": {}, "disabled": [], "priority": 0,
            "dedup_key": None, "error": None, "created_at": logical, "started_at": started, "ended_at": ended}])
        rows = []
        for t in big["tasks"]:
            name, st = t["name"], states[t["name"]]
            begin, end, secs = times.get(name, (None, None, None))
            rows.append({"run_id": big_run, "task_name": name, "state": st, "attempt": 1 if begin else 0,
                         "max_attempts": 1, "priority": 0, "queued_at": begin, "started_at": begin, "ended_at": end,
                         "duration": secs, "host": "bench-host" if begin else None, "pid": 4242 if begin else None,
                         "outputs": {"rows": 1000} if st == "success" else {},
                         "error": "exit status 1" if st == "failed" else None,
                         "note": "upstream failed" if st == "upstream_failed" else None})
        conn.execute(insert(task_runs), rows)
        if store.engine.dialect.name == "postgresql":
            for table in ("runs", "task_runs"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
        counts = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                  for t in (workflows, runs, task_runs)}
    insert_s = time.perf_counter() - t_rows
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    states_count: dict[str, int] = {}
    for p in planned:
        s = ENDED.get(p.state, p.state)
        states_count[s] = states_count.get(s, 0) + 1
    return {"token": first.token, "workflows": counts["workflows"], "runs": counts["runs"],
            "task_runs": counts["task_runs"], "run_states": states_count, "big_run": big_run,
            "big_run_task_states": {s: sum(1 for v in states.values() if v == s) for s in sorted(set(states.values()))},
            "big_spec": big, "apply_s": round(apply_s, 2), "insert_s": round(insert_s, 2),
            "seed_s": round(time.perf_counter() - t0, 2)}
