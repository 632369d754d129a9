"""The one settings object. Every field can be set from the environment with the
prefix ``TEMPORAL_GATEWAY_`` (e.g. ``TEMPORAL_GATEWAY_DATABASE_URL``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
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

    @property
    def auth_enabled(self) -> bool:
        return (
            self.jwt_secret is not None
            or self.jwt_public_key_file is not None
            or self.jwt_jwks_file is not None
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
    max_request_body_bytes: int = Field(
        4 * 1024 * 1024, gt=0, description="Largest accepted request body, as in Temporal."
    )
    run_background_loops: bool = Field(
        True, description="Run the timer processor; tests turn it off and drive it by hand."
    )
    jwt_secret: SecretStr | None = Field(
        None, description="HS256 key (at least 32 characters); turns authentication on."
    )
    jwt_public_key_file: str | None = Field(
        None, description="PEM public key for RS256/ES256 tokens; turns authentication on."
    )
    jwt_jwks_file: str | None = Field(
        None, description="JWKS file (JSON with 'keys'); tokens pick their key by 'kid'."
    )
    jwt_algorithms: list[str] = Field(
        default_factory=lambda: ["HS256", "RS256", "ES256"],
        description="Accepted signing algorithms; 'none' is never accepted.",
    )
    jwt_issuer: str | None = Field(None, description="Required `iss` claim, if set.")
    jwt_audience: str | None = Field(None, description="Required `aud` claim, if set.")
    jwt_leeway_seconds: int = Field(30, ge=0, le=300, description="Clock skew allowed.")
    jwt_permissions_claim: str = Field("permissions", description="Claim with permissions.")
    jwt_namespace_claim: str = Field(
        "namespace", description="Claim with the namespace (or list of namespaces) allowed."
    )
    require_credentials: bool = Field(
        False, description="Require credentials even with no JWT key set (API keys only)."
    )
    allow_unauthenticated_network: bool = Field(
        False,
        description="Serve without authentication on a non-loopback address (unsafe).",
    )
    create_default_namespace: bool = Field(
        True, description="Register the `default` namespace at start-up when it is missing."
    )
