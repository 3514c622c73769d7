"""`shoal features ...`: managed tables, offline samples, deploy, online import, request mode."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shoal.cli._common import console, handle_errors, plain, print_json, store
from shoal.errors import InvalidInput
from shoal.features import catalog
from shoal.features.catalog import compile_with_sources, resolve_sources
from shoal.features.errors import RowError
from shoal.features.files import check_output, decode_text, read_text
from shoal.features.offline import extract as run_extract
from shoal.features.parse import referenced_tables
from shoal.features.query import Frame
from shoal.features.schema import SCALARS_ONLY, Kind
from shoal.features.schema import show as show_value
from shoal.features.verify import verify as run_verify
from shoal.store.projects import DEFAULT_PROJECT

app = typer.Typer(no_args_is_help=True, help="Feature SQL: offline samples, deploy, online request mode.")
ProjectOpt = Annotated[str, typer.Option("--project", help="project of the tables and feature sets")]
TablesOpt = Annotated[
    list[str] | None,
    typer.Option("--table", "-t", help="NAME=FILE: read table NAME from a .parquet/.csv file, not the managed table"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]


def _tables(pairs: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, path = pair.partition("=")
        if not sep or not name or not path:
            raise InvalidInput(f"--table {pair!r} must look like NAME=FILE")
        out[name] = path
    return out


def _rows(values: list[str] | None, file: Path | None) -> list[dict[str, Any]]:
    rows: list[Any] = []
    for v in values or []:
        rows.append(_json_row(v, "--row", "write it like '{\"ip\": 1, \"app\": 3}'"))
    if file is not None:
        text = decode_text(sys.stdin.buffer.read(), "stdin") if str(file) == "-" else read_text(file, "rows file")
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                rows.append(_json_row(line, f"{file}:{n}", "one JSON object per line"))
    if not rows:
        raise InvalidInput("give rows with --row JSON or --file rows.jsonl")
    for r in rows:
        if not isinstance(r, dict):
            raise InvalidInput(f"a row is a JSON object of column values, got {show_value(r)}")
    return rows


def _json_row(text: str, where: str, hint: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        # Nested deeper than the JSON reader's recursion allows: no row value is ever nested.
        field = _nested_field(text)
        named = f"{field}: " if field is not None else ""
        raise RowError(f"{where}: {named}{SCALARS_ONLY}, not nested arrays or objects", field or "") from None
    except ValueError as e:  # not JSON, or a number with more digits than Python reads
        raise InvalidInput(f"{where} is not JSON: {e} ({hint})") from None


def _nested_field(text: str) -> str | None:
    """The first top-level field of a JSON object whose value is an array or object (a scan that
    does not recurse, for text too deeply nested for json.loads)."""
    depth = 0
    in_string = escaped = False
    start = 0
    last_string = key = None
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
                if depth == 1:
                    last_string = text[start : i + 1]
        elif ch == '"':
            in_string, start = True, i
        elif ch == ":" and depth == 1:
            key = last_string
        elif ch in "[{":
            depth += 1
            if depth == 2:
                try:
                    return str(json.loads(key)) if key is not None else None
                except ValueError:
                    return None
        elif ch in "]}":
            depth -= 1
    return None


def _progress(what: str) -> Progress:
    return Progress(
        TextColumn(escape(what)), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console,
        transient=True, disable=not console.is_terminal,
    )


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
    info = catalog.import_table(
        store(), name, path=file, sql=sql, mode="append" if append else "overwrite", project=project
    )
    if json_out:
        print_json({**info.__dict__, "schema": info.schema.columns})
        return
    console.print(f"table [bold]{escape(info.project)}/{escape(info.name)}[/] version {info.version}: "
                  f"{info.row_count} rows, {len(info.schema.columns)} columns")


@app.command("tables")
@handle_errors
def tables(project: ProjectOpt = DEFAULT_PROJECT, json_out: JsonOpt = False) -> None:
    """List managed offline tables."""
    infos = catalog.list_tables(store(), project=project)
    if json_out:
        print_json([{**i.__dict__, "schema": i.schema.columns} for i in infos])
        return
    t = Table()
    for c in ("name", "version", "rows", "columns", "source"):
        t.add_column(c)
    for i in infos:
        cols = ", ".join(f"{k} {v}" for k, v in i.schema.columns.items())
        t.add_row(plain(i.name), str(i.version), str(i.row_count), plain(cols), plain(i.source))
    console.print(t)


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
    sql = _read_sql(sql_file)
    check_output(output)  # before reading any table: a long job must not fail at its last step
    sources = resolve_sources(store(), referenced_tables(sql), _tables(table), project=project)
    query = compile_with_sources(sql, sources)
    with console.status(f"extracting {len(query.features)} features with DuckDB..."):
        result = run_extract(query, sources, output, keep_order=keep_order)
    if json_out:
        print_json(result.__dict__)
        return
    rate = result.rows / result.seconds if result.seconds else 0
    console.print(f"wrote {result.rows} rows x {len(result.columns)} features to {escape(str(result.path))} "
                  f"in {result.seconds:.1f}s ({rate:,.0f} rows/s)")


def _read_sql(path: Path) -> str:
    return read_text(path, "feature SQL file")


@app.command("deploy")
@handle_errors
def deploy(
    name: Annotated[str, typer.Argument(help="the feature set name")],
    sql_file: Annotated[Path, typer.Argument(help="the feature SQL file")],
    table: TablesOpt = None,
    max_rows_per_key: Annotated[
        int, typer.Option("--max-rows-per-key", help="online store cap per key")
    ] = catalog.DEFAULT_CAP,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_out: JsonOpt = False,
) -> None:
    """Store the feature SQL as a new version of feature set NAME (unchanged SQL: no new version)."""
    info, changed = catalog.deploy(
        store(), name, _read_sql(sql_file), project=project, tables=_tables(table), max_rows_per_key=max_rows_per_key
    )
    if json_out:
        print_json({"project": info.project, "name": info.name, "version": info.version, "changed": changed})
        return
    what = f"version {info.version} deployed" if changed else f"unchanged (version {info.version})"
    console.print(f"feature set [bold]{escape(info.project)}/{escape(info.name)}[/]: {what}")


@app.command("list")
@handle_errors
def list_(project: ProjectOpt = DEFAULT_PROJECT, json_out: JsonOpt = False) -> None:
    """List deployed feature sets (latest versions) with their online row counts."""
    s = store()
    infos = catalog.list_feature_sets(s, project=project)
    online = catalog.open_online_store(s.settings)
    rows = [
        {"name": i.name, "version": i.version, "tables": list(i.schemas), "features": len(i.query().features),
         **online.stats(i.namespace), "created_at": i.created_at}
        for i in infos
    ]
    if json_out:
        print_json(rows)
        return
    t = Table()
    for c in ("name", "version", "tables", "features", "online keys", "online rows", "deployed"):
        t.add_column(c)
    for r in rows:
        t.add_row(plain(r["name"]), str(r["version"]), plain(", ".join(r["tables"])), str(r["features"]),
                  str(r["keys"]), str(r["rows"]), r["created_at"].isoformat(sep=" ", timespec="seconds"))
    console.print(t)


@app.command("show")
@handle_errors
def show(
    name: str,
    version: Annotated[int | None, typer.Option("--version", help="a deployed version (default: latest)")] = None,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_out: JsonOpt = False,
) -> None:
    """Show a feature set's SQL, features, windows and online store contents."""
    s = store()
    info = catalog.get_feature_set(s, name, project=project, version=version)
    q = info.query()
    stats = catalog.open_online_store(s.settings).stats(info.namespace)
    doc = {
        "project": info.project, "name": info.name, "version": info.version, "sql": info.sql,
        "features": [f.name for f in q.features], "time_column": q.time_column,
        "windows": {w.name: {"partition_by": list(w.partition_by), "frame": w.frame.kind, "size": w.frame.size,
                             "text": _frame_text(w.frame, q.schemas["main"].kind(w.order_by))}
                    for w in q.windows.values()},
        "tables": {t: sc.columns for t, sc in info.schemas.items()}, "max_rows_per_key": info.max_rows_per_key,
        "online": stats,
    }
    if json_out:
        print_json(doc)
        return
    console.print(
        f"[bold]{escape(info.project)}/{escape(info.name)}[/] version {info.version}, "
        f"deployed {info.created_at:%Y-%m-%d %H:%M}"
    )
    # Feature, window and column names come from the SQL: text, not markup.
    console.print(f"features: {', '.join(doc['features'])}", markup=False)
    for wname, w in doc["windows"].items():
        console.print(f"window {wname}: PARTITION BY {', '.join(w['partition_by'])} {w['text']}", markup=False)
    console.print(f"online store: {stats['keys']} keys, {stats['rows']} rows")
    console.print(info.sql, highlight=False, markup=False)


