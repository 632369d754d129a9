"""The Admin API's view of the cluster and its members."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class ClusterMember(BaseModel):
    role: str
    host_id: str
    rpc_address: str
    rpc_port: int
    version: str
    session_start_time: datetime
    last_heartbeat_time: datetime
    record_expiry_time: datetime


class ClusterInfo(BaseModel):
    cluster_name: str
    cluster_id: str
    server_version: str
    persistence_store: str
    visibility_store: str
    history_shard_count: int
    supported_api_versions: list[str]


class DescribeClusterResponse(BaseModel):
    cluster_info: ClusterInfo
    membership_info: list[ClusterMember]


class ListClusterMembersResponse(BaseModel):
    active_members: list[ClusterMember]
    next_page_token: str = ""


class DescribeShardResponse(BaseModel):
    shard_id: int
    owner: str | None
    owner_address: str | None
    range_id: int
    acquired_time: datetime | None
    lease_expiry_time: datetime | None
    lease_expired: bool
    open_executions: int
    pending_timers: int
    timer_lag: str
