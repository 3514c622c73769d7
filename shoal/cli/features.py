"""`shoal features ...`: managed tables, offline samples, deploy, online import, request mode.

Thin over `shoal.services.features`, which each command imports when it runs: typer imports this
module for `shoal --help`, which must not load DuckDB, Arrow or the feature engine.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from shoal.cli._backend import refuse_remote, services
from shoal.cli._common import Column, console, err_console, handle_errors, plain, print_json, print_rows
from shoal.cli._options import DEFAULT_PROJECT, JsonOpt
from shoal.errors import InvalidInput

if TYPE_CHECKING:
    from shoal.features.progress import Progress

app = typer.Typer(no_args_is_help=True, help="Feature SQL: offline samples, deploy, online request mode.")
ProjectOpt = Annotated[str, typer.Option("--project", help="project of the tables and feature sets")]
TablesOpt = Annotated[
    list[str] | None,
    typer.Option("--table", "-t", help="NAME=FILE: read table NAME from a .parquet/.csv file, not the managed table"),
]
VersionOpt = Annotated[int | None, typer.Option("--version", help="a deployed version (default: latest)")]
# shoal.features.catalog.DEFAULT_CAP, written out so that --help loads no feature engine (a test
# keeps the two equal).
DEFAULT_CAP = 10_000

TABLE_COLUMNS = (
    Column("name", lambda t: plain(t.name), whole=True),
    Column("version", lambda t: str(t.version), whole=True),
    Column("rows", lambda t: str(t.row_count), whole=True),
    Column("columns", lambda t: plain(", ".join(f"{k} {v}" for k, v in t.schema.items()))),
    Column("source", lambda t: plain(t.source), drop=1),
)
FEATURE_SET_COLUMNS = (
    Column("name", lambda f: plain(f.name), whole=True),
    Column("version", lambda f: str(f.version), whole=True),
    Column("tables", lambda f: plain(", ".join(f.tables)), drop=1),
    Column("features", lambda f: str(f.features), whole=True),
    Column("online keys", lambda f: str(f.keys), whole=True),
    Column("online rows", lambda f: str(f.rows), whole=True, drop=3),
    Column("deployed", lambda f: f.created_at.isoformat(sep=" ", timespec="seconds"), min_width=10, drop=2),
)


def _tables(pairs: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, path = pair.partition("=")
        if not sep or not name or not path:
            raise InvalidInput(f"--table {pair!r} must look like NAME=FILE")
        out[name] = path
    return out


@contextmanager
def _progress(what: str, unit: str, json_out: bool = False) -> Iterator[Progress | None]:
    """A progress bar on stderr for a long job, when stderr is a terminal and the output is not
    JSON (for a program reading it); the callback the services take, or None: no bar."""
    if json_out or not err_console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn(escape(what)), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
                   TimeElapsedColumn(), console=err_console, transient=True)
    with bar:
        task = bar.add_task(what, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@app.command("import")
@handle_errors
def import_(
    name: Annotated[str, typer.Argument(help="the managed table to create or add a version to")],
    file: Annotated[Path | None, typer.Argument(help="a .csv or .parquet file")] = None,
    sql: Annotated[str | None, typer.Option("--sql", help="import the result of a DuckDB SELECT instead")] = None,
    append: Annotated[bool, typer.Option("--append", help="keep the current rows and add these after them")] = False,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_out: JsonOpt = False,
) -> None:
    """Copy a CSV/Parquet file (or a query's result) into a managed offline table."""
    refuse_remote("shoal features import", "its file must be where the server's tables are")
    from shoal.cli._store import store
    feature_service = services.features

    # A table is what a user starts with: this command may create the database.
    info = feature_service.import_table(store(create=True), name, path=file, sql=sql, append=append, project=project)
    if json_out:
        print_json(info)
        return
    console.print(f"table [bold]{escape(info.project)}/{escape(info.name)}[/] version {info.version}: "
                  f"{info.row_count} rows, {len(info.schema)} columns")


@app.command("tables")
@handle_errors
def tables(project: ProjectOpt = DEFAULT_PROJECT, json_out: JsonOpt = False) -> None:
    """List managed offline tables."""
    from shoal.cli._store import store
    feature_service = services.features

    print_rows(feature_service.list_tables(store(), project=project), TABLE_COLUMNS, json_out)


@app.command("extract")
@handle_errors
def extract(
    sql_file: Annotated[Path, typer.Argument(help="the feature SQL file")],
    output: Annotated[Path, typer.Option("--output", "-o", help="the Parquet file to write samples to")],
    table: TablesOpt = None,
    keep_order: Annotated[
        bool, typer.Option("--keep-order", help="write samples in the input's row order (sorts: slower)")
    ] = False,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_out: JsonOpt = False,
) -> None:
    """Compute every row's features offline (point-in-time) and write them as Parquet samples."""
    refuse_remote("shoal features extract", "it reads and writes files where the tables are")
    from shoal.cli._store import store
    feature_service = services.features

    sql = feature_service.read_sql(sql_file)
    with _progress("extracting features with DuckDB", "%", json_out) as progress:
        result = feature_service.extract(store(), sql, output, tables=_tables(table), keep_order=keep_order,
                                         project=project, progress=progress)
    if json_out:
        print_json(result)
        return
    rate = result.rows / result.seconds if result.seconds else 0
    console.print(f"wrote {result.rows} rows x {len(result.columns)} features to {escape(str(result.path))} "
                  f"in {result.seconds:.1f}s ({rate:,.0f} rows/s)")


@app.command("deploy")
@handle_errors
def deploy(
    name: Annotated[str, typer.Argument(help="the feature set name")],
    sql_file: Annotated[Path, typer.Argument(help="the feature SQL file")],
    table: TablesOpt = None,
    max_rows_per_key: Annotated[int, typer.Option("--max-rows-per-key", help="online store cap per key")] = DEFAULT_CAP,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_out: JsonOpt = False,
) -> None:
    """Store the feature SQL as a new version of feature set NAME (unchanged SQL: no new version)."""
    from shoal.cli._store import store
    feature_service = services.features

    r = feature_service.deploy(store(create=True), name, feature_service.read_sql(sql_file), tables=_tables(table),
                               max_rows_per_key=max_rows_per_key, project=project)
    if json_out:
        print_json(r)
        return
    what = f"version {r.version} deployed" if r.changed else f"unchanged (version {r.version})"
    console.print(f"feature set [bold]{escape(r.project)}/{escape(r.name)}[/]: {what}")


@app.command("list")
@handle_errors
def list_(project: ProjectOpt = DEFAULT_PROJECT, json_out: JsonOpt = False) -> None:
    """List deployed feature sets (latest versions) with their online row counts."""
    from shoal.cli._store import store
    feature_service = services.features

    print_rows(feature_service.list_feature_sets(store(), project=project), FEATURE_SET_COLUMNS, json_out)


@app.command("versions")
@handle_errors
def versions(
    name: Annotated[str, typer.Argument(help="the feature set name")],
    project: ProjectOpt = DEFAULT_PROJECT,
    json_out: JsonOpt = False,
) -> None:
    """List every version of feature set NAME, newest first, with its online row counts."""
    from shoal.cli._store import store

    print_rows(services.features.feature_set_versions(store(), name, project=project), FEATURE_SET_COLUMNS,
               json_out)


@app.command("show")
@handle_errors
def show(
    name: str,
    version: VersionOpt = None,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_out: JsonOpt = False,
) -> None:
    """Show a feature set's SQL, features, windows and online store contents."""
    from shoal.cli._store import store
    feature_service = services.features

    d = feature_service.show_feature_set(store(), name, version=version, project=project)
    if json_out:
        print_json(d)
        return
    console.print(f"[bold]{escape(d.project)}/{escape(d.name)}[/] version {d.version}, "
                  f"deployed {d.created_at:%Y-%m-%d %H:%M}")
    # Feature, window and column names come from the SQL: text, not markup.
    console.print(f"features: {', '.join(d.features)}", markup=False)
    for wname, w in d.windows.items():
        console.print(f"window {wname}: PARTITION BY {', '.join(w.partition_by)} {w.text}", markup=False)
    console.print(f"online store: {d.online['keys']} keys, {d.online['rows']} rows")
    console.print(d.sql, highlight=False, markup=False)


@app.command("online-import")
@handle_errors
def online_import(
    name: str,
    table: TablesOpt = None,
    version: VersionOpt = None,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_out: JsonOpt = False,
) -> None:
    """Bulk-load the recent rows of the offline tables into the online store."""
    refuse_remote("shoal features online-import")
    from shoal.cli._store import store
    feature_service = services.features

    with _progress(f"importing into {name}", "rows stored", json_out) as progress:
        r = feature_service.online_import(store(), name, tables=_tables(table), version=version, project=project,
                                          progress=progress)
    if json_out:
        print_json(r)
        return
    # A row is kept once per index that needs it (one per PARTITION BY / LAST JOIN key).
    console.print(f"read {r.rows_read} rows of {escape(', '.join(r.tables))}; stored {r.rows_stored} rows in "
                  f"{len(r.indexes)} indexes of {escape(r.project)}/{escape(r.name)} v{r.version}: "
                  f"{r.keys} keys, {r.rows} rows online")


@app.command("insert")
@handle_errors
def insert(
    name: str,
    row: Annotated[list[str] | None, typer.Option("--row", help="a row as JSON (repeatable)")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="rows as JSON lines ('-' for stdin)")] = None,
    table: Annotated[str | None, typer.Option("--table", help="a LAST JOIN table (default: the main table)")] = None,
    project: ProjectOpt = DEFAULT_PROJECT,
) -> None:
    """Append live rows to the online store (all rows are checked before any is stored)."""
    refuse_remote("shoal features insert", "it writes to the server's online store directly")
    from shoal.cli._store import store
    feature_service = services.features

    rows = feature_service.parse_rows(row or [], file, stdin=sys.stdin.buffer)
    n = feature_service.insert(store(), name, rows, table=table, project=project)
    console.print(f"inserted {n} row(s) into {escape(name)}")