def _frame_text(frame: Frame, time_kind: Kind | None) -> str:
    if frame.kind == "rows":
        return f"ROWS {frame.size} PRECEDING"
    if frame.kind == "unbounded":
        return "UNBOUNDED PRECEDING"
    size = frame.size if time_kind is Kind.TIMESTAMP else frame.size * 1000  # integer times are ms
    for unit, us in (("d", 86_400_000_000), ("h", 3_600_000_000), ("m", 60_000_000), ("s", 1_000_000)):
        if size % us == 0:
            return f"RANGE {size // us}{unit} PRECEDING"
    return f"RANGE {size // 1000}ms PRECEDING"


@app.command("online-import")
@handle_errors
def online_import(
    name: str,
    table: TablesOpt = None,
    version: Annotated[int | None, typer.Option("--version", help="a deployed version (default: latest)")] = None,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_out: JsonOpt = False,
) -> None:
    """Bulk-load the recent rows of the offline tables into the online store."""
    s = store()
    online = catalog.open_online_store(s.settings)
    info, fs = catalog.open_feature_set(s, online, name, project=project, version=version)
    sources = catalog.table_sources(s, info, _tables(table))
    with online.transaction(), _progress(f"importing into {name} v{info.version}") as bar:
        task = bar.add_task("rows", total=None)
        n = fs.import_offline(sources, progress=lambda k: bar.advance(task, k))
    stats = fs.stats()
    if json_out:
        print_json({"imported": n, **stats})
        return
    console.print(f"imported {n} rows into {escape(info.project)}/{escape(name)} v{info.version}: "
                  f"{stats['keys']} keys, {stats['rows']} rows online")


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
    s = store()
    online = catalog.open_online_store(s.settings)
    rows = _rows(row, file)
    with online.transaction():
        _, fs = catalog.open_feature_set(s, online, name, project=project)
        n = fs.insert_many(rows, table)
    console.print(f"inserted {n} row(s) into {escape(name)}")


