"""A fresh database under an old SHOAL_HOME numbers its runs from 1 again: the files the old
database's runs left in `logs/<run>/` must not pass for the new runs' (moved aside, not read)."""

from __future__ import annotations

import socket
from pathlib import Path

from sqlalchemy import update

from shoal.client import Client
from shoal.config import Settings
from shoal.engine.runs import rerun_from
from shoal.services.logs import log_paths
from shoal.store import open_store, utcnow
from shoal.store.models import runs, task_runs


def test_a_takeover_never_records_a_result_another_databases_run_left(tmp_path: Path, executor) -> None:  # type: ignore[no-untyped-def]
    home, ledger = tmp_path / "home", tmp_path / "ledger"
    wf = tmp_path / "w.yaml"
    wf.write_text(
        "name: w\ntasks:\n"
        f"  - {{name: a, type: shell, retries: 1, retry_delay: 0s, command: \"sh -c 'echo ran >> {ledger}'\"}}\n"
    )
    first = open_store(Settings(home=home))
    client = Client(store=first, executor=executor)
    client.apply_path(wf)
    assert client.run("w", wait=True, timeout=60).state == "success"
    assert (home / "logs" / "1" / "a" / "1.result.json").exists()  # a success, on the record
    first.close()

    second = open_store(Settings(home=home, db_url=f"sqlite:///{tmp_path / 'second.db'}"))
    client = Client(store=second, executor=executor)
    client.apply_path(wf)
    run_id = client.run("w").id
    assert run_id == 1  # the same number, so the same logs/1/
    # As if a driver had started attempt 1 of `a` here and died before anything more was
    # recorded: whoever takes the run over looks for that attempt's result file.
    dead = f"{socket.gethostname()}:{int(Path('/proc/sys/kernel/pid_max').read_text()) + 1}:0.000"
    with second.engine.begin() as conn:
        conn.execute(update(runs).where(runs.c.id == run_id).values(state="running", owner=dead, started_at=utcnow()))
        conn.execute(update(task_runs).where(task_runs.c.run_id == run_id)
                     .values(state="running", attempt=1, started_at=utcnow()))
    client.wait([run_id], timeout=60)
    info = client.get_run(run_id)
    try:
        assert info.state == "success", info
        # Attempt 1 is lost (it never ran in this database) and retried, not taken for the old success.
        assert [(t.task, t.attempt) for t in info.tasks] == [("a", 2)], info
        assert ledger.read_text().split() == ["ran", "ran"]
        moved = [p for p in (home / "logs").iterdir() if p.name.startswith("1.earlier-")]
        assert len(moved) == 1 and (moved[0] / "a" / "1.result.json").exists()  # kept, out of the way
        # Its log says what became of it here, with none of the old run's lines.
        assert "shoal: start" not in (home / "logs" / "1" / "a" / "1.log").read_text()
    finally:
        second.close()


def test_two_databases_taking_turns_each_keep_and_show_their_own_logs(tmp_path: Path, executor) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    wf = tmp_path / "w.yaml"
    wf.write_text("name: w\ntasks:\n  - {name: a, type: shell, command: 'echo \"db $DB\"'}\n")
    settings = {"A": Settings(home=home), "B": Settings(home=home, db_url=f"sqlite:///{tmp_path / 'b.db'}")}
    clients = {}
    for name, s in settings.items():
        clients[name] = Client(store=open_store(s), executor=executor)
        clients[name].apply_path(wf)

    def shown(db: str) -> str:
        client = clients[db]
        info = client.get_run(1)
        return "".join(p.read_text() for p in log_paths(client.store, info, "a", None))

    try:
        assert clients["A"].run("w", wait=True, timeout=60).state == "success"
        first_a = shown("A")
        assert "shoal: start" in first_a
        b_run = clients["B"].run("w")  # run 1 of B, not driven yet
        assert b_run.id == 1 and shown("B") == ""  # A's files are not B's
        clients["B"].wait([1], timeout=60)
        assert shown("B") and shown("B") != first_a and shown("A") == ""  # logs/1 is B's now
        rerun_from(clients["A"].store, 1, "a")  # A takes its turn again
        clients["A"].wait([1], timeout=60)
        assert clients["A"].get_run(1).state == "success"
        again = shown("A")
        assert again.startswith(first_a) and again.count("shoal: start") == 2  # its first attempt came back
        assert shown("B") == ""
    finally:
        for client in clients.values():
            client.close()


def test_a_fresh_databases_run_does_not_empty_the_artifacts_of_the_old_run_of_its_number(
    tmp_path: Path, executor
) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    wf = tmp_path / "w.yaml"
    wf.write_text(
        "name: w\ntasks:\n  - name: a\n    type: python\n    script: |\n"
        "      from shoal.tasks._common import task_dir\n"
        "      (task_dir(ctx) / 'model.txt').write_text(ctx.params.kwargs['db'])\n"
        "    kwargs: {db: '${db}'}\n"
        "params: {db: ''}\n"
    )
    runs_dir = home / "artifacts" / "runs" / "default" / "w"
    for db, url in (("A", None), ("B", f"sqlite:///{tmp_path / 'b.db'}")):
        store = open_store(Settings(home=home, db_url=url))
        try:
            client = Client(store=store, executor=executor)
            client.apply_path(wf)
            info = client.run("w", params={"db": db}, wait=True, timeout=60)
            assert (info.id, info.state) == (1, "success"), info
        finally:
            store.close()
    assert (runs_dir / "1" / "a" / "model.txt").read_text() == "B"
    earlier = [p for p in runs_dir.iterdir() if p.name.startswith("1.earlier-")]
    assert len(earlier) == 1 and (earlier[0] / "a" / "model.txt").read_text() == "A"  # kept, not emptied
