"""End-to-end behaviour of runs on SQLite and PostgreSQL: branching, outputs, retries,
failure strategies, disabled tasks, timeouts, trigger rules, params."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest

from shoal.client import Client
from shoal.errors import InvalidInput
from tests.engine.conftest import outputs, states

HELLO = Path(__file__).parents[2] / "examples" / "hello_ml.yaml"


def test_hello_ml_example_runs_as_written(client: Client) -> None:
    client.apply_path(HELLO)
    info = client.run("hello_ml", wait=True, timeout=120, date="2026-03-01")
    assert info.state == "success"
    assert states(info) == {
        "extract": "success", "check": "success", "train": "success",
        "skip_train": "skipped", "report": "success",
    }
    assert outputs(info, "extract") == {"rows": "42"}
    assert outputs(info, "check")["branch"] == "train"
    assert 0.5 < outputs(info, "train")["auc"] < 1.0
    log = (client.store.logs_dir / str(info.id) / "extract" / "1.log").read_text()
    assert "extracting cn for 2026-03-01, yesterday was 20260228" in log
    report = (client.store.logs_dir / str(info.id) / "report" / "1.log").read_text()
    assert f"auc={outputs(info, 'train')['auc']}" in report


def test_runtime_param_overrides_workflow_param_and_switch_takes_default(client: Client) -> None:
    client.apply_path(HELLO)
    info = client.run("hello_ml", params={"threshold": "100"}, wait=True, timeout=120)
    assert info.state == "success"
    assert states(info) == {
        "extract": "success", "check": "success", "train": "skipped",
        "skip_train": "success", "report": "skipped",
    }


def test_disabled_task_counts_as_success_without_running(run_yaml, workdir: Path) -> None:
    marker = workdir / "ran"
    info = run_yaml(f"""
        name: dis
        tasks:
          - {{name: a, type: shell, command: "touch {marker}"}}
          - {{name: b, type: shell, command: "echo after", upstream: [a]}}
        """, disable=["a"])
    assert info.state == "success"
    assert states(info) == {"a": "success", "b": "success"}
    assert not marker.exists()
    assert next(t for t in info.tasks if t.task == "a").note == "disabled for this run"


def test_retries_until_success_with_attempt_count(run_yaml, workdir: Path) -> None:
    counter = workdir / "count"
    info = run_yaml(f"""
        name: flaky
        tasks:
          - name: flaky
            type: shell
            retries: 3
            retry_delay: 0.1s
            retry_backoff: 2
            command: |
              n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}
              [ $n -ge 3 ]
        """)
    assert info.state == "success"
    (t,) = info.tasks
    assert (t.attempt, t.max_attempts) == (3, 4)
    assert counter.read_text().strip() == "3"


def test_failure_without_retries_left_fails_the_run(run_yaml) -> None:
    info = run_yaml("""
        name: fails
        tasks:
          - {name: bad, type: shell, command: "exit 3", retries: 1}
          - {name: after, type: shell, command: "true", upstream: [bad]}
        """)
    assert info.state == "failed"
    assert states(info) == {"bad": "failed", "after": "upstream_failed"}
    bad = info.tasks[0]
    assert bad.attempt == 2 and "exit code 3" in (bad.error or "")


def test_failure_strategy_end_starts_nothing_new(run_yaml) -> None:
    info = run_yaml("""
        name: end
        failure_strategy: end
        max_active_tasks: 1
        tasks:
          - {name: bad, type: shell, command: "false", priority: 10}
          - {name: other, type: shell, command: "true"}
          - {name: after, type: shell, command: "true", upstream: [bad, other]}
        """)
    assert info.state == "failed"
    # Downstream of the failure is upstream_failed, as under `continue`; the rest is stopped.
    assert states(info) == {"bad": "failed", "other": "stopped", "after": "upstream_failed"}


def test_failure_strategy_end_gives_a_running_task_that_fails_later_no_retry(run_yaml) -> None:
    """Under `end`, no task starts again once one failed: a task waiting to retry is stopped,
    and one that was running when the run began to end and fails afterwards is not retried."""
    info = run_yaml("""
        name: end_retry
        failure_strategy: end
        tasks:
          - {name: bad, type: shell, command: "sleep 0.3; false"}
          - {name: flaky, type: shell, retries: 2, retry_delay: 0s, command: "sleep 1; false"}
        """)
    assert info.state == "failed"
    assert states(info) == {"bad": "failed", "flaky": "failed"}
    flaky = next(t for t in info.tasks if t.task == "flaky")
    assert flaky.attempt == 1, "flaky was retried after the run began to end"
    assert flaky.note == "not retried: task 'bad' failed and failure_strategy is end"


def test_failure_strategy_continue_runs_independent_branches(run_yaml) -> None:
    info = run_yaml("""
        name: cont
        failure_strategy: continue
        max_active_tasks: 1
        tasks:
          - {name: bad, type: shell, command: "false", priority: 10}
          - {name: child, type: shell, command: "true", upstream: [bad]}
          - {name: other, type: shell, command: "true"}
        """)
    assert info.state == "failed"
    assert states(info) == {"bad": "failed", "child": "upstream_failed", "other": "success"}


def test_timeout_kills_the_whole_process_group(run_yaml, workdir: Path) -> None:
    pidfile = workdir / "grandchild.pid"
    started = time.monotonic()
    info = run_yaml(f"""
        name: slow
        tasks:
          - name: slow
            type: shell
            timeout: 1s
            command: "sleep 60 & echo $! > {pidfile}; wait"
        """)
    assert time.monotonic() - started < 30
    assert info.state == "failed"
    assert "timed out" in (info.tasks[0].error or "")
    grandchild = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while psutil.pid_exists(grandchild) and time.monotonic() < deadline:
        try:
            if psutil.Process(grandchild).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    else:
        assert not psutil.pid_exists(grandchild), "the timed-out task's child process survived"


def test_outputs_flow_from_shell_to_python_kwargs(run_yaml, workdir: Path) -> None:
    (workdir / "wfmod.py").write_text("def double(x):\n    return {'y': int(x) * 2}\n")
    info = run_yaml("""
        name: flow
        tasks:
          - {name: a, type: shell, command: "echo '##shoal:set x=21'"}
          - name: b
            type: python
            upstream: [a]
            callable: wfmod:double
            kwargs: {x: "${a.x}"}
          - {name: c, type: shell, upstream: [b], command: "echo got ${b.y}"}
        """)
    assert info.state == "success", info
    assert outputs(info, "b") == {"y": 42}


def test_python_worker_isolation_and_inline_script(run_yaml) -> None:
    info = run_yaml("""
        name: py
        tasks:
          - name: w
            type: python
            isolation: worker
            script: |
              import os
              outputs = {"pid": os.getpid(), "ds": ctx.logical_date.date().isoformat()}
          - name: f
            type: python
            upstream: [w]
            script: |
              import os
              outputs = {"pid": os.getpid()}
        """, date="2026-05-04")
    assert info.state == "success"
    assert outputs(info, "w")["ds"] == "2026-05-04"
    assert outputs(info, "w")["pid"] != outputs(info, "f")["pid"]


def test_condition_runs_failure_branch_and_run_succeeds(run_yaml) -> None:
    info = run_yaml("""
        name: cond
        tasks:
          - {name: risky, type: shell, command: "false"}
          - {name: decide, type: condition, upstream: [risky], success_branch: ok, failure_branch: alert}
          - {name: ok, type: shell, command: "true", upstream: [decide]}
          - {name: alert, type: shell, command: "echo alerting", upstream: [decide]}
        """)
    assert states(info) == {"risky": "failed", "decide": "success", "ok": "skipped", "alert": "success"}
    assert info.state == "success"


def test_render_error_fails_once_with_a_clear_message(run_yaml) -> None:
    info = run_yaml("""
        name: bad_ref
        tasks:
          - {name: a, type: shell, command: "true"}
          - {name: b, type: shell, command: "echo ${a.missing}", upstream: [a], retries: 3}
        """)
    assert info.state == "failed"
    b = info.tasks[1]
    assert b.attempt == 1
    assert "missing" in (b.error or "") and "cannot start" in (b.error or "")


def test_trigger_rule_none_failed_joins_branches(run_yaml) -> None:
    info = run_yaml("""
        name: join
        params: {go: "1"}
        tasks:
          - name: pick
            type: switch
            cases: [{when: "${go} == 1", then: left}]
            default: right
          - {name: left, type: shell, command: "true", upstream: [pick]}
          - {name: right, type: shell, command: "true", upstream: [pick]}
          - {name: join, type: shell, command: "true", upstream: [left, right], trigger_rule: none_failed}
        """)
    assert states(info) == {"pick": "success", "left": "success", "right": "skipped", "join": "success"}


def test_max_active_tasks_is_never_exceeded(run_yaml, workdir: Path) -> None:
    log = workdir / "spans"
    tasks = "\n".join(
        f"  - {{name: t{i}, type: shell, command: 'echo start $(date +%s.%N) >> {log}; sleep 0.2; "
        f"echo end $(date +%s.%N) >> {log}'}}"
        for i in range(6)
    )
    info = run_yaml(f"name: lim\nmax_active_tasks: 2\ntasks:\n{tasks}\n")
    assert info.state == "success"
    events = sorted((float(ts), kind) for kind, ts in (line.split() for line in log.read_text().splitlines()))
    active = peak = 0
    for _, kind in events:
        active += 1 if kind == "start" else -1
        peak = max(peak, active)
    assert peak <= 2


def test_priority_orders_ready_tasks(run_yaml, workdir: Path) -> None:
    order = workdir / "order"
    info = run_yaml(f"""
        name: prio
        max_active_tasks: 1
        tasks:
          - {{name: low, type: shell, command: "sh -c 'echo low >> {order}'", priority: 1}}
          - {{name: high, type: shell, command: "sh -c 'echo high >> {order}'", priority: 9}}
          - {{name: mid, type: shell, command: "sh -c 'echo mid >> {order}'", priority: 5}}
        """)
    assert info.state == "success"
    assert order.read_text().split() == ["high", "mid", "low"]


def test_a_whole_output_reference_in_kwargs_keeps_its_type(run_yaml, workdir: Path) -> None:
    (workdir / "typed.py").write_text(
        "def train():\n    return {'auc': 0.83, 'names': ['a', 'b']}\n"
        "def check(auc, names, label):\n"
        "    assert isinstance(auc, float) and names == ['a', 'b'], (auc, names)\n"
        "    return {'ok': auc > 0.5, 'label': label}\n"
    )
    info = run_yaml("""
        name: typed
        tasks:
          - {name: train, type: python, callable: "typed:train"}
          - name: check
            type: python
            upstream: [train]
            callable: "typed:check"
            kwargs: {auc: "${train.auc}", names: "${train.names}", label: "auc=${train.auc}"}
        """)
    assert info.state == "success", [(t.task, t.error) for t in info.tasks]
    assert outputs(info, "check") == {"ok": True, "label": "auc=0.83"}


@pytest.mark.parametrize("rule", ["none_failed", "one_success", "all_done"])
def test_a_branch_not_chosen_is_skipped_whatever_its_trigger_rule(run_yaml, rule: str) -> None:
    """As with Airflow's branch operators: the switch decided, so the other upstream's success
    does not make the not-chosen branch run; the chosen one still follows its own rule."""
    info = run_yaml(f"""
        name: branch_rule_{rule}
        tasks:
          - {{name: other, type: shell, command: "true"}}
          - name: pick
            type: switch
            cases: [{{when: "1 == 1", then: chosen}}]
            default: not_chosen
          - {{name: chosen, type: shell, command: "true", upstream: [pick, other], trigger_rule: {rule}}}
          - {{name: not_chosen, type: shell, command: "true", upstream: [pick, other], trigger_rule: {rule}}}
        """)
    assert states(info) == {"other": "success", "pick": "success", "chosen": "success", "not_chosen": "skipped"}


@pytest.mark.slow
def test_one_success_starts_at_the_first_success_without_waiting_for_the_others(run_yaml) -> None:
    info = run_yaml("""
        name: first_wins
        tasks:
          - {name: fast, type: shell, command: "true"}
          - {name: slow, type: shell, command: "sleep 3"}
          - {name: first, type: shell, command: "true", upstream: [fast, slow], trigger_rule: one_success}
        """)
    assert info.state == "success"
    by_name = {t.task: t for t in info.tasks}
    assert by_name["first"].ended_at < by_name["slow"].ended_at


def test_a_relative_shell_cwd_is_relative_to_the_apply_directory(
    client: Client, apply_yaml, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workdir)  # apply from there...
    (workdir / "sub").mkdir()
    (workdir / "sub" / "marker").write_text("here")
    apply_yaml("""
        name: rel_cwd
        tasks:
          - {name: direct, type: shell, cwd: sub, command: "cat marker"}
          - {name: script, type: shell, cwd: sub, command: "echo \\"##shoal:set at=$(pwd)\\""}
        """)
    monkeypatch.chdir("/")  # ...while the driver runs from anywhere else
    info = client.run("rel_cwd", wait=True, timeout=60)
    assert info.state == "success", [t.error for t in info.tasks]
    assert outputs(info, "script") == {"at": str(workdir / "sub")}


def test_disabling_a_branching_task_is_refused(client, apply_yaml) -> None:  # type: ignore[no-untyped-def]
    name = apply_yaml("""
        name: no_disable_switch
        tasks:
          - {name: pick, type: switch, cases: [{when: "1 == 1", then: a}], default: b}
          - {name: a, type: shell, command: "true", upstream: [pick]}
          - {name: b, type: shell, command: "true", upstream: [pick]}
        """)
    with pytest.raises(InvalidInput, match="cannot disable 'pick'.*switch task.*disable the tasks of the branch"):
        client.run(name, disable=["pick"])
    assert client.run(name, disable=["b"], wait=True, timeout=60).state == "success"