@app.command("compute")
@handle_errors
def compute(
    name: str,
    row: Annotated[list[str] | None, typer.Option("--row", help="a request row as JSON (repeatable)")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="request rows as JSON lines ('-' for stdin)")] = None,
    version: Annotated[int | None, typer.Option("--version", help="a deployed version (default: latest)")] = None,
    project: ProjectOpt = DEFAULT_PROJECT,
) -> None:
    """Features of request rows in request mode (the rows are not stored). Prints JSON."""
    s = store()
    online = catalog.open_online_store(s.settings)
    _, fs = catalog.open_feature_set(s, online, name, project=project, version=version)
    rows = _rows(row, file)
    results = fs.compute_batch(rows)
    print_json(results[0] if len(results) == 1 and row and not file else results)


@app.command("verify")
@handle_errors
def verify(
    name: str,
    sample: Annotated[int, typer.Option("--sample", help="how many rows to check")] = 100,
    seed: Annotated[int, typer.Option("--seed", help="which rows (random sample seed)")] = 0,
    table: TablesOpt = None,
    version: Annotated[int | None, typer.Option("--version", help="a deployed version (default: latest)")] = None,
    project: ProjectOpt = DEFAULT_PROJECT,
    json_out: JsonOpt = False,
) -> None:
    """Skew check: request-mode features of sampled rows against their offline features."""
    if sample < 1:
        raise InvalidInput("--sample must be at least 1")
    s = store()
    info = catalog.get_feature_set(s, name, project=project, version=version)
    sources = catalog.table_sources(s, info, _tables(table))
    with _progress(f"verifying {name} v{info.version}") as bar:
        task = bar.add_task("rows", total=sample)
        report = run_verify(info.query(), sources, sample=sample, seed=seed, cap=info.max_rows_per_key,
                            progress=lambda k: bar.advance(task, k))
    if json_out:
        print_json({"rows_in_table": report.rows_in_table, "checked": report.checked, "ok": report.ok,
                    "mismatches": [m.__dict__ for m in report.mismatches]})
    elif report.ok:
        console.print(f"[green]ok[/]: {report.checked} sampled rows of {report.rows_in_table}, "
                      f"{len(info.query().features)} features each, online == offline")
    else:
        t = Table(title=f"{len(report.mismatches)} mismatches in {report.checked} rows")
        for c in ("row", "feature", "offline", "online"):
            t.add_column(c)
        for m in report.mismatches[:50]:
            t.add_row(str(m.seq), plain(m.feature), plain(repr(m.offline)), plain(repr(m.online)))
        console.print(t)
    if not report.ok:
        raise typer.Exit(1)