@app.command("compute")
@handle_errors
def compute(
    name: str,
    row: Annotated[list[str] | None, typer.Option("--row", help="a request row as JSON (repeatable)")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="request rows as JSON lines ('-' for stdin)")] = None,
    version: VersionOpt = None,
    project: ProjectOpt = DEFAULT_PROJECT,
) -> None:
    """Features of request rows in request mode (the rows are not stored). Prints JSON."""
    from shoal.cli._store import store
    feature_service = services.features

    rows = feature_service.parse_rows(row or [], file, stdin=sys.stdin.buffer)
    results = feature_service.compute(store(), name, rows, version=version, project=project)
    print_json(results[0] if len(results) == 1 and row and not file else results)


@app.command("verify")
@handle_errors
def verify(
    name: str,
    sample: Annotated[int, typer.Option("--sample", help="how many rows to check")] = 100,
    seed: Annotated[int, typer.Option("--seed", help="which rows (random sample seed)")] = 0,
    table: TablesOpt = None,
    version: VersionOpt = None,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_out: JsonOpt = False,
) -> None:
    """Skew check: request-mode features of sampled rows against their offline features."""
    from rich.table import Table

    refuse_remote("shoal features verify")
    from shoal.cli._store import store
    feature_service = services.features

    with _progress(f"verifying {name}", "rows", json_out) as progress:
        r = feature_service.verify(store(), name, sample=sample, seed=seed, tables=_tables(table), version=version,
                                   project=project, progress=progress)
    if json_out:
        print_json(r)
    elif r.ok:
        console.print(f"[green]ok[/]: {r.checked} sampled rows of {r.rows_in_table}, "
                      f"{r.features} features each, online == offline")
    else:
        t = Table(title=f"{len(r.mismatches)} mismatches in {r.checked} rows")
        for c in ("row", "feature", "offline", "online"):
            t.add_column(c)
        for m in r.mismatches[:50]:
            t.add_row(str(m.seq), plain(m.feature), plain(repr(m.offline)), plain(repr(m.online)))
        console.print(t)
    if not r.ok:
        raise typer.Exit(1)
