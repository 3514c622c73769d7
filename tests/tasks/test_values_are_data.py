"""Values are data: run-time params and upstream outputs reach shell, sql, http and python tasks
as variables, bound parameters and encoded text, never as code; `splice_values` opts out."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import create_engine, text

from shoal.client import Client
from shoal.engine.paths import log_path
from shoal.engine.runs import RunInfo
from shoal.errors import ShoalError
from tests.conftest import PG_URL, require_pg
from tests.engine.conftest import RunYaml, outputs, states
from tests.tasks.conftest import HttpServer

# Each tries another way out of the text around it; `{pwned}` is a file none of them may create.
ATTACKS = [
    "$(touch {pwned})",
    "`touch {pwned}`",
    '"; touch {pwned}; echo "',
    "'; touch {pwned}; echo '",
    "x; touch {pwned}",
    "a\ntouch {pwned}",
    "$${{IFS}}$(touch$${{IFS}}{pwned})",  # `$${` is a literal `${` in a param's value
]


def log_of(client: Client, info: RunInfo, task: str) -> str:
    attempt = next(t.attempt for t in info.tasks if t.task == task)
    return log_path(client.store.logs_dir, info.id, task, attempt).read_text()


def error_of(info: RunInfo, task: str) -> str:
    return next(t.error for t in info.tasks if t.task == task) or ""


COMMANDS = [
    "echo ${x}",
    'echo "${x}"',
    "echo '${x}'",
    "echo 'got ${x} here'",
    'echo "got ${x} here" && echo done',
    "cat <<EOF\n${x}\nEOF",
    "echo $(echo ${x})",
    'echo "`echo ${x}`"',
]


def test_a_run_time_param_is_never_run_by_the_shell(run_yaml: RunYaml, client: Client, tmp_path: Path) -> None:
    # Every command form with every attack, as the tasks of one run.
    pwned = tmp_path / "pwned"
    values = {f"a{j}": attack.format(pwned=pwned) for j, attack in enumerate(ATTACKS)}
    tasks = [
        {"name": f"t{i}_{j}", "type": "shell", "command": command.replace("${x}", f"${{a{j}}}")}
        for i, command in enumerate(COMMANDS) for j in range(len(ATTACKS))
    ]
    workflow = {"name": "inj", "params": dict.fromkeys(values, ""), "tasks": tasks}
    info = run_yaml(json.dumps(workflow), params=values)
    assert info.state == "success", info
    assert not pwned.exists()
    for task in tasks:
        value = values[f"a{task['name'].split('_')[1]}"]
        log = log_of(client, info, task["name"])
        # The value arrives whole, as text, wherever the reference stood.
        assert all(line in log for line in value.replace("$${", "${").splitlines()), (task, log)


def test_an_upstream_output_is_never_run_by_a_downstream_shell(
    run_yaml: RunYaml, client: Client, tmp_path: Path
) -> None:
    pwned = tmp_path / "pwned"
    info = run_yaml(f"""
        name: inj_output
        tasks:
          - name: fetch
            type: python
            script: "outputs = {{'v': '$(touch {pwned})'}}"
          - name: use
            type: shell
            upstream: [fetch]
            command: 'echo "got ${{fetch.v}}"'
        """)
    assert info.state == "success", info
    assert not pwned.exists()
    assert f"got $(touch {pwned})" in log_of(client, info, "use")


def test_a_semicolon_in_a_value_keeps_a_plain_command_one_program(
    run_yaml: RunYaml, tmp_path: Path
) -> None:
    pwned = tmp_path / "pwned"
    target = tmp_path / "made"
    info = run_yaml(
        "name: inj_spawn\nparams: {dir: ''}\ntasks:\n  - {name: t, type: shell, command: 'mkdir -p ${dir}'}\n",
        params={"dir": f"{target};touch {pwned}"},
    )
    assert info.state == "success", info
    assert not pwned.exists()
    # mkdir got one argument: the whole value is one directory's name.
    assert (tmp_path / f"made;touch {pwned}").is_dir() or Path(f"{target};touch {pwned}").is_dir()


@pytest.mark.parametrize("command", ["echo $(( ${n} + 1 ))", "(( ${n} > 1 )) && echo big", "[[ ${n} -eq 5 ]]"])
def test_a_value_in_shell_arithmetic_must_be_an_integer(
    run_yaml: RunYaml, client: Client, tmp_path: Path, command: str
) -> None:
    pwned = tmp_path / "pwned"
    yaml = (f"name: inj_arith\nparams: {{n: '5'}}\ntasks:\n"
            f"  - name: t\n    type: shell\n    command: {json.dumps(command)}\n")
    ok = run_yaml(yaml)
    assert ok.state == "success", ok
    bad = client.run("inj_arith", params={"n": f"a[$(touch {pwned})]"}, wait=True, timeout=60)
    assert bad.state == "failed"
    assert not pwned.exists()
    assert "must be an integer" in error_of(bad, "t")


def test_a_reference_in_a_quoted_here_document_is_refused_at_apply(client: Client, workdir: Path) -> None:
    path = workdir / "heredoc.yaml"
    path.write_text(
        "name: inj_heredoc\nparams: {x: a}\ntasks:\n"
        "  - name: t\n    type: shell\n    command: |\n      cat <<'EOF'\n      ${x}\n      EOF\n"
    )
    with pytest.raises(ShoalError, match="quoted here-document"):
        client.apply_path(path)


def test_splice_values_is_the_explicit_opt_in_to_text(run_yaml: RunYaml, client: Client) -> None:
    info = run_yaml(
        "name: spliced\nparams: {x: 'a; echo spliced-as-code'}\ntasks:\n"
        "  - {name: t, type: shell, splice_values: true, command: 'echo ${x}'}\n"
    )
    assert info.state == "success", info
    log = log_of(client, info, "t")
    assert "] spliced-as-code\n" in log  # the value ran as a second command


SQL_ATTACK = "x'); DROP TABLE victims; --"


@pytest.fixture(params=["duckdb", "sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def sql_url(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "duckdb":
        yield f"duckdb:///{tmp_path / 'v.duckdb'}", "duckdb"
    elif request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'v.sqlite'}", "sqlite"
    else:
        require_pg()
        table = f"victims_{uuid.uuid4().hex[:8]}"
        yield PG_URL, table
        engine = create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text(f'DROP TABLE IF EXISTS "{table}"'))
        engine.dispose()


def test_sql_binds_run_time_params_and_outputs_as_values(run_yaml: RunYaml, sql_url) -> None:  # type: ignore[no-untyped-def]
    url, kind = sql_url
    table = kind if kind not in ("duckdb", "sqlite") else "victims"
    sql = (
        f'CREATE TABLE IF NOT EXISTS "{table}" (name TEXT, n INTEGER, note TEXT); '
        f"INSERT INTO \"{table}\" VALUES ('${{name}}', ${{n}}, ${{src.note}}); "
        f"SELECT name, n, note FROM \"{table}\" WHERE name = '${{name}}' AND note LIKE '%${{src.note}}%'"
    )
    info = run_yaml(
        f"""
        name: inj_sql
        params: {{name: '', n: '0'}}
        tasks:
          - name: src
            type: python
            script: |
              outputs = {{'note': "it's 100%; --"}}
          - name: q
            type: sql
            upstream: [src]
            url: "{url}"
            output: first_row
            sql: {json.dumps(sql)}
        """,
        params={"name": SQL_ATTACK, "n": "7"},
    )
    assert info.state == "success", info
    assert outputs(info, "q") == {"name": SQL_ATTACK, "n": 7, "note": "it's 100%; --"}
    if kind == "duckdb":
        with duckdb.connect(url.removeprefix("duckdb:///")) as con:
            assert con.execute("select count(*) from victims").fetchone() == (1,)
    elif kind == "sqlite":
        with sqlite3.connect(url.removeprefix("sqlite:///")) as con:
            assert con.execute("select count(*) from victims").fetchone() == (1,)


def test_sql_takes_a_name_from_a_value_only_in_double_quotes(run_yaml: RunYaml, client: Client, workdir: Path) -> None:
    info = run_yaml("""
        name: sql_names
        params: {suffix: 'a"; select 1; --'}
        tasks:
          - name: q
            type: sql
            output: first_row
            sql: 'create table "t_${suffix}" as select 1 as x; select x from "t_${suffix}"'
        """)
    assert info.state == "success", info
    assert outputs(info, "q") == {"x": 1}
    path = workdir / "glued.yaml"
    path.write_text("name: sql_glued\nparams: {ds: x}\n"
                    "tasks:\n  - {name: q, type: sql, sql: 'select * from t_${ds}'}\n")
    with pytest.raises(ShoalError, match="double quotes"):
        client.apply_path(path)


def test_http_encodes_values_in_the_url_the_json_body_and_refuses_them_in_headers(
    run_yaml: RunYaml, server: HttpServer
) -> None:
    info = run_yaml(f"""
        name: inj_http
        params: {{q: '', note: '', token: ok, n: '3'}}
        tasks:
          - name: get
            type: http
            url: "{server.url}/metrics?q=${{q}}&auc=0.9"
          - name: post
            type: http
            method: POST
            url: "{server.url}/echo"
            headers: {{Content-Type: application/json, X-Token: "${{token}}"}}
            body: '{{"note": "${{note}}", "n": ${{n}}}}'
            expected_status: [201]
        """, params={"q": "a&auc=0.1#x", "note": 'he said "hi"}, "admin": true, "x": "'})
    assert info.state == "success", info
    get = next(r for r in server.requests if r["path"] == "/metrics")
    post = next(r for r in server.requests if r["path"] == "/echo")
    assert get["query"] == {"q": ["a&auc=0.1#x"], "auc": ["0.9"]}
    assert outputs(info, "get")["status_code"] == 200
    assert json.loads(post["body"]) == {"note": 'he said "hi"}, "admin": true, "x": "', "n": 3}
    assert post["x_token"] == "ok"

    bad = run_yaml(f"""
        name: inj_header
        params: {{token: ''}}
        tasks:
          - {{name: t, type: http, url: "{server.url}/echo", headers: {{X-Token: "${{token}}"}}}}
        """, params={"token": "ok\r\nX-Admin: 1"})
    assert bad.state == "failed"
    assert "line break" in error_of(bad, "t")


def test_python_script_gets_values_as_literals(run_yaml: RunYaml, tmp_path: Path) -> None:
    pwned = tmp_path / "pwned"
    value = f"\"); open({str(pwned)!r}, 'w'); print(\"'''"
    info = run_yaml(
        "name: inj_py\nparams: {x: '', n: '0'}\ntasks:\n  - name: t\n    type: python\n"
        "    script: |\n      outputs = {'x': \"${x}\", 'twice': ${n} * 2, 'raw': '${x}'}\n",
        params={"x": value, "n": "21"},
    )
    assert info.state == "success", info
    assert not pwned.exists()
    assert outputs(info, "t") == {"x": value, "twice": 42, "raw": value}


def test_python_callable_is_code_and_takes_no_reference(client: Client, workdir: Path) -> None:
    path = workdir / "callable.yaml"
    path.write_text("name: inj_callable\nparams: {fn: 'os:system'}\n"
                    "tasks:\n  - {name: t, type: python, callable: '${fn}'}\n")
    with pytest.raises(ShoalError, match="callable names code"):
        client.apply_path(path)


def test_ordinary_values_still_just_work(run_yaml: RunYaml) -> None:
    # A control: ordinary values still "just work" the DolphinScheduler way.
    info = run_yaml("""
        name: ordinary
        params: {region: cn, day: '2026-03-01'}
        tasks:
          - {name: a, type: shell, command: "echo '##shoal:set where=${region}/${day}/$[yyyyMMdd-1]'"}
          - {name: b, type: shell, upstream: [a], command: "test ${a.where} = cn/2026-03-01/$[yyyyMMdd-1]"}
        """, date="2026-03-02")
    assert states(info) == {"a": "success", "b": "success"}
    assert outputs(info, "a") == {"where": "cn/2026-03-01/20260301"}


def test_sql_typed_literals_take_a_bound_value(run_yaml: RunYaml) -> None:
    info = run_yaml("""
        name: sql_typed
        params: {n: '1000'}
        tasks:
          - name: q
            type: sql
            output: first_row
            sql: >-
              SELECT ${n} * 2 AS doubled, DATE '${ds}' - INTERVAL 1 DAY AS yesterday,
              INTERVAL '${n} seconds' AS span
        """, date="2026-03-01")
    assert info.state == "success", info
    assert outputs(info, "q") == {"doubled": 2000, "yesterday": "2026-02-28T00:00:00", "span": 1000.0}


@pytest.mark.slow  # imports, extracts and splits a dataset end to end
def test_data_import_and_dataset_queries_quote_values_as_literals(run_yaml: RunYaml, tmp_path: Path) -> None:
    attack = "x' UNION SELECT 666, 'pwned' --"
    info = run_yaml(f"""
        name: import_values
        params: {{name: '', min_id: '0'}}
        tasks:
          - name: imp
            type: data_import
            table: people
            sql: "SELECT * FROM (VALUES (1, '${{name}}'), (2, 'bo')) AS t(id, name) WHERE id > ${{min_id}}"
          - name: ds
            type: dataset
            upstream: [imp]
            sql: "SELECT 1 AS label, '${{name}}' AS who UNION ALL SELECT 0, 'b' UNION ALL SELECT 1, 'c'"
            fractions: [0.34, 0.33, 0.33]
            output: "{tmp_path / 'ds'}"
        """, params={"name": attack, "min_id": "0"})
    assert info.state == "success", info
    assert outputs(info, "imp")["rows"] == 2
    assert outputs(info, "ds")["rows"] == 3
    import pandas as pd

    parts = [pd.read_parquet(tmp_path / "ds" / f"{p}.parquet") for p in ("train", "validation", "test")]
    whos = set(pd.concat(parts)["who"])
    assert attack in whos and "pwned" not in whos


def test_http_takes_upstream_outputs_as_data(run_yaml: RunYaml, server: HttpServer) -> None:
    info = run_yaml(f"""
        name: http_outputs
        tasks:
          - name: up
            type: python
            script: |
              outputs = {{"q": "a b&auc=0.1", "note": 'x", "admin": true, "y": "', "n": 7, "tags": ["a", "b"]}}
          - name: call
            type: http
            upstream: [up]
            method: POST
            url: "{server.url}/echo?q=${{up.q}}"
            body: {{note: "${{up.note}}", n: "${{up.n}}", tags: "${{up.tags}}", text: "n=${{up.n}}"}}
            expected_status: [201]
          - name: raw
            type: http
            upstream: [up]
            method: POST
            url: "{server.url}/echo"
            headers: {{Content-Type: application/json}}
            body: '{{"note": "${{up.note}}", "n": ${{up.n}}}}'
            expected_status: [201]
        """)
    assert info.state == "success", info
    bodies = [json.loads(r["body"]) for r in server.requests if r["path"] == "/echo"]
    assert {"note": 'x", "admin": true, "y": "', "n": 7, "tags": ["a", "b"], "text": "n=7"} in bodies
    assert {"note": 'x", "admin": true, "y": "', "n": 7} in bodies
    assert any(r["query"] == {"q": ["a b&auc=0.1"]} for r in server.requests if r["path"] == "/echo")
