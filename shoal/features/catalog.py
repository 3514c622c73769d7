"""Managed offline tables and deployed feature sets, recorded in the metadata database.

A managed table is an immutable Parquet file per version under `SHOAL_ARTIFACTS/tables/`;
`import_table` writes the file first and records it after, so a failed import leaves nothing
behind. A feature set version stores its SQL and the schemas it was compiled against, so that
request mode never needs the offline tables; `deploy` adds a version only when the SQL or those
schemas changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sqlalchemy import func, insert, select

from shoal.config import Settings
from shoal.errors import Conflict, InvalidInput
from shoal.features.errors import FeatureSetNotFound, FeatureSqlError, TableNotFound
from shoal.features.featureset import DEFAULT_CAP, FeatureSet
from shoal.features.online import MemoryStore, OnlineStore, SnapshotReader
from shoal.features.online.memory import rebuild_hint
from shoal.features.parse import compile_feature_sql, referenced_tables
from shoal.features.query import MAIN, FeatureQuery
from shoal.features.schema import TableSchema
from shoal.store import Store, utcnow
from shoal.store.models import feature_sets, feature_tables, projects
from shoal.store.projects import DEFAULT_PROJECT, project_id

if TYPE_CHECKING:
    import duckdb

    from shoal.features.offline import Source

# DuckDB (and `offline`, which needs it) load in the functions that read tables: request mode
# (`features compute`, `shoal serve`) reads the feature set and the online store only.


@dataclass(frozen=True)
class TableInfo:
    project: str
    name: str
    version: int
    location: str
    schema: TableSchema
    row_count: int
    source: str
    created_at: datetime

    def source_ref(self) -> Source:
        from shoal.features.offline import Source

        return Source("parquet", self.location)


@dataclass(frozen=True)
class FeatureSetInfo:
    project: str
    name: str
    version: int
    sql: str
    schemas: dict[str, TableSchema]
    max_rows_per_key: int
    created_at: datetime

    @property
    def namespace(self) -> str:
        return f"{self.project}/{self.name}/v{self.version}"

    def query(self) -> FeatureQuery:
        return compile_feature_sql(self.sql, self.schemas)


MAX_INTEGER = 2**31 - 1  # the largest version or cap the metadata database's INTEGER columns hold

# -- managed tables -------------------------------------------------------------------------------


def _tables_dir(settings: Settings, project: str, name: str) -> Path:
    return Path(settings.artifacts_url) / "tables" / project / name


def import_table(
    store: Store,
    name: str,
    *,
    path: str | Path | None = None,
    sql: str | None = None,
    mode: Literal["overwrite", "append"] = "overwrite",
    project: str = DEFAULT_PROJECT,
) -> TableInfo:
    """Copy a CSV/Parquet file, or the result of a DuckDB SELECT, into a new table version.

    In `sql`, the project's managed tables can be read by name. `append` keeps the rows of the
    current version first (arrival order is file order) and adds the new ones after them.
    """
    import duckdb

    from shoal.features.offline import SEQ, Source, check_schema, connect, error_text, literal, quote, write_parquet

    if (path is None) == (sql is None):
        raise FeatureSqlError("give exactly one of a file path or a SQL query to import")
    if not name.replace("_", "").isalnum():
        raise FeatureSqlError(f"table name {name!r}: use letters, digits and _")
    current = _latest_table(store, name, project)
    if mode == "append" and current is None:
        raise TableNotFound(f"cannot append to table {name}: it does not exist yet (import it first)")
    con = connect()
    try:
        if path is not None:
            src = Source.from_path(path)
            if src.kind == "csv":
                _check_csv_has_rows(con, Path(src.location), name)
            select_new = f"SELECT * EXCLUDE ({SEQ}) FROM {src.relation(con, name)} ORDER BY {SEQ}"
            described = str(Path(path).resolve())
        else:
            for t in list_tables(store, project=project):
                con.execute(f"CREATE VIEW {quote(t.name)} AS SELECT * FROM read_parquet({literal(t.location)})")
            select_new = _one_select(con, sql, name)  # type: ignore[arg-type]
            described = f"sql: {select_new}"
        try:
            columns = {r[0]: r[1] for r in con.execute(f"DESCRIBE {select_new}").fetchall()}
        except duckdb.Error as e:
            raise FeatureSqlError(f"cannot read the data to import into {name}: {error_text(e)}") from None
        schema = TableSchema(name, columns)
        check_schema(schema)
        if mode == "append":
            assert current is not None
            if columns != current.schema.columns:
                raise FeatureSqlError(
                    f"cannot append to {name}: columns {columns} differ from the table's {current.schema.columns}"
                )
            select_new = (
                f"SELECT * FROM read_parquet({literal(current.location)}) UNION ALL ({select_new})"
            )
        version = (current.version if current else 0) + 1
        target = _tables_dir(store.settings, project, name) / f"v{version}.parquet"
        try:
            # The rows keep the order they were read in: that order is their arrival order.
            con.execute("SET preserve_insertion_order=true")
            rows = write_parquet(con, select_new, target)
        except duckdb.Error as e:
            raise FeatureSqlError(f"cannot import into {name}: {error_text(e)}") from None
    finally:
        con.close()
    now = utcnow()
    with store.engine.begin() as conn:
        pid = project_id(conn, project, create=True)
        conn.execute(
            insert(feature_tables).values(
                project_id=pid, name=name, version=version, location=str(target), columns=columns,
                row_count=rows, source=described, created_at=now,
            )
        )
    return TableInfo(project, name, version, str(target), schema, rows, described, now)


def _one_select(con: duckdb.DuckDBPyConnection, sql: str, name: str) -> str:
    """The one SELECT of `sql`, refusing anything else (a second statement would run too, and
    change things, before the import is even checked)."""
    import duckdb

    from shoal.features.offline import error_text

    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as e:
        raise FeatureSqlError(f"cannot read the SQL to import into {name}: {error_text(e)}") from None
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        kinds = ", ".join(str(s.type).rsplit(".", 1)[-1] for s in statements) or "none"
        raise FeatureSqlError(f"the SQL to import into {name} must be one SELECT statement, found: {kinds}")
    # A trailing "-- comment" must not swallow the parenthesis the query is wrapped in.
    return sql.strip().rstrip(";") + "\n"


def _check_csv_has_rows(con: duckdb.DuckDBPyConnection, path: Path, name: str) -> None:
    """Refuse a CSV without data rows: an empty file has no columns, and a header alone gives no
    column types (DuckDB would read every column as VARCHAR), so neither makes a usable table."""
    import duckdb

    from shoal.features.offline import literal

    if path.stat().st_size == 0:
        raise InvalidInput(f"{path} is empty: nothing to import into {name}", file=str(path))
    try:
        first = con.execute(f"SELECT 1 FROM read_csv({literal(str(path))}) LIMIT 1").fetchone()
    except duckdb.Error:
        return  # unreadable: the DESCRIBE that follows says why
    if first is None:
        raise InvalidInput(
            f"{path} has no data rows (at most a header): a CSV's column types are read from its rows, so "
            f"there is nothing to make table {name} from; import a file with rows (or a Parquet file)",
            file=str(path),
        )


def _table_info(row, project: str) -> TableInfo:  # type: ignore[no-untyped-def]
    return TableInfo(
        project, row.name, row.version, row.location, TableSchema(row.name, dict(row.columns)),
        row.row_count, row.source, row.created_at,
    )


def _latest_table(store: Store, name: str, project: str) -> TableInfo | None:
    with store.engine.connect() as conn:
        row = conn.execute(
            select(feature_tables)
            .join(projects, projects.c.id == feature_tables.c.project_id)
            .where(projects.c.name == project, feature_tables.c.name == name)
            .order_by(feature_tables.c.version.desc())
            .limit(1)
        ).first()
    return _table_info(row, project) if row else None


def get_table(store: Store, name: str, *, project: str = DEFAULT_PROJECT) -> TableInfo:
    info = _latest_table(store, name, project)
    if info is None:
        raise TableNotFound(
            f"no table {name} in project {project}; import it with `shoal features import {name} FILE`"
        )
    return info


def list_tables(store: Store, *, project: str = DEFAULT_PROJECT) -> list[TableInfo]:
    latest = (
        select(feature_tables.c.name, func.max(feature_tables.c.version).label("v"))
        .join(projects, projects.c.id == feature_tables.c.project_id)
        .where(projects.c.name == project)
        .group_by(feature_tables.c.name)
        .subquery()
    )
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(feature_tables)
            .join(projects, projects.c.id == feature_tables.c.project_id)
            .join(latest, (latest.c.name == feature_tables.c.name) & (latest.c.v == feature_tables.c.version))
            .where(projects.c.name == project)
            .order_by(feature_tables.c.name)
        ).all()
    return [_table_info(r, project) for r in rows]


def resolve_sources(
    store: Store | None, tables: list[str], given: dict[str, str] | None = None, *, project: str = DEFAULT_PROJECT
) -> dict[str, Source]:
    """Sources for `tables`: files given explicitly (name -> path) first, then managed tables."""
    from shoal.features.offline import Source

    given = given or {}
    sources: dict[str, Source] = {}
    for t in tables:
        if t in given:
            sources[t] = Source.from_path(given[t])
        elif store is not None:
            sources[t] = get_table(store, t, project=project).source_ref()
        else:
            raise TableNotFound(f"no file given for table {t}")
    return sources


def compile_with_sources(sql: str, sources: dict[str, Source]) -> FeatureQuery:
    from shoal.features.offline import check_schema, connect

    con = connect()
    try:
        schemas = {name: src.describe(name, con) for name, src in sources.items()}
    finally:
        con.close()
    for s in schemas.values():
        check_schema(s)
    return compile_feature_sql(sql, schemas)


# -- feature sets ---------------------------------------------------------------------------------


def _hash(sql: str, schemas: dict[str, TableSchema], cap: int) -> str:
    doc = {"sql": sql, "schemas": {k: v.to_json() for k, v in sorted(schemas.items())}, "cap": cap}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def deploy(
    store: Store,
    name: str,
    sql: str,
    *,
    project: str = DEFAULT_PROJECT,
    tables: dict[str, str] | None = None,
    max_rows_per_key: int = DEFAULT_CAP,
) -> tuple[FeatureSetInfo, bool]:
    """Store a new version of feature set `name` if the SQL (or its tables' schemas) changed.

    Returns the current version and whether it is new. The SQL is compiled first: a feature SQL
    that does not compile is never stored.
    """
    if not name.replace("_", "").replace("-", "").isalnum():
        raise FeatureSqlError(f"feature set name {name!r}: use letters, digits, - and _")
    if not 1 <= max_rows_per_key <= MAX_INTEGER:
        raise FeatureSqlError(f"max rows per key must be between 1 and {MAX_INTEGER}, not {max_rows_per_key}")
    sources = resolve_sources(store, referenced_tables(sql), tables, project=project)
    query = compile_with_sources(sql, sources)
    if query.time_column is None:
        raise FeatureSqlError("a deployed feature set needs at least one window or LAST JOIN to serve online")
    schemas = {t: query.schemas[role] for role, t in _roles(query).items()}
    digest = _hash(sql, schemas, max_rows_per_key)
    with store.engine.begin() as conn:
        pid = project_id(conn, project, create=True)
        last = conn.execute(
            select(feature_sets)
            .where(feature_sets.c.project_id == pid, feature_sets.c.name == name)
            .order_by(feature_sets.c.version.desc())
            .limit(1)
        ).first()
        if last is not None and last.sql_hash == digest:
            return _set_info(last, project), False
        version = (last.version if last else 0) + 1
        now = utcnow()
        conn.execute(
            insert(feature_sets).values(
                project_id=pid, name=name, version=version, sql=sql, sql_hash=digest,
                schemas={k: v.to_json() for k, v in schemas.items()}, max_rows_per_key=max_rows_per_key,
                created_at=now,
            )
        )
    return FeatureSetInfo(project, name, version, sql, schemas, max_rows_per_key, now), True


def _roles(query: FeatureQuery) -> dict[str, str]:
    return {MAIN: query.main, **{j.alias: j.table for j in query.joins}}


def _set_info(row, project: str) -> FeatureSetInfo:  # type: ignore[no-untyped-def]
    return FeatureSetInfo(
        project, row.name, row.version, row.sql,
        {k: TableSchema.from_json(v) for k, v in row.schemas.items()}, row.max_rows_per_key, row.created_at,
    )


def get_feature_set(
    store: Store, name: str, *, project: str = DEFAULT_PROJECT, version: int | None = None
) -> FeatureSetInfo:
    q = (
        select(feature_sets)
        .join(projects, projects.c.id == feature_sets.c.project_id)
        .where(projects.c.name == project, feature_sets.c.name == name)
    )
    q = q.where(feature_sets.c.version == version) if version is not None else q.order_by(
        feature_sets.c.version.desc()
    )
    row = None
    # A version beyond what the database's INTEGER column holds cannot exist (and would not bind).
    if version is None or 1 <= version <= MAX_INTEGER:
        with store.engine.connect() as conn:
            row = conn.execute(q.limit(1)).first()
    if row is None:
        what = f"{name} v{version}" if version is not None else name
        raise FeatureSetNotFound(
            f"no feature set {what} in project {project}; deploy it with `shoal features deploy {name} FILE.sql`"
        )
    return _set_info(row, project)


def feature_set_versions(store: Store, name: str, *, project: str = DEFAULT_PROJECT) -> list[FeatureSetInfo]:
    """Every version of a feature set, newest first (FeatureSetNotFound if it has none)."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(feature_sets)
            .join(projects, projects.c.id == feature_sets.c.project_id)
            .where(projects.c.name == project, feature_sets.c.name == name)
            .order_by(feature_sets.c.version.desc())
        ).all()
    if not rows:
        raise FeatureSetNotFound(
            f"no feature set {name} in project {project}; deploy it with `shoal features deploy {name} FILE.sql`"
        )
    return [_set_info(r, project) for r in rows]


