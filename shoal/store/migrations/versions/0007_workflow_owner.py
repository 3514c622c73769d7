"""workflows: who created each workflow (its owner) and who applied each version

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: workflows applied before this revision have no recorded author.
    op.add_column("workflows", sa.Column("owner", sa.String(100)))
    op.add_column("workflow_versions", sa.Column("created_by", sa.String(100)))


def downgrade() -> None:
    with op.batch_alter_table("workflow_versions") as t:
        t.drop_column("created_by")
    with op.batch_alter_table("workflows") as t:
        t.drop_column("owner")
