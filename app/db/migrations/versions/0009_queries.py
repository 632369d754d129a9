"""queries

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 19:46:44.176847
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db.tables

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "queries",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("namespace_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("task_queue", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("query", sa.JSON(), nullable=False),
        sa.Column("attached", sa.Boolean(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=True),
        sa.Column("created_time", app.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("queries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_queries_queue",
            ["namespace_id", "task_queue", "attached", "state", "created_time"],
            unique=False,
        )
        batch_op.create_index(
            "ix_queries_run", ["namespace_id", "workflow_id", "run_id", "state"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("queries", schema=None) as batch_op:
        batch_op.drop_index("ix_queries_run")
        batch_op.drop_index("ix_queries_queue")

    op.drop_table("queries")
