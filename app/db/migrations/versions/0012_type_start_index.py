"""executions by type in start order

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 14:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    # A list filtered by workflow type reads its page in start order from the index,
    # instead of sorting all runs of the type (the old index was its prefix).
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_index("ix_executions_ns_type")
        batch_op.create_index(
            "ix_executions_ns_type_start",
            ["namespace_id", "workflow_type", "start_time"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_index("ix_executions_ns_type_start")
        batch_op.create_index(
            "ix_executions_ns_type", ["namespace_id", "workflow_type"], unique=False
        )