def list_feature_sets(store: Store, *, project: str = DEFAULT_PROJECT) -> list[FeatureSetInfo]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(feature_sets)
            .join(projects, projects.c.id == feature_sets.c.project_id)
            .where(projects.c.name == project)
            .order_by(feature_sets.c.name, feature_sets.c.version)
        ).all()
    latest: dict[str, FeatureSetInfo] = {}
    for r in rows:
        latest[r.name] = _set_info(r, project)
    return list(latest.values())


SNAPSHOT = "memory.snapshot"  # the embedded store's snapshot under SHOAL_HOME/online/
_LEGACY_SNAPSHOT = "memory.pkl"  # the pickle earlier versions kept: never loaded (it could run code)


def open_online_store(settings: Settings, *, read_only: bool = False) -> OnlineStore:
    """The online store the settings name: a memory snapshot under SHOAL_HOME, or Redis.

    `read_only`: for a few requests and stats, not for inserting; the memory store is then a
    SnapshotReader, which reads only the keys asked for instead of loading the whole snapshot.
    """
    target = settings.online_store
    if target == "memory":
        folder = settings.home_dir / "online"
        legacy = folder / _LEGACY_SNAPSHOT
        if legacy.exists():
            # Its rows cannot be carried over without unpickling them: refuse, rather than serve
            # features from a store that silently lost them.
            raise Conflict(
                f"{legacy} is an online store snapshot in the old pickle format, which shoal no longer "
                f"loads (loading a pickle can run code); {rebuild_hint(legacy)}",
                path=str(legacy),
            )
        return SnapshotReader(folder / SNAPSHOT) if read_only else MemoryStore(folder / SNAPSHOT)
    if target.startswith(("redis://", "rediss://", "unix://")):
        from shoal.features.online.redis_store import RedisStore

        return RedisStore(target)
    raise FeatureSqlError(f"SHOAL_ONLINE_STORE={target!r}: use memory or a redis:// URL")


