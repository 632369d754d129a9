"""the sticky queue a run's next tasks go to

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 03:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

_STICKY = sa.text("sticky_task_queue != ''")


def upgrade() -> None:
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sticky_task_queue", sa.String(1000), nullable=False, server_default="")
        )
        batch_op.create_index(
            "ix_executions_ns_sticky",
            ["namespace_id", "sticky_task_queue"],
            unique=False,
            sqlite_where=_STICKY,
            postgresql_where=_STICKY,
        )


def downgrade() -> None:
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_index("ix_executions_ns_sticky")
        batch_op.drop_column("sticky_task_queue")
