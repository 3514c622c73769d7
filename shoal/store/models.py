"""Metadata tables (SQLAlchemy 2). The database is the only source of truth.

Times are stored as naive UTC datetimes: SQLite has no time zone type, and comparing UTC values
is all the engine needs. A run keeps the schedule's timezone to render `${ds}` and `$[...]`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ProjectRow(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class WorkflowRow(Base):
    __tablename__ = "workflows"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    current_version: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class WorkflowVersionRow(Base):
    """An immutable definition; `apply` adds one only when the content hash changed."""

    __tablename__ = "workflow_versions"
    __table_args__ = (UniqueConstraint("workflow_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    spec_hash: Mapped[str] = mapped_column(String(64))
    # Where the definition was applied from: python tasks import `module:function` from here.
    source_dir: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ScheduleRow(Base):
    __tablename__ = "schedules"

    workflow_id: Mapped[int] = mapped_column(
        ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True
    )
    cron: Mapped[str] = mapped_column(String(128))
    timezone: Mapped[str] = mapped_column(String(64))
    start_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    end_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    catchup: Mapped[bool] = mapped_column(Boolean, default=False)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    # The next logical date to create a run for (UTC); advanced in the same transaction.
    next_fire_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class BackfillRow(Base):
    __tablename__ = "backfills"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    start_date: Mapped[datetime] = mapped_column(DateTime)
    end_date: Mapped[datetime] = mapped_column(DateTime)
    parallel: Mapped[int] = mapped_column(Integer, default=1)
    descending: Mapped[bool] = mapped_column(Boolean, default=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class RunRow(Base):
    __tablename__ = "runs"
    # AUTOINCREMENT: SQLite would otherwise reuse the id of a deleted run, and logs and result
    # files are keyed by run and task-run ids.
    __table_args__ = (
        Index("ix_runs_state", "state"), Index("ix_runs_workflow", "workflow_id"), {"sqlite_autoincrement": True}
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("workflow_versions.id", ondelete="CASCADE"))
    logical_date: Mapped[datetime] = mapped_column(DateTime)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    state: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(16))  # manual | schedule | backfill | sub_workflow
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    disabled: Mapped[list[str]] = mapped_column(JSON, default=list)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    parent_task_run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    backfill_id: Mapped[int | None] = mapped_column(
        ForeignKey("backfills.id", ondelete="SET NULL"), nullable=True
    )
    # Unique per scheduled/backfilled logical date, so two schedulers never create it twice.
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    # The driver process that owns the run, and until when its claim holds without a heartbeat.
    owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class TaskRunRow(Base):
    __tablename__ = "task_runs"
    __table_args__ = (
        UniqueConstraint("run_id", "task_name"), Index("ix_task_runs_state", "state"), {"sqlite_autoincrement": True}
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    task_name: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer, default=0)  # 0 until the first start
    max_attempts: Mapped[int] = mapped_column(Integer, default=1)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    queued_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    next_retry_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    host: Mapped[str | None] = mapped_column(String(200), nullable=True)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    executor_pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    outputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)  # e.g. "disabled at run start"


class LeaseRow(Base):
    """Named leases: `scheduler` says a scheduler daemon is alive and driving runs."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class FeatureTableRow(Base):
    """A managed offline table: one immutable Parquet file per version (data_import)."""

    __tablename__ = "feature_tables"
    __table_args__ = (UniqueConstraint("project_id", "name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    location: Mapped[str] = mapped_column(Text)
    columns: Mapped[dict[str, Any]] = mapped_column(JSON)  # column -> DuckDB type, in order
    row_count: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)  # where it was imported from, for `tables show`
    created_at: Mapped[datetime] = mapped_column(DateTime)


class FeatureSetRow(Base):
    """A deployed feature SQL: immutable versions; the online store keys rows by version."""

    __tablename__ = "feature_sets"
    __table_args__ = (UniqueConstraint("project_id", "name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    sql: Mapped[str] = mapped_column(Text)
    sql_hash: Mapped[str] = mapped_column(String(64))
    # table name -> {"name", "columns"}: the schemas the SQL was compiled against.
    schemas: Mapped[dict[str, Any]] = mapped_column(JSON)
    max_rows_per_key: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ModelRow(Base):
    """A named model; its versions are immutable, its aliases move (release, rollback)."""

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ModelVersionRow(Base):
    """One trained model: its artifact (model + preprocessing), metrics and where it came from."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    flavor: Mapped[str] = mapped_column(String(64))
    artifact_uri: Mapped[str] = mapped_column(Text)
    preprocess: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    feature_set: Mapped[str | None] = mapped_column(String(128), nullable=True)
    feature_set_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    # {"inputs": {column: kind}, "features": [...], "output": ...}: what a request must carry.
    signature: Mapped[dict[str, Any]] = mapped_column(JSON)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    description: Mapped[str] = mapped_column(Text, default="")
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    task_run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ModelAliasRow(Base):
    """Where an alias (`production`, `staging`) of a model points now."""

    __tablename__ = "model_aliases"

    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), primary_key=True)
    alias: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class ModelReleaseRow(Base):
    """The release history: every move of an alias, by release or rollback (append-only)."""

    __tablename__ = "model_releases"
    __table_args__ = (Index("ix_model_releases_model_alias", "model_id", "alias"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # release | rollback
    from_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    to_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)


projects = ProjectRow.__table__
workflows = WorkflowRow.__table__
workflow_versions = WorkflowVersionRow.__table__
schedules = ScheduleRow.__table__
backfills = BackfillRow.__table__
runs = RunRow.__table__
task_runs = TaskRunRow.__table__
leases = LeaseRow.__table__
feature_tables = FeatureTableRow.__table__
feature_sets = FeatureSetRow.__table__
models = ModelRow.__table__
model_versions = ModelVersionRow.__table__
model_aliases = ModelAliasRow.__table__
model_releases = ModelReleaseRow.__table__
