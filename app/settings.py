"""The one settings object. Every field can be set from the environment with the
prefix ``TEMPORAL_GATEWAY_`` (e.g. ``TEMPORAL_GATEWAY_DATABASE_URL``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import limits
from pydantic import AfterValidator, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.rate_limits.profiles import DEFAULT, PROFILES, Profile, figure
from app.setting_types import Algorithms, DatabaseUrl, JwksFile, PublicKeyFile

DEFAULT_DATABASE_URL = "sqlite:///./data/temporal-gateway.db"


def _rate(text: str) -> str:
    """A rate in the notation of the `limits` library: "100/second", "1000 per minute"."""
    if limits.parse(text).amount < 1:
        raise ValueError(f"rate {text!r} must allow at least one")
    return text


Rate = Annotated[str, AfterValidator(_rate)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TEMPORAL_GATEWAY_", extra="ignore")

    host: str = Field("127.0.0.1", description="Address the REST and the gRPC servers bind to.")
    port: int = Field(7243, ge=0, le=65535, description="TCP port of the REST (HTTP/JSON) server.")
    grpc_port: int = Field(
        7233,
        ge=0,
        le=65535,
        description=(
            "TCP port of the gRPC server (Temporal's WorkflowService, for the official SDKs"
            " and the temporal CLI); 0 turns gRPC off."
        ),
    )
    database_url: DatabaseUrl = Field(
        DEFAULT_DATABASE_URL,
        description="sqlite:///path/to/file.db (embedded default) or postgresql://user@host/db.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Log level of the server."
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        description=(
            "text: one readable line per record. json: one JSON object per line (time, "
            "level, logger, message and the record's extra fields), for log collectors."
        ),
    )
    access_log: bool = Field(
        True,
        description=(
            "One log line per request (logger app.access): method, path, status, "
            "duration in ms, client."
        ),
    )
    metrics_enabled: bool = Field(
        True, description="Serve Prometheus metrics at GET /metrics and keep them up to date."
    )
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field(
        "FULL",
        description=(
            "SQLite's synchronous pragma. FULL survives power loss; NORMAL (WAL) survives a "
            "killed process but may lose the last commits on power loss."
        ),
    )

    @property
    def auth_enabled(self) -> bool:
        return (
            self.jwt_secret is not None
            or self.jwt_public_key_file is not None
            or self.jwt_jwks_file is not None
            or self.jwt_jwks_url is not None
            or self.require_credentials
        )

    cluster_name: str = Field("active", description="Name of this cluster, as Temporal names it.")
    serve_v1beta1: bool = Field(
        False,
        description=(
            "Keep serving the deprecated Temporal-API-Version v1beta1 (past its end of support "
            "on 2024-12-31); responses then carry Deprecation and Sunset headers."
        ),
    )
    history_long_poll_seconds: float = Field(
        20.0,
        gt=0,
        le=55,
        description="Window of a GetWorkflowExecutionHistory long poll (wait_new_event).",
    )
    query_timeout_seconds: float = Field(
        20.0, gt=0, le=55, description="How long QueryWorkflow waits for a worker's answer."
    )
    shutdown_grace_seconds: int = Field(
        2,
        ge=1,
        le=60,
        description=(
            "On SIGTERM/SIGINT, how long requests in flight may take to finish (long polls "
            "are answered at once); then they are cancelled and the server exits. Keep it "
            "below the stop timeout of what runs the server (docker stop: 10 s)."
        ),
    )
    max_request_body_bytes: int = Field(
        4 * 1024 * 1024, gt=0, description="Largest accepted request body, as in Temporal."
    )
    run_background_loops: bool = Field(
        True, description="Run the timer processor; tests turn it off and drive it by hand."
    )
    jwt_secret: SecretStr | None = Field(
        None, description="HS256 key (at least 32 characters); turns authentication on."
    )
    jwt_public_key_file: PublicKeyFile = Field(
        None, description="PEM public key for RS256/ES256 tokens; turns authentication on."
    )
    jwt_jwks_file: JwksFile = Field(
        None, description="JWKS file (JSON with 'keys'); tokens pick their key by 'kid'."
    )
    jwt_jwks_url: str | None = Field(
        None,
        description=(
            "JWKS URL of the token issuer; fetched, kept for jwt_jwks_refresh_seconds and "
            "fetched early when a token names an unknown 'kid'."
        ),
    )
    jwt_jwks_refresh_seconds: int = Field(
        300, ge=10, description="How long keys fetched from jwt_jwks_url are kept."
    )
    jwt_algorithms: Algorithms = Field(
        default_factory=lambda: ["HS256", "RS256", "ES256"],
        description=(
            "Accepted signing algorithms, e.g. HS256,RS256 (or a JSON list); 'none' is never"
            " accepted."
        ),
    )
    jwt_issuer: str | None = Field(None, description="Required `iss` claim, if set.")
    jwt_audience: str | None = Field(None, description="Required `aud` claim, if set.")
    jwt_leeway_seconds: int = Field(30, ge=0, le=300, description="Clock skew allowed.")
    jwt_permissions_claim: str = Field("permissions", description="Claim with permissions.")
    jwt_namespace_claim: str = Field(
        "namespace",
        description=(
            "Claim with the namespace (or list of namespaces) allowed; '*' for every one, "
            "an empty list for none."
        ),
    )
    jwt_absent_namespace_means_all: bool = Field(
        False,
        description=(
            "A token with no namespace claim may act in every namespace. Off: it acts in "
            "none (only cluster-wide routes)."
        ),
    )
    require_credentials: bool = Field(
        False, description="Require credentials even with no JWT key set (API keys only)."
    )
    allow_unauthenticated_network: bool = Field(
        False,
        description=(
            "Serve without authentication on a non-loopback address, REST and gRPC alike (unsafe)."
        ),
    )
    create_default_namespace: bool = Field(
        True, description="Register the `default` namespace at start-up when it is missing."
    )
    rate_limits_enabled: bool = Field(
        True, description="Apply the rate limits below (and send the X-RateLimit-* headers)."
    )
    rate_limit_storage: str = Field(
        "memory://",
        description=(
            "Where rate-limit counters live: memory:// (this process only) or "
            "redis://host:port/db, shared by every gateway process that names it."
        ),
    )
    rate_limit_key_prefix: str = Field(
        "temporal-gateway", description="Prefix of the counters' keys in a shared store."
    )
    rate_limit_profile: Profile = Field(
        "default",
        description=(
            "Where the budgets below come from when not set one by one: 'default' (sized "
            "for a developer's machine, where every local caller is one client) or 'spec' "
            "(the API reference's figures exactly)."
        ),
    )
    rate_limit_cluster: Rate = Field(
        DEFAULT.rate_limit_cluster,
        description=f"API requests per cluster ({figure('rate_limit_cluster')}).",
    )
    rate_limit_client: Rate = Field(
        DEFAULT.rate_limit_client,
        description=f"API calls per client ({figure('rate_limit_client')}).",
    )
    rate_limit_workflow_starts: Rate = Field(
        DEFAULT.rate_limit_workflow_starts,
        description=f"Workflow starts per namespace ({figure('rate_limit_workflow_starts')}).",
    )
    rate_limit_activity_executions: Rate = Field(
        DEFAULT.rate_limit_activity_executions,
        description=(
            "Activity tasks handed to workers per namespace "
            f"({figure('rate_limit_activity_executions')})."
        ),
    )
    rate_limit_task_queue_operations: Rate = Field(
        DEFAULT.rate_limit_task_queue_operations,
        description=f"Polls per task queue ({figure('rate_limit_task_queue_operations')}).",
    )
    rate_limit_history_events: Rate = Field(
        DEFAULT.rate_limit_history_events,
        description=(
            "History events written by API requests per namespace "
            f"({figure('rate_limit_history_events')})."
        ),
    )
    rate_limit_heartbeats: Rate = Field(
        DEFAULT.rate_limit_heartbeats,
        description=f"Heartbeats per client ({figure('rate_limit_heartbeats')}).",
    )
    max_concurrent_long_polls: int = Field(
        DEFAULT.max_concurrent_long_polls,
        ge=1,
        description=(
            "Task-queue polls one client may have waiting at once "
            f"({figure('max_concurrent_long_polls')})."
        ),
    )
    max_running_executions: int = Field(
        DEFAULT.max_running_executions,
        ge=0,
        description=(
            "Running workflow executions per namespace; a start beyond is refused. 0: no"
            " cap. Each start reads up to this many index entries to check it "
            f"({figure('max_running_executions')})."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _rate_limit_profile(cls, data: Any) -> Any:
        """Budgets not set one by one take the profile's figures."""
        if not isinstance(data, dict):
            return data
        figures = PROFILES.get(str(data.get("rate_limit_profile", "default")))
        return {**figures.settings(), **data} if figures is not None else data

    @model_validator(mode="after")
    def _ports_differ(self) -> Settings:
        """REST and gRPC bind the same host: one port cannot serve both."""
        if self.grpc_port and self.grpc_port == self.port:
            raise ValueError(
                "the REST port (--port, TEMPORAL_GATEWAY_PORT) and the gRPC port "
                f"(--grpc-port, TEMPORAL_GATEWAY_GRPC_PORT) are both {self.port}: give them "
                "different ports, or turn gRPC off with --grpc-port 0"
            )
        return self

    shard_count: int = Field(
        16,
        ge=1,
        le=16384,
        description="Shards workflow ids hash to; fixed when the database is created.",
    )
    member_heartbeat_seconds: float = Field(
        5.0, gt=0, le=60, description="How often this process renews its cluster membership."
    )
    member_timeout_seconds: float = Field(
        20.0, gt=0, le=600, description="A member silent this long leaves the member list."
    )
    shard_lease_seconds: float = Field(
        20.0,
        gt=0,
        le=600,
        description="How long a shard lease lasts unless renewed (renewed every third of it).",
    )
    worker_registration_ttl_seconds: float = Field(
        60.0,
        gt=0,
        le=86400,
        description="A worker registration lapses this long after its last registration or poll.",
    )
    task_queue_partitions: int | None = Field(
        None,
        ge=1,
        le=64,
        description=(
            "Partitions of every task queue, fixed when the database is created. By default"
            " 4 on PostgreSQL, where several processes share a queue, and 1 on SQLite, which"
            " one process serves (more partitions there only add lookups to every poll)."
        ),
    )

    def partitions_for(self, sqlite: bool) -> int:
        """The task-queue partitions a new database is created with (see the field)."""
        return self.task_queue_partitions or (1 if sqlite else 4)
