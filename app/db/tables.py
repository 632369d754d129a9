"""SQLModel tables. API schemas live in ``app.models``; these are storage only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    TypeDecorator,
    text,
)
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps are stored in UTC and always read back timezone-aware (SQLite keeps
    no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def table_of(model: type[SQLModel]) -> Table:
    """The Core table behind a model, for hot-path statements that skip the ORM."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


def _json() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


def _time(nullable: bool = False, index: bool = False) -> Any:
    return Field(
        default=None if nullable else ...,
        sa_column=Column(UtcDateTime(), nullable=nullable, index=index),
    )


class ClusterMetadata(SQLModel, table=True):
    __tablename__ = "cluster_metadata"
    key: str = Field(primary_key=True, max_length=200)
    value: str


class NamespaceRow(SQLModel, table=True):
    __tablename__ = "namespaces"
    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(unique=True, max_length=1000)
    state: str = Field(max_length=32)
    description: str = ""
    owner_email: str = Field(default="", max_length=1000)
    data: dict[str, str] = _json()
    retention_seconds: float
    history_archival_state: str = Field(default="DISABLED", max_length=32)
    history_archival_uri: str = ""
    visibility_archival_state: str = Field(default="DISABLED", max_length=32)
    visibility_archival_uri: str = ""
    is_global: bool = False
    active_cluster_name: str = Field(max_length=1000)
    clusters: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    failover_version: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    search_attribute_types: dict[str, str] = _json()
    created_time: datetime = _time()
    updated_time: datetime = _time()


class ExecutionRow(SQLModel, table=True):
    """One row per run. Visibility reads the indexed columns; the engine's mutable state
    travels in ``state``. Every write compares and bumps ``db_version``."""

    __tablename__ = "executions"
    __table_args__ = (
        Index("ix_executions_ns_start", "namespace_id", "start_time"),
        Index("ix_executions_ns_status", "namespace_id", "status"),
        Index("ix_executions_ns_type_start", "namespace_id", "workflow_type", "start_time"),
        Index("ix_executions_ns_close", "namespace_id", "close_time"),
        Index("ix_executions_ns_execution_time", "namespace_id", "execution_time"),
        # The runs a worker has cached, found when it shuts down (few runs are sticky at
        # any moment, and only those are indexed).
        Index(
            "ix_executions_ns_sticky",
            "namespace_id",
            "sticky_task_queue",
            sqlite_where=text("sticky_task_queue != ''"),
            postgresql_where=text("sticky_task_queue != ''"),
        ),
    )
    namespace_id: str = Field(primary_key=True, max_length=36)
    workflow_id: str = Field(primary_key=True, max_length=1000)
    run_id: str = Field(primary_key=True, max_length=36)
    workflow_type: str = Field(max_length=1000)
    task_queue: str = Field(max_length=1000)
    status: str = Field(max_length=32)
    start_time: datetime = _time()
    execution_time: datetime = _time()
    close_time: datetime | None = _time(nullable=True)
    history_length: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    execution_duration_seconds: float | None = Field(default=None)
    history_size_bytes: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, server_default="0")
    )
    first_execution_run_id: str = Field(max_length=36)
    parent_namespace_id: str = Field(default="", max_length=36)
    parent_workflow_id: str = Field(default="", max_length=1000)
    parent_run_id: str = Field(default="", max_length=36)
    root_workflow_id: str = Field(max_length=1000)
    root_run_id: str = Field(max_length=36)
    start_request_id: str = Field(max_length=1000)
    memo: dict[str, Any] = _json()
    search_attributes: dict[str, Any] = _json()
    state: dict[str, Any] = _json()
    db_version: int = Field(default=1, sa_column=Column(BigInteger, nullable=False))
    sticky_task_queue: str = Field(
        default="", sa_column=Column(String(1000), nullable=False, server_default="")
    )


