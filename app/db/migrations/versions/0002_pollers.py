"""pollers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 16:10:24.675868
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db.tables

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pollers",
        sa.Column("namespace_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("task_queue", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("task_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("identity", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("last_access_time", app.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("namespace_id", "task_queue", "task_type", "identity"),
    )


def downgrade() -> None:
    op.drop_table("pollers")
