"""The one settings object. Every field can be set from the environment with the
prefix ``TEMPORAL_GATEWAY_`` (e.g. ``TEMPORAL_GATEWAY_DATABASE_URL``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./data/temporal-gateway.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TEMPORAL_GATEWAY_", extra="ignore")

    host: str = Field("127.0.0.1", description="Address the HTTP server binds to.")
    port: int = Field(7233, ge=0, le=65535, description="TCP port of the HTTP server.")
    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="sqlite:///path/to/file.db (embedded default) or postgresql://user@host/db.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Log level of the server."
    )
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field(
        "FULL",
        description=(
            "SQLite's synchronous pragma. FULL survives power loss; NORMAL (WAL) survives a "
            "killed process but may lose the last commits on power loss."
        ),
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
    max_request_body_bytes: int = Field(
        4 * 1024 * 1024, gt=0, description="Largest accepted request body, as in Temporal."
    )
    run_background_loops: bool = Field(
        True, description="Run the timer processor; tests turn it off and drive it by hand."
    )
    create_default_namespace: bool = Field(
        True, description="Register the `default` namespace at start-up when it is missing."
    )