@dataclass(slots=True)
class RunRecord:
    """An executions row as the services read and write it: a plain record (loading an
    ExecutionRow through the ORM cost more than the statement that read it). Its fields
    are the table's columns, in order: ``RunRecord(*row)`` of a ``select(*RUN_COLUMNS)``."""

    namespace_id: str
    workflow_id: str
    run_id: str
    workflow_type: str
    task_queue: str
    status: str
    start_time: datetime
    execution_time: datetime
    close_time: datetime | None
    history_length: int
    execution_duration_seconds: float | None
    history_size_bytes: int
    first_execution_run_id: str
    parent_namespace_id: str
    parent_workflow_id: str
    parent_run_id: str
    root_workflow_id: str
    root_run_id: str
    start_request_id: str
    memo: dict[str, Any]
    search_attributes: dict[str, Any]
    state: dict[str, Any]
    db_version: int
    sticky_task_queue: str


RUN_COLUMNS = tuple(table_of(ExecutionRow).c)


class CurrentExecutionRow(SQLModel, table=True):
    """(namespace, workflow id) -> its current run; the primary key makes one start win."""

    __tablename__ = "current_executions"
    namespace_id: str = Field(primary_key=True, max_length=36)
    workflow_id: str = Field(primary_key=True, max_length=1000)
    run_id: str = Field(max_length=36)


class HistoryEventRow(SQLModel, table=True):
    __tablename__ = "history_events"
    namespace_id: str = Field(primary_key=True, max_length=36)
    workflow_id: str = Field(primary_key=True, max_length=1000)
    run_id: str = Field(primary_key=True, max_length=36)
    event_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    event_type: str = Field(max_length=64)
    event_time: datetime = _time()
    attributes: dict[str, Any] = _json()


class RequestIdRow(SQLModel, table=True):
    """Request ids already applied to a run (signal, cancel), so a retry is a no-op."""

    __tablename__ = "request_ids"
    namespace_id: str = Field(primary_key=True, max_length=36)
    workflow_id: str = Field(primary_key=True, max_length=1000)
    run_id: str = Field(primary_key=True, max_length=36)
    request_id: str = Field(primary_key=True, max_length=1000)
    kind: str = Field(max_length=32)


