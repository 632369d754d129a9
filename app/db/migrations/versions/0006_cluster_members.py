"""cluster members

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 19:17:17.724010
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db.tables

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cluster_members",
        sa.Column("identity", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("rpc_address", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("rpc_port", sa.Integer(), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("session_start_time", app.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_heartbeat_time", app.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("identity"),
    )
    with op.batch_alter_table("cluster_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cluster_members_last_heartbeat_time"),
            ["last_heartbeat_time"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("cluster_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cluster_members_last_heartbeat_time"))

    op.drop_table("cluster_members")
