"""Feature tables and feature sets: import and list managed tables; extract samples offline;
deploy a feature SQL, load its online store, insert live rows, compute request rows, verify that
online equals offline.

The feature engine (`shoal.features`) does the work; this module adds who may do it
(`engine.access`: reading needs the viewer role in the project, changing the editor role),
opens the online store the way each use needs it, and returns plain dataclasses that serialise
to JSON. A one-off `compute` reads only the keys its rows need from the embedded store's
snapshot instead of loading all of it. Long jobs (`extract`, `online_import`, `verify`) take an
optional `progress(done, total)` callback (`shoal.features.progress`) for the caller to render.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from shoal.engine.access import LOCAL, Actor, Role, require
from shoal.errors import InvalidInput
from shoal.features import catalog
from shoal.features.catalog import DEFAULT_CAP, FeatureSetInfo, TableInfo
from shoal.features.errors import RowError
from shoal.features.files import check_output, decode_text, read_text
from shoal.features.query import Frame
from shoal.features.schema import SCALARS_ONLY, Kind, show
from shoal.spec.models import DEFAULT_PROJECT

if TYPE_CHECKING:
    from shoal.features.offline import ExtractResult
    from shoal.features.progress import Progress
    from shoal.features.verify import Mismatch
    from shoal.store import Store

__all__ = [
    "DEFAULT_CAP", "DeployResult", "FeatureSetDetail", "FeatureSetSummary", "ImportSummary", "TableSummary",
    "VerifyResult", "compute", "deploy", "extract", "feature_set_versions", "import_table", "insert",
    "list_feature_sets", "list_tables", "online_import", "parse_rows", "read_sql", "show_feature_set", "verify",
]


# -- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableSummary:
    """A managed offline table's current version."""

    project: str
    name: str
    version: int
    location: str
    schema: dict[str, str]  # column -> DuckDB type
    row_count: int
    source: str
    created_at: datetime

    @classmethod
    def of(cls, t: TableInfo) -> TableSummary:
        return cls(t.project, t.name, t.version, t.location, dict(t.schema.columns), t.row_count, t.source,
                   t.created_at)


@dataclass(frozen=True)
class DeployResult:
    project: str
    name: str
    version: int
    changed: bool  # False: the SQL and its tables' schemas were unchanged, no version was added


@dataclass(frozen=True)
class FeatureSetSummary:
    """A feature set version (the latest, in lists), with what its online store holds."""

    name: str
    version: int
    tables: list[str]
    features: int
    keys: int  # online: keys, summed over the indexes (one per PARTITION BY or LAST JOIN key)
    rows: int  # online: rows, summed over the indexes (each index keeps its own copy of a row)
    created_at: datetime


@dataclass(frozen=True)
class Window:
    partition_by: list[str]
    frame: str  # "rows" | "range" | "unbounded"
    size: int | None
    text: str  # the frame as written back: "RANGE 1h PRECEDING"


@dataclass(frozen=True)
class FeatureSetDetail:
    project: str
    name: str
    version: int
    sql: str
    features: list[str]
    time_column: str | None
    windows: dict[str, Window]
    tables: dict[str, dict[str, str]]  # table -> column -> DuckDB type, as deployed
    max_rows_per_key: int
    online: dict[str, int]  # {"keys", "rows"}
    created_at: datetime


@dataclass(frozen=True)
class ImportSummary:
    """What `online_import` did. Each index keeps its own copy of the rows it needs, so a table
    row can be stored once per index: `rows_stored` is not a count of table rows."""

    project: str
    name: str
    version: int
    rows_read: int  # rows of the offline tables read
    tables: dict[str, int]  # ... per table
    rows_stored: int  # rows the indexes now hold from the import
    indexes: dict[str, int]  # ... per index ("main:ip,app", "join:d")
    keys: int  # the online store afterwards (with rows inserted since, for a non-replacing import)
    rows: int


@dataclass(frozen=True)
class VerifyResult:
    name: str
    version: int
    features: int
    rows_in_table: int
    checked: int
    ok: bool
    mismatches: list[Mismatch] = field(default_factory=list)


# -- reading the inputs a caller hands over -----------------------------------------------------


def read_sql(path: str | Path) -> str:
    """The text of a feature SQL file (InvalidInput naming the file if it cannot be read)."""
    return read_text(path, "feature SQL file")


