"""timers by run

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 03:40:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("timer_tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_timer_tasks_run", ["namespace_id", "workflow_id", "run_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("timer_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_timer_tasks_run")
