"""shards

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 19:24:01.359472
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db.tables

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shards",
        sa.Column("shard_id", sa.Integer(), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("range_id", sa.BigInteger(), nullable=False),
        sa.Column("acquired_time", app.db.tables.UtcDateTime(timezone=True), nullable=True),
        sa.Column("lease_expiry_time", app.db.tables.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("shard_id"),
    )


def downgrade() -> None:
    op.drop_table("shards")
