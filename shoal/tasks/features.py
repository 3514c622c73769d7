"""Feature task types, as OpenMLDB's DolphinScheduler task does them, over `shoal.features`.

- `data_import`: a CSV/Parquet file or a DuckDB SELECT -> a new version of a managed table;
- `feature_extract`: a feature SQL -> Parquet training samples (point-in-time);
- `feature_deploy`: a feature SQL -> a new version of a feature set (unchanged SQL: none);
- `online_import`: a feature set's recent rows, from its offline tables, into the online store.

Each runs in its own process and opens the run's metadata database and online store from the
SHOAL_* variables the engine passes down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationInfo, model_validator

from shoal.config import get_settings
from shoal.errors import InvalidInput, ShoalError, TaskFailed
from shoal.features import catalog
from shoal.features.catalog import compile_with_sources, resolve_sources
from shoal.features.files import read_text
from shoal.features.offline import extract
from shoal.features.parse import referenced_tables
from shoal.tasks._common import Isolation, resolve, run_store
from shoal.tasks._common import version as parse_version
from shoal.tasks.base import TaskContext, TaskParams, TaskType, isolation_field, references_checked
from shoal.tasks.forms import written_in
from shoal.tasks.values.sql import check_sql_field, sql_with_values

TablesField = Field(
    default_factory=dict,
    description="files to read instead of managed tables: table name -> .parquet or .csv file, e.g. "
    "{talkingdata: clicks.parquet}; relative paths: from the directory the workflow was applied from",
)


class _SqlSource(TaskParams):
    sql: str | None = Field(
        default=None,
        description="the feature SQL: one SELECT with WINDOW clauses over event tables, e.g. SELECT ip, "
        "count(*) OVER w AS clicks_1h FROM clicks WINDOW w AS (PARTITION BY ip ORDER BY click_time "
        "ROWS_RANGE BETWEEN 1h PRECEDING AND CURRENT ROW). Give this or sql_file",
        json_schema_extra=written_in("sql"),
    )
    sql_file: str | None = Field(
        default=None,
        description="a file holding the feature SQL, e.g. features.sql; relative: from the directory the "
        "workflow was applied from. Give this or sql",
    )

    @model_validator(mode="after")
    def _one_of(self, info: ValidationInfo) -> _SqlSource:
        if (self.sql is None) == (self.sql_file is None):
            raise ValueError("give exactly one of 'sql' (the feature SQL) or 'sql_file'")
        check_sql_field(self.sql, None, references_checked(info))
        return self

    def text(self, ctx: TaskContext) -> str:
        if self.sql is not None:
            return _with_values(self.sql, ctx)
        path = resolve(self.sql_file, ctx)  # type: ignore[arg-type]
        if not path.exists():
            raise TaskFailed(f"sql_file {self.sql_file} not found (looked in {ctx.source_dir or '.'})")
        try:
            return read_text(path, "feature SQL file")
        except InvalidInput as e:  # a directory, unreadable, not UTF-8: the message, not a traceback
            raise TaskFailed(f"sql_file: {e}") from None


def _with_values(sql: str, ctx: TaskContext) -> str:
    """The SQL with each `${...}` value as a quoted literal: shoal parses feature SQL (and DuckDB
    runs an import's SELECT) as text, so the values are written in it as data, never as code."""
    try:
        return sql_with_values(sql, ctx.values)
    except ShoalError as e:
        raise TaskFailed(f"sql: {e}") from None


class DataImportParams(TaskParams):
    table: str = Field(
        description="the managed table to write: each import makes a new version of it, e.g. talkingdata",
    )
    path: str | None = Field(
        default=None,
        description="the .csv or .parquet file to import, e.g. clicks.csv; relative: from the directory the "
        "workflow was applied from. Give this or sql",
    )
    sql: str | None = Field(
        default=None,
        description="a DuckDB SELECT whose rows to import; managed tables are readable by name, e.g. SELECT * "
        "FROM clicks WHERE day = ${ds}. Give this or path",
        json_schema_extra=written_in("sql"),
    )
    mode: Literal["overwrite", "append"] = Field(
        default="overwrite",
        description="overwrite: the new version holds only these rows; append: they are added after the "
        "table's current rows",
    )
    isolation: Isolation = isolation_field()

    @model_validator(mode="after")
    def _one_of(self, info: ValidationInfo) -> DataImportParams:
        if (self.path is None) == (self.sql is None):
            raise ValueError("give exactly one of 'path' (a file) or 'sql' (a SELECT)")
        check_sql_field(self.sql, None, references_checked(info))
        return self


class DataImportTask(TaskType):
    name = "data_import"
    Params = DataImportParams
    group = "data"
    description = ("Import a CSV or Parquet file, or a DuckDB SELECT's rows, as a new version of a managed "
                   "table that feature SQL reads by name.")
    needs_store = True  # managed tables, feature sets, the online store
    code_fields = frozenset({"sql"})  # values are quoted as SQL literals

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        p: DataImportParams = ctx.params
        path = str(resolve(p.path, ctx)) if p.path else None
        sql = _with_values(p.sql, ctx) if p.sql is not None else None
        info = catalog.import_table(run_store(), p.table, path=path, sql=sql, mode=p.mode, project=ctx.project)
        print(f"table {info.name} version {info.version}: {info.row_count} rows -> {info.location}")
        return {"table": info.name, "version": info.version, "rows": info.row_count, "location": info.location}


class FeatureExtractParams(_SqlSource):
    output: str = Field(
        description="the Parquet file to write the samples to, e.g. samples_${ds_nodash}.parquet; relative: "
        "under SHOAL_ARTIFACTS/samples/<project>/",
    )
    tables: dict[str, str] = TablesField
    keep_order: bool = Field(
        default=False,
        description="write the samples in the input's row order (sorts them: slower); off: any order",
    )
    isolation: Isolation = isolation_field()


class FeatureExtractTask(TaskType):
    name = "feature_extract"
    Params = FeatureExtractParams
    group = "features"
    description = ("Compute a feature SQL offline, point-in-time, over the managed tables or files: training "
                   "samples as a Parquet file.")
    needs_store = True  # managed tables, feature sets, the online store
    code_fields = frozenset({"sql"})  # values are quoted as SQL literals

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        p: FeatureExtractParams = ctx.params
        sql = p.text(ctx)
        tables = {k: str(resolve(v, ctx)) for k, v in p.tables.items()}
        sources = resolve_sources(run_store(), referenced_tables(sql), tables, project=ctx.project)
        query = compile_with_sources(sql, sources)
        output = Path(p.output)
        if not output.is_absolute():
            output = Path(get_settings().artifacts_url) / "samples" / ctx.project / output
        result = extract(query, sources, output, keep_order=p.keep_order)
        print(f"{result.rows} rows x {len(result.columns)} features -> {result.path} in {result.seconds:.1f}s")
        return {"path": result.path, "rows": result.rows, "features": result.columns}


class FeatureDeployParams(_SqlSource):
    feature_set: str = Field(
        description="the feature set to deploy: a changed SQL makes a new version of it, e.g. talkingdata",
    )
    tables: dict[str, str] = TablesField
    max_rows_per_key: int = Field(
        default=catalog.DEFAULT_CAP, ge=1, le=catalog.MAX_INTEGER,
        description="the most rows the online store keeps per key, newest first; set it above your busiest "
        "key's rows in a window, or online features differ from offline ones",
    )
    isolation: Isolation = isolation_field()


class FeatureDeployTask(TaskType):
    name = "feature_deploy"
    Params = FeatureDeployParams
    group = "features"
    description = ("Deploy a feature SQL as a new version of a feature set, which serving computes online for "
                   "each request; an unchanged SQL makes no new version.")
    needs_store = True  # managed tables, feature sets, the online store
    code_fields = frozenset({"sql"})  # values are quoted as SQL literals

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        p: FeatureDeployParams = ctx.params
        tables = {k: str(resolve(v, ctx)) for k, v in p.tables.items()}
        info, changed = catalog.deploy(
            run_store(), p.feature_set, p.text(ctx), project=ctx.project, tables=tables,
            max_rows_per_key=p.max_rows_per_key,
        )
        print(f"feature set {info.name}: {'version ' + str(info.version) if changed else 'unchanged'}")
        return {"feature_set": info.name, "version": info.version, "changed": changed}


class OnlineImportParams(TaskParams):
    feature_set: str = Field(description="the deployed feature set whose online store to fill, e.g. talkingdata")
    version: int | str | None = Field(
        default=None, description="which deployed version, e.g. 3 or ${deploy.version}; empty: the latest",
    )
    tables: dict[str, str] = TablesField
    isolation: Isolation = isolation_field()


class OnlineImportTask(TaskType):
    name = "online_import"
    Params = OnlineImportParams
    group = "features"
    description = ("Load a feature set's recent rows from its offline tables into the online store, replacing "
                   "what it held, so serving computes features from them.")
    needs_store = True  # managed tables, feature sets, the online store

    def run(self, ctx: TaskContext) -> dict[str, Any]:
        p: OnlineImportParams = ctx.params
        store = run_store()
        online = catalog.open_online_store(store.settings)
        tables = {k: str(resolve(v, ctx)) for k, v in p.tables.items()}
        with online.transaction():
            version = parse_version(p.version)
            info, fs = catalog.open_feature_set(store, online, p.feature_set, project=ctx.project, version=version)
            result = fs.import_offline(catalog.table_sources(store, info, tables))
        stats = fs.stats()
        # Each index keeps its own copy of a row: rows read and rows stored are different numbers.
        print(f"read {result.total_read} rows; stored {result.total_stored} rows in {len(result.rows_stored)} "
              f"indexes of {info.name} v{info.version}: {stats['keys']} keys online")
        return {"feature_set": info.name, "version": info.version, "rows": result.total_read,
                "rows_stored": result.total_stored, "keys": stats["keys"]}
