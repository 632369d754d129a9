"""visibility

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 17:10:19.133569
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db.tables

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "search_attribute_values",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("namespace_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("value_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("keyword_value", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True),
        sa.Column("text_value", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("int_value", sa.BigInteger(), nullable=True),
        sa.Column("double_value", sa.Float(), nullable=True),
        sa.Column("bool_value", sa.Boolean(), nullable=True),
        sa.Column("datetime_value", app.db.tables.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("search_attribute_values", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sa_datetime", ["namespace_id", "name", "datetime_value"], unique=False
        )
        batch_op.create_index(
            "ix_sa_double", ["namespace_id", "name", "double_value"], unique=False
        )
        batch_op.create_index("ix_sa_int", ["namespace_id", "name", "int_value"], unique=False)
        batch_op.create_index(
            "ix_sa_keyword", ["namespace_id", "name", "keyword_value"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_search_attribute_values_run_id"), ["run_id"], unique=False
        )

    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("execution_duration_seconds", sa.Float(), nullable=True))
        batch_op.create_index("ix_executions_ns_close", ["namespace_id", "close_time"])
        batch_op.create_index("ix_executions_ns_execution_time", ["namespace_id", "execution_time"])


def downgrade() -> None:
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_index("ix_executions_ns_execution_time")
        batch_op.drop_index("ix_executions_ns_close")
        batch_op.drop_column("execution_duration_seconds")

    with op.batch_alter_table("search_attribute_values", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_search_attribute_values_run_id"))
        batch_op.drop_index("ix_sa_keyword")
        batch_op.drop_index("ix_sa_int")
        batch_op.drop_index("ix_sa_double")
        batch_op.drop_index("ix_sa_datetime")

    op.drop_table("search_attribute_values")
