"""The `sql` task type in real runs: DuckDB (in memory and in a file) and SQLAlchemy URLs
(the real PostgreSQL, a SQLite file); results as outputs; database errors as task failures."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from shoal.client import Client
from shoal.engine.paths import log_path
from shoal.engine.runs import RunInfo
from tests.conftest import PG_URL, require_pg
from tests.engine.conftest import RunYaml, outputs, states


def task_log(client: Client, info: RunInfo, task: str) -> str:
    attempt = next(t.attempt for t in info.tasks if t.task == task)
    return log_path(client.store.logs_dir, info.id, task, attempt).read_text()


def task_error(info: RunInfo, task: str) -> str:
    return next(t.error for t in info.tasks if t.task == task) or ""


def test_duckdb_first_row_feeds_a_downstream_reference(run_yaml: RunYaml) -> None:
    info = run_yaml("""
        name: sql_first_row
        tasks:
          - name: q
            type: sql
            output: first_row
            sql: "select 42 as answer, 0.8 as auc, 'cn' as region, date '2026-03-01' as day"
          - name: use
            type: shell
            upstream: [q]
            command: "echo '##shoal:set got=${q.answer}/${q.auc}/${q.region}/${q.day}'"
        """)
    assert info.state == "success", info
    # DuckDB's DECIMAL and DATE become JSON-friendly values.
    assert outputs(info, "q") == {"answer": 42, "auc": 0.8, "region": "cn", "day": "2026-03-01"}
    assert outputs(info, "use") == {"got": "42/0.8/cn/2026-03-01"}


def test_duckdb_file_url_keeps_a_table_between_tasks(run_yaml: RunYaml, tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    info = run_yaml(f"""
        name: sql_duckdb_file
        tasks:
          - name: create
            type: sql
            url: "duckdb:///{db}"
            sql: "create table t as select * from range(5) r(i); insert into t values (10)"
          - name: read
            type: sql
            upstream: [create]
            url: "duckdb:///{db}"
            output: first_row
            sql: "select count(*) as n, sum(i) as total from t"
        """)
    assert info.state == "success", info
    assert outputs(info, "read") == {"n": 6, "total": 20}
    assert db.exists()


def test_rows_output_lists_rows_up_to_max_rows(run_yaml: RunYaml) -> None:
    info = run_yaml("""
        name: sql_rows
        tasks:
          - name: all
            type: sql
            output: rows
            sql: "select * from (values (1, 'a'), (2, 'b'), (3, null)) v(id, name) order by id"
          - name: capped
            type: sql
            output: rows
            max_rows: 2
            sql: "select i from range(10) r(i) order by i"
        """)
    assert info.state == "success", info
    assert outputs(info, "all") == {
        "rows": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": None}],
        "row_count": 3,
    }
    assert outputs(info, "capped") == {"rows": [{"i": 0}, {"i": 1}], "row_count": 2}


@pytest.fixture
def pg_table() -> Iterator[str]:
    """A unique table name in the real PostgreSQL test database, dropped afterwards."""
    require_pg()
    name = f"shoal_sqltask_{uuid.uuid4().hex[:10]}"
    yield name
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f'DROP TABLE IF EXISTS "{name}"'))
    engine.dispose()


@pytest.mark.integration
def test_sqlalchemy_url_to_postgresql(run_yaml: RunYaml, pg_table: str) -> None:
    info = run_yaml(f"""
        name: sql_pg
        tasks:
          - name: load
            type: sql
            url: "{PG_URL}"
            sql: |
              create table {pg_table} (id integer primary key, score numeric(4, 2), label text);
              insert into {pg_table} values (1, 0.75, 'a'), (2, 0.90, 'b'), (3, 0.10, 'c');
          - name: stats
            type: sql
            upstream: [load]
            url: "{PG_URL}"
            output: first_row
            sql: "select count(*) as n, max(score) as best, string_agg(label, ',' order by id) as labels from {pg_table}"
        """)
    assert info.state == "success", info
    assert outputs(info, "load") == {"row_count": 0}
    assert outputs(info, "stats") == {"n": 3, "best": 0.9, "labels": "a,b,c"}
    # The table really is in the database, written by the task's own connection.
    engine = create_engine(PG_URL)
    with engine.connect() as conn:
        assert conn.execute(text(f"select count(*) from {pg_table}")).scalar_one() == 3
    engine.dispose()


def test_sqlalchemy_url_to_a_sqlite_file(run_yaml: RunYaml, tmp_path: Path) -> None:
    db = tmp_path / "data.sqlite"
    info = run_yaml(f"""
        name: sql_sqlite
        tasks:
          - name: load
            type: sql
            url: "sqlite:///{db}"
            sql: |
              create table clicks (ip text, n integer);
              insert into clicks values ('1.1.1.1', 3);
              insert into clicks values ('2.2.2.2', 4);
          - name: rows
            type: sql
            upstream: [load]
            url: "sqlite:///{db}"
            output: rows
            sql: "select ip, n from clicks order by ip"
        """)
    assert info.state == "success", info
    assert outputs(info, "rows") == {
        "rows": [{"ip": "1.1.1.1", "n": 3}, {"ip": "2.2.2.2", "n": 4}], "row_count": 2,
    }


@pytest.mark.parametrize(
    ("url", "sql", "message"),
    [
        pytest.param(None, "selec 1", 'syntax error at or near "selec"', id="duckdb"),
        pytest.param("sqlite:///{tmp}/bad.sqlite", "select * from no_such_table", "no such table: no_such_table",
                     id="sqlalchemy-sqlite"),
    ],
)
def test_bad_sql_fails_the_task_with_the_database_message(
    run_yaml: RunYaml, client: Client, tmp_path: Path, url: str | None, sql: str, message: str
) -> None:
    url_line = f'url: "{url.format(tmp=tmp_path)}"' if url else ""
    info = run_yaml(f"""
        name: sql_bad
        tasks:
          - name: bad
            type: sql
            {url_line}
            sql: "{sql}"
          - name: after
            type: shell
            upstream: [bad]
            command: "true"
        """)
    assert info.state == "failed"
    assert states(info) == {"bad": "failed", "after": "upstream_failed"}
    assert info.error is not None and "bad" in info.error
    error = task_error(info, "bad")
    assert "SQL failed" in error and message in error
    assert message in task_log(client, info, "bad")


def test_first_row_with_no_rows_is_a_clear_failure(run_yaml: RunYaml, client: Client) -> None:
    info = run_yaml("""
        name: sql_empty
        tasks:
          - name: empty
            type: sql
            output: first_row
            sql: "select 1 as x where false"
        """)
    assert info.state == "failed"
    error = task_error(info, "empty")
    assert "first_row" in error and "no rows" in error
    assert "no rows" in task_log(client, info, "empty")


def test_string_literal_with_a_colon_reaches_the_database_as_written(run_yaml: RunYaml, tmp_path: Path) -> None:
    info = run_yaml(f"""
        name: sql_colon
        tasks:
          - name: q
            type: sql
            url: "sqlite:///{tmp_path}/colon.sqlite"
            output: first_row
            sql: |
              select '{{"auc":0.8}}' as payload, 'ratio :x' as label
        """)
    assert info.state == "success", info.tasks[0].error
    assert outputs(info, "q") == {"payload": '{"auc":0.8}', "label": "ratio :x"}


def test_uuid_and_interval_columns_become_json_outputs(run_yaml: RunYaml) -> None:
    info = run_yaml("""
        name: sql_types
        tasks:
          - name: q
            type: sql
            output: first_row
            sql: "select '6f1c1e4a-8a1e-4c52-9d55-0d3c7c1c0a11'::uuid as id, interval 90 minute as wait"
        """)
    assert info.state == "success", info.tasks[0].error
    assert outputs(info, "q")["id"] == "6f1c1e4a-8a1e-4c52-9d55-0d3c7c1c0a11"
    assert outputs(info, "q")["wait"]


def test_nan_output_fails_the_task_instead_of_the_engine(run_yaml: RunYaml) -> None:
    # NaN/Infinity are not JSON (PostgreSQL's JSON columns reject them): the task must fail with
    # a clear error, or store JSON-safe values; either way the run ends on both stores.
    info = run_yaml("""
        name: sql_nan
        tasks:
          - {name: q, type: sql, output: first_row, sql: "select 'nan'::double as x, 'inf'::double as y"}
          - {name: after, type: shell, upstream: [q], command: "true"}
        """)
    assert info.is_finished
    q = info.tasks[0]
    if q.state == "failed":
        assert "NaN" in (q.error or ""), q.error
        assert states(info)["after"] == "upstream_failed"
    else:
        assert q.state == "success"
        assert all(isinstance(v, str) or v is None for v in q.outputs.values()), q.outputs
