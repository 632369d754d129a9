"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-29 16:00:06.542945
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db.tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cluster_metadata",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "current_executions",
        sa.Column("namespace_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.PrimaryKeyConstraint("namespace_id", "workflow_id"),
    )
    op.create_table(
        "executions",
        sa.Column("namespace_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("workflow_type", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("task_queue", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("start_time", app.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("execution_time", app.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("close_time", app.db.tables.UtcDateTime(timezone=True), nullable=True),
        sa.Column("history_length", sa.BigInteger(), nullable=False),
        sa.Column(
            "first_execution_run_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False
        ),
        sa.Column(
            "parent_namespace_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False
        ),
        sa.Column(
            "parent_workflow_id", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False
        ),
        sa.Column("parent_run_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column(
            "root_workflow_id", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False
        ),
        sa.Column("root_run_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column(
            "start_request_id", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False
        ),
        sa.Column("memo", sa.JSON(), nullable=False),
        sa.Column("search_attributes", sa.JSON(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("db_version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("namespace_id", "workflow_id", "run_id"),
    )
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_executions_ns_start", ["namespace_id", "start_time"], unique=False
        )
        batch_op.create_index("ix_executions_ns_status", ["namespace_id", "status"], unique=False)
        batch_op.create_index(
            "ix_executions_ns_type", ["namespace_id", "workflow_type"], unique=False
        )

    op.create_table(
        "history_events",
        sa.Column("namespace_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("event_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_type", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("event_time", app.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("namespace_id", "workflow_id", "run_id", "event_id"),
    )
    op.create_table(
        "namespaces",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("owner_email", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("retention_seconds", sa.Float(), nullable=False),
        sa.Column(
            "history_archival_state", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False
        ),
        sa.Column("history_archival_uri", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "visibility_archival_state", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False
        ),
        sa.Column("visibility_archival_uri", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("is_global", sa.Boolean(), nullable=False),
        sa.Column(
            "active_cluster_name", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False
        ),
        sa.Column("clusters", sa.JSON(), nullable=False),
        sa.Column("failover_version", sa.BigInteger(), nullable=False),
        sa.Column("search_attribute_types", sa.JSON(), nullable=False),
        sa.Column("created_time", app.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_time", app.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "request_ids",
        sa.Column("namespace_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.PrimaryKeyConstraint("namespace_id", "workflow_id", "run_id", "request_id"),
    )
    op.create_table(
        "tasks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("namespace_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("task_queue", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("task_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("scheduled_event_id", sa.BigInteger(), nullable=False),
        sa.Column("created_time", app.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("visible_time", app.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tasks_queue",
            ["namespace_id", "task_queue", "task_type", "partition", "id"],
            unique=False,
        )

    op.create_table(
        "timer_tasks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("shard_id", sa.Integer(), nullable=False),
        sa.Column("fire_time", app.db.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("namespace_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("run_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("timer_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_timer_tasks_fire", ["shard_id", "fire_time", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("timer_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_timer_tasks_fire")

    op.drop_table("timer_tasks")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_queue")

    op.drop_table("tasks")
    op.drop_table("request_ids")
    op.drop_table("namespaces")
    op.drop_table("history_events")
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_index("ix_executions_ns_type")
        batch_op.drop_index("ix_executions_ns_status")
        batch_op.drop_index("ix_executions_ns_start")

    op.drop_table("executions")
    op.drop_table("current_executions")
    op.drop_table("cluster_metadata")