def open_feature_set(
    store: Store, online: OnlineStore, name: str, *, project: str = DEFAULT_PROJECT, version: int | None = None
) -> tuple[FeatureSetInfo, FeatureSet]:
    info = get_feature_set(store, name, project=project, version=version)
    return info, FeatureSet(info.query(), online, namespace=info.namespace, cap=info.max_rows_per_key)


def table_sources(store: Store, info: FeatureSetInfo, given: dict[str, str] | None = None) -> dict[str, Source]:
    """Offline sources for a deployed feature set's tables (files given, else managed tables),
    checked to have the columns it reads, of the kinds it was deployed with."""
    sources = resolve_sources(store, list(info.schemas), given, project=info.project)
    _check_sources(info, sources)
    return sources


def _check_sources(info: FeatureSetInfo, sources: dict[str, Source]) -> None:
    from shoal.features.offline import connect

    q = info.query()
    reads = [(MAIN, q.main, q.main_columns), *((j.alias, j.table, q.join_columns(j.alias)) for j in q.joins)]
    con = connect()
    try:
        for role, table, columns in reads:
            source = sources[table]
            got = source.describe(table, con)
            want = q.schemas[role]
            where = f"table {table} ({source.location or 'rows'})"
            for c in columns:
                if c not in got.columns:
                    raise FeatureSqlError(
                        f"{where} has no column {c}, which feature set {info.name} v{info.version} reads"
                    )
                if got.kind(c) != want.kind(c):
                    raise FeatureSqlError(
                        f"{where}: column {c} is {got.columns[c]}, but feature set {info.name} v{info.version} "
                        f"was deployed with {want.columns[c]}"
                    )
    finally:
        con.close()
