"""workers

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 19:33:39.659632
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db.tables

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("namespace_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("task_queue", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("identity", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("workflow_types", sa.JSON(), nullable=False),
        sa.Column("activity_types", sa.JSON(), nullable=False),
        sa.Column("build_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("registered_time", app.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_heartbeat_time", app.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("namespace_id", "task_queue", "identity"),
    )


def downgrade() -> None:
    op.drop_table("workers")
