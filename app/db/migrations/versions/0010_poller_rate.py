"""poller rate

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 20:35:47.996083
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pollers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("rate_per_second", sa.Float(), nullable=False, server_default="100000")
        )


def downgrade() -> None:
    with op.batch_alter_table("pollers", schema=None) as batch_op:
        batch_op.drop_column("rate_per_second")
