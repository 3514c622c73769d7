"""Secrets: params marked secret are `***` in logs, errors, outputs, a run's params and the shown
definition; tasks never receive the metadata database's URL; shoal's own types still record."""

from __future__ import annotations

import json
from pathlib import Path

from shoal.client import Client
from shoal.engine.paths import log_path
from shoal.engine.runs import RunInfo, get_run
from shoal.engine.workflows import get_workflow
from shoal.spec.secrets import masked_definition
from tests.engine.conftest import RunYaml, outputs

SECRET = "tok-3f9a7c21"
AT_RUN_TIME = "other-secret-88e1"


def logs_of(client: Client, info: RunInfo) -> str:
    return "".join(
        log_path(client.store.logs_dir, info.id, t.task, t.attempt).read_text()
        for t in info.tasks if t.attempt
    )


def test_secret_params_are_masked_wherever_a_run_is_shown(run_yaml: RunYaml, client: Client) -> None:
    info = run_yaml(f"""
        name: secretive
        params: {{token: {SECRET}, region: cn}}
        secrets: [token]
        failure_strategy: continue
        tasks:
          - name: sh
            type: shell
            command: 'echo "token=${{token}} region=${{region}}"; echo "##shoal:set seen=${{token}}"'
          - name: py
            type: python
            script: 'raise ValueError("bad token " + "${{token}}")'
          - name: gate
            type: switch
            upstream: [sh]
            cases: [{{when: "'${{sh.seen}}' == '***'", then: ok}}]
          - {{name: ok, type: shell, upstream: [gate], command: 'true'}}
        """)
    assert info.state == "failed"  # py fails on purpose
    text = logs_of(client, info) + json.dumps([(t.outputs, t.error) for t in info.tasks])
    assert SECRET not in text
    assert "token=*** region=cn" in text
    assert outputs(info, "sh") == {"seen": "***"}
    assert "bad token ***" in (next(t.error for t in info.tasks if t.task == "py") or "")

    again = client.run("secretive", params={"token": AT_RUN_TIME}, wait=True, timeout=60)
    assert AT_RUN_TIME not in logs_of(client, again)
    assert get_run(client.store, again.id).params == {"token": "***"}


def test_a_shown_or_exported_definition_masks_secrets(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "s.yaml"
    f.write_text(f"name: s\nparams: {{token: {SECRET}}}\nsecrets: [token]\n"
                 "tasks: [{name: a, type: shell, command: 'true', params: {token: tok-task-level}}]\n")
    assert cli("workflow", "apply", str(f)).exit_code == 0
    for args in (["workflow", "show", "s"], ["workflow", "show", "s", "--json"], ["workflow", "export", "s"],
                 ["workflow", "export", "s", "--format", "py"]):
        r = cli(*args)
        assert r.exit_code == 0, r.output
        assert SECRET not in r.output and "tok-task-level" not in r.output and "***" in r.output, (args, r.output)


def test_a_secret_must_be_a_declared_param(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "s.yaml"
    f.write_text("name: s\nsecrets: [token]\ntasks: [{name: a, type: shell, command: 'true'}]\n")
    r = cli("workflow", "apply", str(f))
    assert r.exit_code == 2 and "'token'" in r.output and "declare it" in r.output, r.output


def test_tasks_never_see_the_database_url_but_shoal_types_still_record(
    run_yaml: RunYaml, client: Client, tmp_path: Path
) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text("id,v\n1,2\n")
    info = run_yaml(f"""
        name: no_db_url
        tasks:
          - {{name: sh, type: shell, command: env}}
          - name: py
            type: python
            script: |
              import os
              outputs = {{'db': os.environ.get('SHOAL_DB_URL'), 'online': os.environ.get('SHOAL_ONLINE_STORE')}}
          - {{name: imp, type: data_import, table: t, path: "{csv}"}}
        """)
    assert info.state == "success", info
    assert "SHOAL_DB_URL" not in logs_of(client, info) and "SHOAL_ONLINE_STORE" not in logs_of(client, info)
    assert outputs(info, "py") == {"db": None, "online": None}
    assert outputs(info, "imp")["rows"] == 1  # recorded in the metadata database all the same
    masked = masked_definition(get_workflow(client.store, "no_db_url").spec)
    assert masked.params == {}


def test_an_exported_definition_applies_back_without_losing_its_secrets(
    cli, tmp_path: Path, client: Client  # type: ignore[no-untyped-def]
) -> None:
    f = tmp_path / "s.yaml"
    f.write_text(f"name: s\nparams: {{token: {SECRET}, region: cn}}\nsecrets: [token]\n"
                 "tasks: [{name: a, type: shell, command: 'echo ${region}'}]\n")
    assert cli("workflow", "apply", str(f)).exit_code == 0
    exported = tmp_path / "exported.yaml"
    assert cli("workflow", "export", "s", "-o", str(exported)).exit_code == 0
    assert SECRET not in exported.read_text()
    r = cli("workflow", "apply", str(exported))
    assert r.exit_code == 0 and "unchanged (version 1)" in r.output, r.output
    # A changed definition keeps the stored secret too, and a new value replaces it.
    exported.write_text(exported.read_text().replace("region: cn", "region: us"))
    assert "version 2 stored" in cli("workflow", "apply", str(exported)).output
    from shoal.config import get_settings
    from shoal.store import open_store

    stored = get_workflow(open_store(get_settings()), "s").spec
    assert stored.params == {"token": SECRET, "region": "us"}