def parse_rows(values: Sequence[str] = (), file: str | Path | None = None,
               stdin: IO[bytes] | None = None) -> list[dict[str, Any]]:
    """Rows written as JSON objects: each of `values`, then one per line of `file` ("-": `stdin`)."""
    rows: list[Any] = [_json_row(v, "--row", "write it like '{\"ip\": 1, \"app\": 3}'") for v in values]
    if file is not None:
        if str(file) == "-":
            text = decode_text(stdin.read() if stdin is not None else b"", "stdin")
        else:
            text = read_text(file, "rows file")
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                rows.append(_json_row(line, f"{file}:{n}", "one JSON object per line"))
    if not rows:
        raise InvalidInput("give rows with --row JSON or --file rows.jsonl")
    for r in rows:
        if not isinstance(r, dict):
            raise InvalidInput(f"a row is a JSON object of column values, got {show(r)}")
    return rows


def _json_row(text: str, where: str, hint: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        # Nested deeper than the JSON reader's recursion allows: no row value is ever nested.
        name = _nested_field(text)
        named = f"{name}: " if name is not None else ""
        raise RowError(f"{where}: {named}{SCALARS_ONLY}, not nested arrays or objects", name or "") from None
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


# -- access ---------------------------------------------------------------------------------------


def _may_read(actor: Actor, project: str) -> None:
    require(actor, project, Role.VIEWER, f"read feature tables and sets of project {project!r}")


def _may_change(actor: Actor, project: str, doing: str) -> None:
    require(actor, project, Role.EDITOR, f"{doing} in project {project!r}")


# -- managed tables -------------------------------------------------------------------------------


def import_table(
    store: Store,
    name: str,
    *,
    path: str | Path | None = None,
    sql: str | None = None,
    append: bool = False,
    project: str = DEFAULT_PROJECT,
    actor: Actor = LOCAL,
) -> TableSummary:
    """Copy a CSV/Parquet file (or a DuckDB SELECT's result) into a new version of table `name`;
    `append` keeps the current rows first."""
    _may_change(actor, project, "import tables")
    mode: Literal["overwrite", "append"] = "append" if append else "overwrite"
    return TableSummary.of(catalog.import_table(store, name, path=path, sql=sql, mode=mode, project=project))


def list_tables(store: Store, *, project: str = DEFAULT_PROJECT, actor: Actor = LOCAL) -> list[TableSummary]:
    """The project's managed tables, latest version each, by name."""
    _may_read(actor, project)
    return [TableSummary.of(t) for t in catalog.list_tables(store, project=project)]


# -- offline ----------------------------------------------------------------------------------------


def extract(
    store: Store,
    sql: str,
    output: str | Path,
    *,
    tables: Mapping[str, str] | None = None,
    keep_order: bool = False,
    project: str = DEFAULT_PROJECT,
    actor: Actor = LOCAL,
    progress: Progress | None = None,
) -> ExtractResult:
    """Every row's features, point in time, written as Parquet samples to `output`. `tables`
    names files to read instead of managed tables; `progress(percent, 100)`."""
    from shoal.features.offline import extract as run_extract
    from shoal.features.parse import referenced_tables

    _may_read(actor, project)
    check_output(output)  # before reading any table: a long job must not fail at its last step
    sources = catalog.resolve_sources(store, referenced_tables(sql), dict(tables or {}), project=project)
    query = catalog.compile_with_sources(sql, sources)
    return run_extract(query, sources, output, keep_order=keep_order, progress=progress)


# -- feature sets -----------------------------------------------------------------------------------


def deploy(
    store: Store,
    name: str,
    sql: str,
    *,
    tables: Mapping[str, str] | None = None,
    max_rows_per_key: int = DEFAULT_CAP,
    project: str = DEFAULT_PROJECT,
    actor: Actor = LOCAL,
) -> DeployResult:
    """Store the SQL as a new version of feature set `name`, unless it (and its tables' schemas)
    is unchanged; a SQL that does not compile is never stored."""
    _may_change(actor, project, "deploy feature sets")
    info, changed = catalog.deploy(
        store, name, sql, project=project, tables=dict(tables or {}), max_rows_per_key=max_rows_per_key
    )
    return DeployResult(info.project, info.name, info.version, changed)


def list_feature_sets(
    store: Store, *, project: str = DEFAULT_PROJECT, actor: Actor = LOCAL
) -> list[FeatureSetSummary]:
    """The project's feature sets, latest version each, with their online row counts."""
    _may_read(actor, project)
    return _summaries(store, catalog.list_feature_sets(store, project=project))


def feature_set_versions(
    store: Store, name: str, *, project: str = DEFAULT_PROJECT, actor: Actor = LOCAL
) -> list[FeatureSetSummary]:
    """Every version of a feature set, newest first, each with what its online store holds."""
    _may_read(actor, project)
    return _summaries(store, catalog.feature_set_versions(store, name, project=project))


def _summaries(store: Store, infos: list[catalog.FeatureSetInfo]) -> list[FeatureSetSummary]:
    online = catalog.open_online_store(store.settings, read_only=True)
    try:
        out = []
        for i in infos:
            stats = online.stats(i.namespace)
            out.append(FeatureSetSummary(i.name, i.version, list(i.schemas), len(i.query().features),
                                         stats["keys"], stats["rows"], i.created_at))
        return out
    finally:
        online.close()


def show_feature_set(
    store: Store, name: str, *, version: int | None = None, project: str = DEFAULT_PROJECT, actor: Actor = LOCAL
) -> FeatureSetDetail:
    """A feature set version (default: latest): SQL, features, windows, tables, online contents."""
    from shoal.features.query import MAIN

    _may_read(actor, project)
    info = catalog.get_feature_set(store, name, project=project, version=version)
    q = info.query()
    online = catalog.open_online_store(store.settings, read_only=True)
    try:
        stats = online.stats(info.namespace)
    finally:
        online.close()
    time_kind = q.schemas[MAIN].kind(q.time_column) if q.time_column else None
    windows = {
        w.name: Window(list(w.partition_by), w.frame.kind, w.frame.size, _frame_text(w.frame, time_kind))
        for w in q.windows.values()
    }
    return FeatureSetDetail(
        info.project, info.name, info.version, info.sql, [f.name for f in q.features], q.time_column, windows,
        {t: dict(sc.columns) for t, sc in info.schemas.items()}, info.max_rows_per_key, stats, info.created_at,
    )


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


def online_import(
    store: Store,
    name: str,
    *,
    tables: Mapping[str, str] | None = None,
    version: int | None = None,
    project: str = DEFAULT_PROJECT,
    actor: Actor = LOCAL,
    progress: Progress | None = None,
) -> ImportSummary:
    """Replace what the online store holds for the feature set version with the recent rows of its
    offline tables (managed tables, or the files `tables` names). `progress(rows stored, total)`."""
    _may_change(actor, project, "load online stores")
    online = catalog.open_online_store(store.settings)
    try:
        with online.transaction():
            info, fs = catalog.open_feature_set(store, online, name, project=project, version=version)
            result = fs.import_offline(catalog.table_sources(store, info, dict(tables or {})), progress=progress)
        stats = fs.stats()
    finally:
        online.close()
    return ImportSummary(
        info.project, info.name, info.version, result.total_read, result.rows_read, result.total_stored,
        result.rows_stored, stats["keys"], stats["rows"],
    )


def insert(
    store: Store,
    name: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    table: str | None = None,
    project: str = DEFAULT_PROJECT,
    actor: Actor = LOCAL,
) -> int:
    """Append live rows of the main table (or of LAST JOIN table `table`) to the online store of
    the latest version; every row is checked before any is stored. Returns how many."""
    _may_change(actor, project, "insert online rows")
    online = catalog.open_online_store(store.settings)
    try:
        with online.transaction():
            _, fs = catalog.open_feature_set(store, online, name, project=project)
            return fs.insert_many(rows, table)
    finally:
        online.close()


def compute(
    store: Store,
    name: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    version: int | None = None,
    project: str = DEFAULT_PROJECT,
    actor: Actor = LOCAL,
) -> list[dict[str, Any]]:
    """Features of request rows in request mode (nothing is stored): each row's columns and
    features, as the model server computes them."""
    _may_read(actor, project)
    online = catalog.open_online_store(store.settings, read_only=True)
    try:
        _, fs = catalog.open_feature_set(store, online, name, project=project, version=version)
        return fs.compute_batch(rows)
    finally:
        online.close()


def verify(
    store: Store,
    name: str,
    *,
    sample: int = 100,
    seed: int = 0,
    tables: Mapping[str, str] | None = None,
    version: int | None = None,
    project: str = DEFAULT_PROJECT,
    actor: Actor = LOCAL,
    progress: Progress | None = None,
) -> VerifyResult:
    """Skew check: request-mode features of `sample` random rows (by `seed`) of the offline
    tables against their offline features. `progress(rows checked, total)`."""
    from shoal.features.verify import verify as run_verify

    if sample < 1:
        raise InvalidInput(f"the sample must be at least 1 row, not {sample}")
    _may_read(actor, project)
    info: FeatureSetInfo = catalog.get_feature_set(store, name, project=project, version=version)
    sources = catalog.table_sources(store, info, dict(tables or {}))
    query = info.query()
    report = run_verify(query, sources, sample=sample, seed=seed, cap=info.max_rows_per_key, progress=progress)
    return VerifyResult(info.name, info.version, len(query.features), report.rows_in_table, report.checked,
                        report.ok, report.mismatches)
