"""runs: indexes (workflow_id, id) in place of (workflow_id), and (workflow_id, created_at)

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The newest runs of a workflow (its last state on the Workflows list, its last N runs for
    # the duration chart and the sparklines) are `WHERE workflow_id = ? ORDER BY id DESC LIMIT
    # n`. SQLite's (workflow_id) index already ends with the rowid, so it serves that order;
    # PostgreSQL's does not, and walked the primary key backwards past every other workflow's
    # runs instead: 0.5 s for a page of the Workflows list, 6 s for its sparklines, with 24,000
    # runs (shoal/services/stats.py). (workflow_id, id) serves every lookup (workflow_id) did.
    op.create_index("ix_runs_workflow_id", "runs", ["workflow_id", "id"])
    op.drop_index("ix_runs_workflow", table_name="runs")
    # Runs per day count the runs of the workflows the caller may read created in the last N
    # days: a range of this index per workflow, rather than every run of the history.
    op.create_index("ix_runs_workflow_created", "runs", ["workflow_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_runs_workflow_created", table_name="runs")
    op.create_index("ix_runs_workflow", "runs", ["workflow_id"])
    op.drop_index("ix_runs_workflow_id", table_name="runs")
