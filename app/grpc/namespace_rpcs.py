"""GetSystemInfo, GetClusterInfo and the namespace RPCs (WorkflowService; DeleteNamespace
is the OperatorService's), over app.services.namespace_operations and app.services.cluster
as REST's routes are."""

from __future__ import annotations

from typing import Any

from temporalio.api.operatorservice.v1 import request_response_pb2 as operator
from temporalio.api.workflowservice.v1 import request_response_pb2 as wf

from app import __version__
from app.context import AppContext
from app.grpc.convert import from_json, seconds_in, token_in
from app.grpc.door import Call
from app.grpc.registry import OPERATOR_SERVICE, WORKFLOW_SERVICE
from app.models.namespaces import (
    DescribeNamespaceResponse,
    RegisterNamespaceRequest,
    UpdateNamespaceRequest,
)
from app.permissions import Permission
from app.services import cluster
from app.services import namespace_operations as service

# What the gateway does as Temporal does, so an SDK may rely on it; everything else is
# false (sdk-core reads build_id_based_versioning and sdk_metadata; see the reference).
# sdk_metadata binds the server to copy a completion's sdk_metadata into its
# WorkflowTaskCompleted event, which the engine does: sdk-core then records its internal
# flags there and reads them back on replay. activity_failure_include_heartbeat: a
# failed attempt's last_heartbeat_details are kept for the next attempt (sdk-core sends
# its last, throttled heartbeat's details with the failure only when this is true).
CAPABILITIES = wf.GetSystemInfoResponse.Capabilities(
    upsert_memo=True,
    count_group_by_execution_status=True,
    sdk_metadata=True,
    activity_failure_include_heartbeat=True,
)


@WORKFLOW_SERVICE.rpc("GetSystemInfo", None)
async def get_system_info(
    ctx: AppContext, request: wf.GetSystemInfoRequest, call: Call
) -> wf.GetSystemInfoResponse:
    return wf.GetSystemInfoResponse(server_version=__version__, capabilities=CAPABILITIES)


@WORKFLOW_SERVICE.rpc("GetClusterInfo", Permission.CLUSTER_READ)
async def get_cluster_info(
    ctx: AppContext, request: wf.GetClusterInfoRequest, call: Call
) -> wf.GetClusterInfoResponse:
    """What the REST DescribeCluster says of the cluster (its members are not in
    Temporal's reply); ``temporal operator cluster describe`` shows it."""
    info = (await cluster.describe_cluster(ctx.db, ctx.settings, ctx.clock)).cluster_info
    return wf.GetClusterInfoResponse(
        cluster_name=info.cluster_name,
        cluster_id=info.cluster_id,
        server_version=info.server_version,
        history_shard_count=info.history_shard_count,
        persistence_store=info.persistence_store,
        visibility_store=info.visibility_store,
    )


def _describe(response: DescribeNamespaceResponse, message: Any) -> Any:
    return from_json(response.model_dump(), message)


def _archival(state: int, uri: str) -> dict[str, Any] | None:
    return {"state": state, "uri": uri} if state or uri else None


@WORKFLOW_SERVICE.rpc("RegisterNamespace", Permission.NAMESPACE_CREATE)
async def register_namespace(
    ctx: AppContext, request: wf.RegisterNamespaceRequest, call: Call
) -> wf.RegisterNamespaceResponse:
    body = RegisterNamespaceRequest.model_validate(
        {
            "namespace": request.namespace,
            "description": request.description,
            "owner_email": request.owner_email,
            "workflow_execution_retention_period": seconds_in(
                request.workflow_execution_retention_period
            ),
            "data": dict(request.data),
            "is_global_namespace": request.is_global_namespace,
            "clusters": [{"cluster_name": c.cluster_name} for c in request.clusters],
            "active_cluster_name": request.active_cluster_name,
            "history_archival_config": _archival(
                request.history_archival_state, request.history_archival_uri
            ),
            "visibility_archival_config": _archival(
                request.visibility_archival_state, request.visibility_archival_uri
            ),
        }
    )
    await service.register_namespace(ctx, call.principal, body)
    return wf.RegisterNamespaceResponse()


@WORKFLOW_SERVICE.rpc("DescribeNamespace", Permission.NAMESPACE_READ)
async def describe_namespace(
    ctx: AppContext, request: wf.DescribeNamespaceRequest, call: Call
) -> wf.DescribeNamespaceResponse:
    """By name, or by ``id`` when the name is empty (`--namespace-id` in the CLI)."""
    if request.namespace:
        described = await service.describe_namespace(ctx, request.namespace)
    else:
        described = await service.describe_namespace_by_id(ctx, call.principal, request.id)
    response: wf.DescribeNamespaceResponse = _describe(described, wf.DescribeNamespaceResponse())
    return response


@WORKFLOW_SERVICE.rpc("ListNamespaces", Permission.NAMESPACE_READ)
async def list_namespaces(
    ctx: AppContext, request: wf.ListNamespacesRequest, call: Call
) -> wf.ListNamespacesResponse:
    page = await service.list_namespaces(
        ctx, call.principal, request.page_size, token_in(request.next_page_token)
    )
    return wf.ListNamespacesResponse(
        namespaces=[_describe(n, wf.DescribeNamespaceResponse()) for n in page.namespaces],
        next_page_token=page.next_page_token.encode(),
    )


@WORKFLOW_SERVICE.rpc("UpdateNamespace", Permission.NAMESPACE_UPDATE)
async def update_namespace(
    ctx: AppContext, request: wf.UpdateNamespaceRequest, call: Call
) -> wf.UpdateNamespaceResponse:
    """As Temporal: an empty text, an unset duration or an UNSPECIFIED state changes
    nothing; ``data`` is merged."""
    info, config, replication = request.update_info, request.config, request.replication_config
    body: dict[str, Any] = {}
    if request.HasField("update_info"):
        body["update_info"] = {
            "description": info.description or None,
            "owner_email": info.owner_email or None,
            "data": dict(info.data) or None,
            "state": info.state or None,
        }
    if request.HasField("config"):
        body["config"] = {
            "workflow_execution_retention_ttl": seconds_in(config.workflow_execution_retention_ttl),
            "history_archival_state": config.history_archival_state or None,
            "history_archival_uri": config.history_archival_uri or None,
            "visibility_archival_state": config.visibility_archival_state or None,
            "visibility_archival_uri": config.visibility_archival_uri or None,
        }
    if request.HasField("replication_config"):
        body["replication_config"] = {
            "active_cluster_name": replication.active_cluster_name or None,
            "clusters": [{"cluster_name": c.cluster_name} for c in replication.clusters] or None,
        }
    described = await service.update_namespace(
        ctx, request.namespace, UpdateNamespaceRequest.model_validate(body)
    )
    response: wf.UpdateNamespaceResponse = _describe(described, wf.UpdateNamespaceResponse())
    return response


@OPERATOR_SERVICE.rpc("DeleteNamespace", Permission.NAMESPACE_DELETE)
async def delete_namespace(
    ctx: AppContext, request: operator.DeleteNamespaceRequest, call: Call
) -> operator.DeleteNamespaceResponse:
    deleted = await service.delete_namespace(ctx, request.namespace)
    return operator.DeleteNamespaceResponse(deleted_namespace=deleted.deleted_namespace)
