"""runs: an index for a page of one workflow's runs in one state, newest first

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # `GET /runs?workflow=&state=` reads a page by id descending: without it, a rare state walks
    # the primary key back through every run of the history (benchmarks/api.py, EXPLAIN).
    op.create_index("ix_runs_workflow_state_id", "runs", ["workflow_id", "state", "id"])


def downgrade() -> None:
    op.drop_index("ix_runs_workflow_state_id", table_name="runs")