class TaskRow(SQLModel, table=True):
    """A dispatchable workflow or activity task, durable from the moment it is written."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_queue", "namespace_id", "task_queue", "task_type", "partition", "id"),
    )
    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    namespace_id: str = Field(max_length=36)
    task_queue: str = Field(max_length=1000)
    task_type: str = Field(max_length=16)
    partition: int = 0
    workflow_id: str = Field(max_length=1000)
    run_id: str = Field(max_length=36)
    scheduled_event_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_time: datetime = _time()
    visible_time: datetime = _time()


class TimerTaskRow(SQLModel, table=True):
    """Something to do at a time: timeouts, backoffs, user timers. Each firing checks that
    what it refers to still exists, so firing twice is harmless. A run's timers are
    deleted when it closes (none of them has anything left to do)."""

    __tablename__ = "timer_tasks"
    __table_args__ = (
        Index("ix_timer_tasks_fire", "shard_id", "fire_time", "id"),
        Index("ix_timer_tasks_run", "namespace_id", "workflow_id", "run_id"),
    )
    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    shard_id: int = 0
    fire_time: datetime = _time()
    kind: str = Field(max_length=64)
    namespace_id: str = Field(max_length=36)
    workflow_id: str = Field(max_length=1000)
    run_id: str = Field(max_length=36)
    data: dict[str, Any] = _json()


class PollerRow(SQLModel, table=True):
    """Who polled a task queue and when, for DescribeTaskQueue."""

    __tablename__ = "pollers"
    namespace_id: str = Field(primary_key=True, max_length=36)
    task_queue: str = Field(primary_key=True, max_length=1000)
    task_type: str = Field(primary_key=True, max_length=16)
    identity: str = Field(primary_key=True, max_length=1000)
    last_access_time: datetime = _time()
    # The poller's own dispatch limit (task_queue_metadata.max_tasks_per_second).
    rate_per_second: float = 100_000.0


class SearchAttributeValueRow(SQLModel, table=True):
    """One custom search attribute value of a run, typed into the column that fits its
    type, so list queries filter and sort in SQL (KeywordList values: one row each)."""

    __tablename__ = "search_attribute_values"
    __table_args__ = (
        Index("ix_sa_keyword", "namespace_id", "name", "keyword_value"),
        Index("ix_sa_int", "namespace_id", "name", "int_value"),
        Index("ix_sa_double", "namespace_id", "name", "double_value"),
        Index("ix_sa_datetime", "namespace_id", "name", "datetime_value"),
    )
    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    namespace_id: str = Field(max_length=36)
    workflow_id: str = Field(max_length=1000)
    run_id: str = Field(max_length=36, index=True)
    name: str = Field(max_length=255)
    value_type: str = Field(max_length=16)
    keyword_value: str | None = Field(default=None, max_length=2048)
    text_value: str | None = None
    int_value: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    double_value: float | None = None
    bool_value: bool | None = None
    datetime_value: datetime | None = _time(nullable=True)


class ApiKeyRow(SQLModel, table=True):
    """An API key: only a hash of its secret is kept; the key itself is shown once."""

    __tablename__ = "api_keys"
    id: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=255)
    secret_hash: str = Field(max_length=64)
    permissions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    namespaces: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    task_queues: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_time: datetime = _time()
    expires_time: datetime | None = _time(nullable=True)
    revoked_time: datetime | None = _time(nullable=True)


class ClusterMemberRow(SQLModel, table=True):
    """A running gateway process; it heartbeats, and leaves the list when it stops or
    when its heartbeat is older than the member timeout."""

    __tablename__ = "cluster_members"
    identity: str = Field(primary_key=True, max_length=255)
    role: str = Field(max_length=64)
    rpc_address: str = Field(max_length=255)
    rpc_port: int
    version: str = Field(max_length=64)
    session_start_time: datetime = _time()
    last_heartbeat_time: datetime = _time(index=True)


class ShardRow(SQLModel, table=True):
    """A shard's lease: the member that fires its timers, until the lease expires. Each
    acquisition raises range_id, so an owner that lost its shard can tell."""

    __tablename__ = "shards"
    shard_id: int = Field(primary_key=True)
    owner: str | None = Field(default=None, max_length=255)
    range_id: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    acquired_time: datetime | None = _time(nullable=True)
    lease_expiry_time: datetime | None = _time(nullable=True)


class WorkerRow(SQLModel, table=True):
    """A RegisterWorker registration, kept alive by registering again or by polling."""

    __tablename__ = "workers"
    namespace_id: str = Field(primary_key=True, max_length=36)
    task_queue: str = Field(primary_key=True, max_length=1000)
    identity: str = Field(primary_key=True, max_length=1000)
    workflow_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    activity_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    build_id: str = Field(default="", max_length=255)
    registered_time: datetime = _time()
    last_heartbeat_time: datetime = _time()


class QueryRow(SQLModel, table=True):
    """A query waiting for a worker's answer. Not durable in Temporal's sense (a caller
    waits for it), but kept in the database so that any gateway process can hand it to a
    worker and take the answer, whichever process the caller is waiting on."""

    __tablename__ = "queries"
    __table_args__ = (
        Index(
            "ix_queries_queue", "namespace_id", "task_queue", "attached", "state", "created_time"
        ),
        Index("ix_queries_run", "namespace_id", "workflow_id", "run_id", "state"),
    )
    id: str = Field(primary_key=True, max_length=36)
    namespace_id: str = Field(max_length=36)
    workflow_id: str = Field(max_length=1000)
    run_id: str = Field(max_length=36)
    task_queue: str = Field(max_length=1000)
    query: dict[str, Any] = _json()
    attached: bool = False  # waits for the run's next workflow task rather than its own
    state: str = Field(default="waiting", max_length=16)  # waiting, delivered, answered
    answer: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_time: datetime = _time()
