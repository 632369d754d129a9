"""Namespace API schemas: RegisterNamespace, DescribeNamespace, ListNamespaces,
UpdateNamespace."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from app.models.common import Duration, StrictModel, proto_enum


class ArchivalState(StrEnum):
    DISABLED = "DISABLED"
    ENABLED = "ENABLED"


class NamespaceState(StrEnum):
    REGISTERED = "REGISTERED"
    DEPRECATED = "DEPRECATED"
    DELETED = "DELETED"


ArchivalStateField = proto_enum(ArchivalState, "ARCHIVAL_STATE_")
NamespaceStateField = proto_enum(NamespaceState, "NAMESPACE_STATE_")


class ArchivalConfig(StrictModel):
    state: ArchivalStateField = ArchivalState.DISABLED  # type: ignore[valid-type]
    uri: str = ""


class ClusterReplicationConfig(StrictModel):
    cluster_name: str


class RegisterNamespaceRequest(StrictModel):
    namespace: str = Field(description="Name of the namespace; letters, digits, '.', '_', '-'.")
    description: str = ""
    owner_email: str = ""
    workflow_execution_retention_period: Duration | None = Field(
        None,
        description="Required: how long closed workflows are kept; at least 1h (24h if global).",
    )
    data: dict[str, str] = Field(default_factory=dict)
    is_global_namespace: bool = False
    clusters: list[ClusterReplicationConfig] = Field(default_factory=list)
    active_cluster_name: str = ""
    history_archival_config: ArchivalConfig | None = None
    visibility_archival_config: ArchivalConfig | None = None


class UpdateNamespaceInfo(StrictModel):
    description: str | None = None
    owner_email: str | None = None
    data: dict[str, str] | None = Field(None, description="Merged into the namespace's data.")
    state: NamespaceStateField | None = None  # type: ignore[valid-type]


class NamespaceConfigUpdate(StrictModel):
    workflow_execution_retention_ttl: Duration | None = None
    history_archival_state: ArchivalStateField | None = None  # type: ignore[valid-type]
    history_archival_uri: str | None = None
    visibility_archival_state: ArchivalStateField | None = None  # type: ignore[valid-type]
    visibility_archival_uri: str | None = None


class ReplicationConfigUpdate(StrictModel):
    active_cluster_name: str | None = None
    clusters: list[ClusterReplicationConfig] | None = None


class UpdateNamespaceRequest(StrictModel):
    namespace: str | None = Field(None, description="Must equal the path's namespace if given.")
    update_info: UpdateNamespaceInfo | None = None
    config: NamespaceConfigUpdate | None = None
    replication_config: ReplicationConfigUpdate | None = None


class NamespaceInfo(BaseModel):
    name: str
    state: str
    description: str
    owner_email: str
    data: dict[str, str]
    id: str


class NamespaceConfig(BaseModel):
    workflow_execution_retention_ttl: str
    history_archival_state: str
    history_archival_uri: str
    visibility_archival_state: str
    visibility_archival_uri: str


class NamespaceReplicationConfig(BaseModel):
    active_cluster_name: str
    clusters: list[ClusterReplicationConfig]
    state: str = "NORMAL"


class DescribeNamespaceResponse(BaseModel):
    namespace_info: NamespaceInfo
    config: NamespaceConfig
    replication_config: NamespaceReplicationConfig
    failover_version: int
    is_global_namespace: bool


class ListNamespacesResponse(BaseModel):
    namespaces: list[DescribeNamespaceResponse]
    next_page_token: str = Field("", description="Opaque; empty on the last page.")


class DeleteNamespaceResponse(BaseModel):
    deleted_namespace: str
    deleted_executions: int
