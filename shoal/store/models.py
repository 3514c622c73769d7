"""Metadata tables (SQLAlchemy 2). The database is the only source of truth.

Times are stored as naive UTC datetimes: SQLite has no time zone type, and comparing UTC values
is all the engine needs. A run keeps the schedule's timezone to render `${ds}` and `$[...]`.

SQLAlchemy Core tables, not ORM classes: shoal reads and writes rows with statements only, and
Core loads in a fraction of the time the ORM takes (every command opens the store).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

projects = Table(
    "projects",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(128), unique=True, nullable=False),
    Column("created_at", DateTime, nullable=False),
    # The default alert rules of its workflows that have none of their own (spec/alerts.py);
    # None: no default.
    Column("alerts", JSON),
)

workflows = Table(
    "workflows",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("current_version", Integer, nullable=False),
    Column("description", Text, default="", nullable=False),
    # Who first applied it (a user's name; "local" for the command line on this machine).
    Column("owner", String(100)),  # a users.name
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("project_id", "name"),
)

# An immutable definition; `apply` adds one only when the content hash changed.
workflow_versions = Table(
    "workflow_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workflow_id", Integer, ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("spec", JSON, nullable=False),
    Column("spec_hash", String(64), nullable=False),
    # Where the definition was applied from: python tasks import `module:function` from here.
    Column("source_dir", Text),
    Column("created_by", String(100)),  # who applied this version (a users.name)
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("workflow_id", "version"),
)

schedules = Table(
    "schedules",
    metadata,
    Column("workflow_id", Integer, ForeignKey("workflows.id", ondelete="CASCADE"), primary_key=True),
    Column("cron", String(128), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("start_at", DateTime),
    Column("end_at", DateTime),
    Column("catchup", Boolean, default=False, nullable=False),
    Column("paused", Boolean, default=False, nullable=False),
    # The next logical date to create a run for (UTC); advanced in the same transaction.
    Column("next_fire_at", DateTime),
    Column("updated_at", DateTime, nullable=False),
)

backfills = Table(
    "backfills",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workflow_id", Integer, ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False),
    Column("start_date", DateTime, nullable=False),
    Column("end_date", DateTime, nullable=False),
    Column("parallel", Integer, default=1, nullable=False),
    Column("descending", Boolean, default=False, nullable=False),
    Column("params", JSON, default=dict, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("workflow_id", Integer, ForeignKey("workflows.id", ondelete="CASCADE"), nullable=False),
    Column("version_id", Integer, ForeignKey("workflow_versions.id", ondelete="CASCADE"), nullable=False),
    Column("logical_date", DateTime, nullable=False),
    Column("timezone", String(64), default="UTC", nullable=False),
    Column("state", String(16), nullable=False),
    Column("trigger", String(16), nullable=False),  # manual | schedule | backfill | sub_workflow
    Column("params", JSON, default=dict, nullable=False),
    Column("disabled", JSON, default=list, nullable=False),
    Column("priority", Integer, default=0, nullable=False),
    Column("parent_task_run_id", Integer),
    Column("backfill_id", Integer, ForeignKey("backfills.id", ondelete="SET NULL")),
    # Unique per scheduled/backfilled logical date, so two schedulers never create it twice.
    Column("dedup_key", String(200), unique=True),
    # The driver process that owns the run, and until when its claim holds without a heartbeat.
    Column("owner", String(200)),
    Column("lease_until", DateTime),
    Column("error", Text),
    Column("created_at", DateTime, nullable=False),
    Column("started_at", DateTime),
    Column("ended_at", DateTime),
    Index("ix_runs_state", "state"),
    Index("ix_runs_workflow_id", "workflow_id", "id"),  # a workflow's newest runs (migration 0007)
    Index("ix_runs_workflow_created", "workflow_id", "created_at"),  # runs per day (services/stats.py)
    Index("ix_runs_workflow_state_id", "workflow_id", "state", "id"),  # a page of one workflow's runs in a state
    # AUTOINCREMENT: SQLite would otherwise reuse the id of a deleted run, and logs and result
    # files are keyed by run and task-run ids.
    sqlite_autoincrement=True,
)

task_runs = Table(
    "task_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("task_name", String(128), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempt", Integer, default=0, nullable=False),  # 0 until the first start
    Column("max_attempts", Integer, default=1, nullable=False),
    Column("priority", Integer, default=0, nullable=False),
    Column("queued_at", DateTime),
    Column("started_at", DateTime),
    Column("ended_at", DateTime),
    Column("next_retry_at", DateTime),
    Column("host", String(200)),
    Column("pid", Integer),
    Column("executor_pid", Integer),
    Column("duration", Float),
    Column("outputs", JSON, default=dict, nullable=False),
    Column("error", Text),
    Column("note", Text),  # e.g. "disabled at run start"
    UniqueConstraint("run_id", "task_name"),
    Index("ix_task_runs_state", "state"),
    sqlite_autoincrement=True,
)

# Named leases: `scheduler` says a scheduler daemon is alive and driving runs.
leases = Table(
    "leases",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("expires_at", DateTime, nullable=False),
)

# A managed offline table: one immutable Parquet file per version (data_import).
feature_tables = Table(
    "feature_tables",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("location", Text, nullable=False),
    Column("columns", JSON, nullable=False),  # column -> DuckDB type, in order
    Column("row_count", Integer, nullable=False),
    Column("source", Text, nullable=False),  # where it was imported from, for `tables show`
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("project_id", "name", "version"),
)

# A deployed feature SQL: immutable versions; the online store keys rows by version.
feature_sets = Table(
    "feature_sets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("sql", Text, nullable=False),
    Column("sql_hash", String(64), nullable=False),
    # table name -> {"name", "columns"}: the schemas the SQL was compiled against.
    Column("schemas", JSON, nullable=False),
    Column("max_rows_per_key", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("project_id", "name", "version"),
)

# A named model; its versions are immutable, its aliases move (release, rollback).
models = Table(
    "models",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("description", Text, default="", nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("project_id", "name"),
)

# One trained model: its artifact (model + preprocessing), metrics and where it came from.
model_versions = Table(
    "model_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", Integer, ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("flavor", String(64), nullable=False),
    Column("artifact_uri", Text, nullable=False),
    Column("preprocess", JSON),
    Column("feature_set", String(128)),
    Column("feature_set_version", Integer),
    Column("metrics", JSON, nullable=False),
    # {"inputs": {column: kind}, "features": [...], "output": ...}: what a request must carry.
    Column("signature", JSON, nullable=False),
    Column("params", JSON, nullable=False),
    Column("description", Text, default="", nullable=False),
    Column("run_id", Integer),
    Column("task_run_id", Integer),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("model_id", "version"),
)

# Where an alias (`production`, `staging`) of a model points now.
model_aliases = Table(
    "model_aliases",
    metadata,
    Column("model_id", Integer, ForeignKey("models.id", ondelete="CASCADE"), primary_key=True),
    Column("alias", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

# The release history: every move of an alias, by release or rollback (append-only).
model_releases = Table(
    "model_releases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", Integer, ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
    Column("alias", String(64), nullable=False),
    Column("action", String(16), nullable=False),  # release | rollback
    Column("from_version", Integer),
    Column("to_version", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Index("ix_model_releases_model_alias", "model_id", "alias"),
)


# People and programs that use a shared shoal over its API. An instance admin may do anything;
# everyone else acts in the projects they are a member of, with the role they hold there.
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), unique=True, nullable=False),
    Column("is_admin", Boolean, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

# A user's role (viewer, editor, admin) in one project.
project_members = Table(
    "project_members",
    metadata,
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

# API tokens: only a SHA-256 of each is kept (they are long random strings, not passwords), with
# its first characters to tell tokens apart in a list. Shown once, when created.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("token_hash", String(64), unique=True, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime),
    Column("revoked_at", DateTime),
    Column("last_used_at", DateTime),
    Index("ix_api_tokens_user", "user_id"),
)


# The alerts outbox: one row per (run, event, channel, target) to deliver, written in the same
# transaction as the state change that raised it, and sent by the notifier (shoal/alerts/).
# `dedup_key` makes an event recorded at most once, however often it is replayed (a crash, two
# schedulers, a takeover). The notifier claims a due row by moving `next_attempt_at` on, so a
# notifier that dies while sending leaves it due again once that claim runs out.
alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("event", String(16), nullable=False),  # failure | success | timeout | retry | long_running
    Column("task_name", String(128)),  # the task, for timeout and retry
    Column("channel", String(16), nullable=False),  # webhook | email
    Column("target", Text, nullable=False),  # the URL or the address
    Column("dedup_key", String(64), unique=True, nullable=False),
    Column("state", String(16), nullable=False),  # pending | sent | failed
    Column("attempts", Integer, default=0, nullable=False),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("last_error", Text),  # why the last try failed (secrets masked)
    Column("payload", JSON, nullable=False),  # what is sent: the same body on every try
    Column("created_at", DateTime, nullable=False),
    Column("last_attempt_at", DateTime),
    Column("sent_at", DateTime),
    Index("ix_alert_deliveries_due", "state", "next_attempt_at"),
    Index("ix_alert_deliveries_run", "run_id"),
    sqlite_autoincrement=True,
)
