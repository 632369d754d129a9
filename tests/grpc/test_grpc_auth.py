"""Authentication and authorization on the gRPC door: the same admission as REST
(app.permissions.admit), answered in Temporal's terms. A missing or bad credential is
UNAUTHENTICATED; a credential without the permission, the namespace or the task queue
is PERMISSION_DENIED with a PermissionDeniedFailure the SDKs unpack; GetSystemInfo
answers anyone (the SDK calls it to connect, with whatever credential it has). Rate
limits answer RESOURCE_EXHAUSTED with a ResourceExhaustedFailure saying why.

Each row is driven through the official SDK's raw service calls (one credential per
call in the ``authorization`` metadata), and the SDK's own client is driven through
the cases a user meets first. The Python SDK turns TLS on with ``api_key=``, so its
rows pass ``tls=False`` or send the key through ``rpc_metadata``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.common.v1 import message_pb2 as common
from temporalio.api.enums.v1 import failed_cause_pb2
from temporalio.api.errordetails.v1 import message_pb2 as details
from temporalio.api.operatorservice.v1 import request_response_pb2 as operator
from temporalio.api.taskqueue.v1 import message_pb2 as taskqueue
from temporalio.api.workflowservice.v1 import request_response_pb2 as wf
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from app.clock import ManualClock
from app.grpc.door import parse_peer
from app.main import create_app
from app.settings import Settings
from tests.api.test_auth import NOW, PUBLIC_KEY, SECRET, _hs256_by_hand, b64url, token
from tests.conftest import IN_PROCESS
from tests.grpc.conftest import GrpcGateway, free_port
from tests.grpc.test_grpc_errors import (
    QUEUE,
    TIMEOUT,
    detail,
    execution,
    rpc_error,
    start_request,
)

ISSUER = "https://auth.company.com"
AUDIENCE = "temporal.company.com"


# --- a gateway with its gRPC door open -------------------------------------------------


@asynccontextmanager
async def serving(
    database_url: str, clock: ManualClock, **overrides: Any
) -> AsyncIterator[GrpcGateway]:
    """A gateway with gRPC on a free port, budgets roomy but for those ``overrides``
    name (and any other setting they name, e.g. authentication's)."""
    settings = Settings(
        database_url=database_url,
        run_background_loops=False,
        grpc_port=free_port(),
        **{**IN_PROCESS, **overrides},
    )
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield GrpcGateway(application, f"127.0.0.1:{settings.grpc_port}", http, clock)


def auth_settings(tmp_path: Path) -> dict[str, Any]:
    """Authentication on, as tests/api/test_auth_attacks.py has it."""
    public_key = tmp_path / "public.pem"
    public_key.write_text(PUBLIC_KEY)
    return {
        "jwt_secret": SECRET,
        "jwt_public_key_file": str(public_key),
        "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE,
    }


ADMIN = token(namespace="*")


def bearer(credential: str) -> dict[str, str]:
    return {"authorization": f"Bearer {credential}"}


@dataclass
class Secured:
    """A gateway with authentication on, namespaces nsa and nsb, and one SDK client
    connected without any credential (each raw call carries its own)."""

    gateway: GrpcGateway
    client: Client

    async def admin(self, method: str, url: str, body: Any = None) -> httpx.Response:
        response = await self.gateway.http.request(
            method, url, json=body, headers={"Authorization": f"Bearer {ADMIN}"}
        )
        assert response.status_code == 200, response.text
        return response

    async def api_key(self, revoked: bool = False, **fields: Any) -> str:
        body = {"name": "grpc", "permissions": ["temporal:*"], "namespaces": ["default"]}
        issued = (await self.admin("POST", "/api/v1/api-keys", {**body, **fields})).json()
        if revoked:
            await self.admin("DELETE", f"/api/v1/api-keys/{issued['id']}")
        return str(issued["key"])


@pytest.fixture
async def secured(database_url: str, tmp_path: Path, clock: ManualClock) -> AsyncIterator[Secured]:
    async with serving(database_url, clock, **auth_settings(tmp_path)) as gateway:
        here = Secured(gateway, await gateway.client())
        for name in ("nsa", "nsb"):
            body = {"namespace": name, "workflow_execution_retention_period": "86400s"}
            await here.admin("POST", "/api/v1/namespaces", body)
        yield here


def assert_denied(error: RPCError, mentions: str) -> None:
    assert error.status == RPCStatusCode.PERMISSION_DENIED, (error.status, error.message)
    assert mentions.lower() in error.message.lower(), error.message
    assert detail(error, details.PermissionDeniedFailure).reason == error.message


def assert_unauthenticated(error: RPCError, credential: str | None) -> None:
    assert error.status == RPCStatusCode.UNAUTHENTICATED, (error.status, error.message)
    assert error.message
    if credential:  # never echoed
        assert credential not in error.message


# --- the table -----------------------------------------------------------------------

Call = Callable[[Client, dict[str, str]], Coroutine[Any, Any, Any]]


def call_start(namespace: str = "default") -> Call:
    async def call(client: Client, metadata: dict[str, str]) -> Any:
        return await client.workflow_service.start_workflow_execution(
            start_request(namespace), metadata=metadata, timeout=TIMEOUT
        )

    return call


async def call_signal_with_start(client: Client, metadata: dict[str, str]) -> Any:
    request = wf.SignalWithStartWorkflowExecutionRequest(
        namespace="default",
        workflow_id="wf-auth",
        workflow_type=common.WorkflowType(name="AuthWorkflow"),
        task_queue=taskqueue.TaskQueue(name=QUEUE),
        signal_name="go",
    )
    return await client.workflow_service.signal_with_start_workflow_execution(
        request, metadata=metadata, timeout=TIMEOUT
    )


async def call_terminate(client: Client, metadata: dict[str, str]) -> Any:
    request = wf.TerminateWorkflowExecutionRequest(
        namespace="default", workflow_execution=execution("wf-auth")
    )
    return await client.workflow_service.terminate_workflow_execution(
        request, metadata=metadata, timeout=TIMEOUT
    )


async def call_signal(client: Client, metadata: dict[str, str]) -> Any:
    request = wf.SignalWorkflowExecutionRequest(
        namespace="default", workflow_execution=execution("wf-auth"), signal_name="go"
    )
    return await client.workflow_service.signal_workflow_execution(
        request, metadata=metadata, timeout=TIMEOUT
    )


async def call_cancel(client: Client, metadata: dict[str, str]) -> Any:
    request = wf.RequestCancelWorkflowExecutionRequest(
        namespace="default", workflow_execution=execution("wf-auth")
    )
    return await client.workflow_service.request_cancel_workflow_execution(
        request, metadata=metadata, timeout=TIMEOUT
    )


def call_describe_namespace(namespace: str) -> Call:
    async def call(client: Client, metadata: dict[str, str]) -> Any:
        return await client.workflow_service.describe_namespace(
            wf.DescribeNamespaceRequest(namespace=namespace), metadata=metadata, timeout=TIMEOUT
        )

    return call


def call_list(namespace: str) -> Call:
    async def call(client: Client, metadata: dict[str, str]) -> Any:
        return await client.workflow_service.list_workflow_executions(
            wf.ListWorkflowExecutionsRequest(namespace=namespace),
            metadata=metadata,
            timeout=TIMEOUT,
        )

    return call


def call_register(namespace: str) -> Call:
    async def call(client: Client, metadata: dict[str, str]) -> Any:
        request = wf.RegisterNamespaceRequest(
            namespace=namespace, workflow_execution_retention_period=Duration(seconds=86400)
        )
        return await client.workflow_service.register_namespace(
            request, metadata=metadata, timeout=TIMEOUT
        )

    return call


def call_delete_namespace(namespace: str) -> Call:
    async def call(client: Client, metadata: dict[str, str]) -> Any:
        return await client.operator_service.delete_namespace(
            operator.DeleteNamespaceRequest(namespace=namespace),
            metadata=metadata,
            timeout=TIMEOUT,
        )

    return call


def call_describe_task_queue(namespace: str, queue: str) -> Call:
    async def call(client: Client, metadata: dict[str, str]) -> Any:
        request = wf.DescribeTaskQueueRequest(
            namespace=namespace, task_queue=taskqueue.TaskQueue(name=queue)
        )
        return await client.workflow_service.describe_task_queue(
            request, metadata=metadata, timeout=TIMEOUT
        )

    return call


Credential = str | None | Callable[[Secured], Awaitable[str]]


async def _revoked_key(world: Secured) -> str:
    return await world.api_key(revoked=True)


async def _expired_key(world: Secured) -> str:
    key = await world.api_key(ttl="60s")
    world.gateway.clock.advance(61)
    return key


def _alg_none() -> str:
    claims = {"sub": "x", "permissions": ["temporal:*"], "namespace": "*", "exp": NOW + 600}
    return f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(claims)}."


def _tampered() -> str:
    header, _, signature = token(["temporal:workflow:read"]).split(".")
    wider = {"sub": "x", "permissions": ["temporal:*"], "namespace": "*", "exp": NOW + 600}
    return f"{header}.{b64url(wider)}.{signature}"


UNAUTHENTICATED: list[Any] = [
    pytest.param(None, id="no-credential"),
    pytest.param("", id="empty-bearer"),
    pytest.param("not-a-jwt", id="malformed"),
    pytest.param("a.b.c", id="malformed-segments"),
    pytest.param(token(exp=NOW - 3600), id="expired"),
    pytest.param(token(nbf=NOW + 3600), id="not-yet-valid"),
    pytest.param(token(key="another-secret-that-is-long-enough-for-hs256"), id="wrong-signature"),
    pytest.param(_tampered(), id="tampered-payload"),
    pytest.param(_alg_none(), id="alg-none"),
    pytest.param(_hs256_by_hand(PUBLIC_KEY.encode()), id="hs-rs-key-confusion"),
    pytest.param(token(iss="https://evil.example"), id="wrong-issuer"),
    pytest.param(token(aud="someone-else"), id="wrong-audience"),
    pytest.param("tgk_0123456789abcdef_guessed", id="unknown-api-key"),
    pytest.param(_revoked_key, id="revoked-api-key"),
    pytest.param(_expired_key, id="expired-api-key"),
]


@pytest.mark.parametrize("credential", UNAUTHENTICATED)
@pytest.mark.parametrize(
    "call",
    [
        pytest.param(call_start(), id="Start"),
        pytest.param(call_describe_namespace("default"), id="DescribeNamespace"),
    ],
)
async def test_a_missing_or_bad_credential_is_unauthenticated(
    secured: Secured, credential: Credential, call: Call
) -> None:
    text = (
        credential
        if credential is None or isinstance(credential, str)
        else await credential(secured)
    )
    metadata = {} if text is None else bearer(text)
    error = await rpc_error(call(secured.client, metadata))
    assert_unauthenticated(error, text)
    assert not error.grpc_status.details  # Temporal has no detail for it either


async def test_a_credential_not_in_the_bearer_scheme_is_unauthenticated(secured: Secured) -> None:
    metadata = {"authorization": "Basic dXNlcjpwYXNz"}
    assert_unauthenticated(await rpc_error(call_start()(secured.client, metadata)), None)
    metadata = {"authorization": ADMIN}  # the token without its scheme
    assert_unauthenticated(await rpc_error(call_start()(secured.client, metadata)), ADMIN)


async def test_two_authorization_entries_are_refused(secured: Secured) -> None:
    """Which of two credentials counts is not the door's guess: both are refused, even
    when each alone would be admitted. (Sent on a plain grpcio channel: the SDK's
    metadata is a mapping and cannot repeat a key.)"""
    async with grpc.aio.insecure_channel(secured.gateway.target) as channel:
        start = channel.unary_unary(
            "/temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution",
            request_serializer=wf.StartWorkflowExecutionRequest.SerializeToString,
            response_deserializer=wf.StartWorkflowExecutionResponse.FromString,
        )
        both = (("authorization", f"Bearer {ADMIN}"), ("authorization", f"Bearer {ADMIN}"))
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await start(start_request(), metadata=both, timeout=30)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "more than one" in (caught.value.details() or "")
        admitted = await start(start_request(), metadata=both[:1], timeout=30)
        assert admitted.run_id


NSA = token(["temporal:*"], namespace="nsa")
WORKER = token(["temporal:worker:*"], namespace="default")
READ_ONLY = token(
    ["temporal:workflow:read", "temporal:workflow:list", "temporal:namespace:read"],
    namespace="default",
)
QUEUE_A_READER = token(["temporal:cluster:read"], namespace="nsa", task_queues=["qa"])


@dataclass(frozen=True)
class Denial:
    credential: str
    call: Call
    mentions: str  # what the message must name


DENIED = {
    # a credential for namespace nsa acting in nsb
    "nsa-token-starts-in-nsb": Denial(NSA, call_start("nsb"), "namespace 'nsb'"),
    "nsa-token-describes-nsb": Denial(NSA, call_describe_namespace("nsb"), "namespace 'nsb'"),
    "nsa-token-lists-nsb": Denial(NSA, call_list("nsb"), "namespace 'nsb'"),
    "nsa-token-registers-nsc": Denial(NSA, call_register("nsc"), "namespace 'nsc'"),
    "nsa-token-deletes-nsb": Denial(NSA, call_delete_namespace("nsb"), "namespace 'nsb'"),
    # the worker branch cannot start, signal-with-start or terminate
    "worker-token-starts": Denial(WORKER, call_start(), "temporal:workflow:start"),
    "worker-token-signals-with-start": Denial(
        WORKER, call_signal_with_start, "temporal:workflow:start"
    ),
    "worker-token-terminates": Denial(WORKER, call_terminate, "temporal:workflow:terminate"),
    # a read-only credential reads, and does nothing else
    "read-only-token-signals": Denial(READ_ONLY, call_signal, "temporal:workflow:signal"),
    "read-only-token-cancels": Denial(READ_ONLY, call_cancel, "temporal:workflow:cancel"),
    "read-only-token-starts": Denial(READ_ONLY, call_start(), "temporal:workflow:start"),
    "read-only-token-deletes-namespace": Denial(
        READ_ONLY, call_delete_namespace("default"), "temporal:namespace:delete"
    ),
    # a credential limited to task queue qa, on qb (REST names the queue in its path)
    "queue-a-token-describes-queue-b": Denial(
        QUEUE_A_READER, call_describe_task_queue("nsa", "qb"), "task queue 'qb'"
    ),
}


@pytest.mark.parametrize("row", DENIED.values(), ids=DENIED.keys())
async def test_a_credential_without_the_permission_or_scope_is_denied(
    secured: Secured, row: Denial
) -> None:
    assert_denied(await rpc_error(row.call(secured.client, bearer(row.credential))), row.mentions)


@pytest.mark.parametrize(
    ("credential", "call"),
    [
        pytest.param(NSA, call_start("nsa"), id="nsa-token-starts-in-nsa"),
        pytest.param(NSA, call_list("nsa"), id="nsa-token-lists-nsa"),
        pytest.param(READ_ONLY, call_list("default"), id="read-only-token-lists"),
        pytest.param(
            QUEUE_A_READER, call_describe_task_queue("nsa", "qa"), id="queue-a-token-on-queue-a"
        ),
        pytest.param(ADMIN, call_start(), id="admin-token-starts"),
    ],
)
async def test_a_credential_within_its_scope_is_admitted(
    secured: Secured, credential: str, call: Call
) -> None:
    """The other side of each denial: the same credential where it may act."""
    await call(secured.client, bearer(credential))


async def test_get_system_info_answers_without_a_credential(secured: Secured) -> None:
    """The SDK connects with GetSystemInfo before any credential matters: it answers
    anyone, with a bad credential too (the fixture's client connected with none)."""
    for metadata in ({}, bearer("not-a-jwt")):
        info = await secured.client.workflow_service.get_system_info(
            wf.GetSystemInfoRequest(), metadata=metadata, timeout=TIMEOUT
        )
        assert info.server_version
    connected = await Client.connect(
        secured.gateway.target, rpc_metadata={"authorization": "Bearer expired-or-not"}
    )
    assert connected.service_client


async def test_an_api_key_works_as_a_bearer_credential(secured: Secured) -> None:
    """A gateway-issued key, sent as the SDK sends ``api_key`` (``authorization: Bearer
    <key>``): by raw call, through the client's ``rpc_metadata`` and through ``api_key``
    with TLS off, it is admitted within its scope and denied outside it."""
    key = await secured.api_key(
        permissions=["temporal:workflow:start", "temporal:workflow:read"], namespaces=["default"]
    )
    started = await call_start()(secured.client, bearer(key))
    assert started.run_id
    assert_denied(
        await rpc_error(call_start("nsa")(secured.client, bearer(key))), "namespace 'nsa'"
    )
    assert_denied(await rpc_error(call_terminate(secured.client, bearer(key))), "terminate")

    by_metadata = await Client.connect(secured.gateway.target, rpc_metadata=bearer(key))
    handle = await by_metadata.start_workflow("AuthWorkflow", id="by-metadata", task_queue=QUEUE)
    assert (await handle.describe()).id == "by-metadata"

    by_api_key = await Client.connect(secured.gateway.target, api_key=key, tls=False)
    handle = await by_api_key.start_workflow("AuthWorkflow", id="by-api-key", task_queue=QUEUE)
    assert (await handle.describe()).workflow_type == "AuthWorkflow"
    error = await rpc_error(handle.terminate())
    assert_denied(error, "temporal:workflow:terminate")


async def test_the_sdk_client_meets_each_refusal_as_an_rpc_error(secured: Secured) -> None:
    """What a user of the SDK's client sees: connecting needs no credential; then no
    credential is UNAUTHENTICATED, a foreign namespace, a worker's or a read-only
    credential PERMISSION_DENIED with its detail (none of them retried by the SDK)."""
    target = secured.gateway.target
    anonymous = await Client.connect(target)
    assert_unauthenticated(
        await rpc_error(anonymous.start_workflow("AuthWorkflow", id="a", task_queue=QUEUE)), None
    )

    foreign = await Client.connect(target, namespace="nsb", rpc_metadata=bearer(NSA))
    error = await rpc_error(foreign.start_workflow("AuthWorkflow", id="f", task_queue=QUEUE))
    assert_denied(error, "namespace 'nsb'")

    worker = await Client.connect(target, rpc_metadata=bearer(WORKER))
    error = await rpc_error(worker.start_workflow("AuthWorkflow", id="w", task_queue=QUEUE))
    assert_denied(error, "temporal:workflow:start")

    admin = await Client.connect(target, rpc_metadata=bearer(ADMIN))
    await admin.start_workflow("AuthWorkflow", id="running", task_queue=QUEUE)
    error = await rpc_error(worker.get_workflow_handle("running").terminate("no"))
    assert_denied(error, "temporal:workflow:terminate")

    reader = await Client.connect(target, rpc_metadata=bearer(READ_ONLY))
    handle = reader.get_workflow_handle("running")
    assert (await handle.describe()).id == "running"
    assert_denied(await rpc_error(handle.signal("go")), "temporal:workflow:signal")


async def test_get_search_attributes_does_not_show_a_namespace_to_a_credential_outside_it(
    secured: Secured,
) -> None:
    """GetSearchAttributes names no namespace (nor does the SDK's call carry a
    temporal-namespace header); the gateway answers it with namespace default's custom
    attributes. A credential that may not act in default must not learn them."""
    await secured.admin(
        "POST",
        "/api/v1/namespaces/default/search-attributes",
        {"search_attributes": {"Secret": "Keyword"}},
    )
    metadata = bearer(NSA)
    try:
        answer = await secured.client.workflow_service.get_search_attributes(
            wf.GetSearchAttributesRequest(), metadata=metadata, timeout=TIMEOUT
        )
    except RPCError as error:
        assert_denied(error, "default")
    else:
        assert "Secret" not in answer.keys


async def test_describe_namespace_by_id_checks_the_namespace_it_names(
    secured: Secured,
) -> None:
    """By id the request names no namespace for the door to check: the namespace the id
    stands for is checked against the credential instead."""
    described = await secured.client.workflow_service.describe_namespace(
        wf.DescribeNamespaceRequest(namespace="nsa"), metadata=bearer(NSA), timeout=TIMEOUT
    )
    by_id = await secured.client.workflow_service.describe_namespace(
        wf.DescribeNamespaceRequest(id=described.namespace_info.id),
        metadata=bearer(NSA),
        timeout=TIMEOUT,
    )
    assert by_id.namespace_info.name == "nsa"
    default = (await secured.admin("GET", "/api/v1/namespaces/default")).json()
    with pytest.raises(RPCError) as raised:
        await secured.client.workflow_service.describe_namespace(
            wf.DescribeNamespaceRequest(id=default["namespace_info"]["id"]),
            metadata=bearer(NSA),
            timeout=TIMEOUT,
        )
    assert_denied(raised.value, "default")


# --- rate limits ---------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    cause: int
    scope: int


def refusal(error: RPCError) -> Refusal:
    assert error.status == RPCStatusCode.RESOURCE_EXHAUSTED, (error.status, error.message)
    found = detail(error, details.ResourceExhaustedFailure)
    return Refusal(found.cause, found.scope)


CAUSES = failed_cause_pb2.ResourceExhaustedCause
SCOPES = failed_cause_pb2.ResourceExhaustedScope


async def refusals_counted(gateway: GrpcGateway, category: str) -> float:
    """The gateway's rate_limit_refusals_total for ``category``, as GET /metrics says."""
    scraped = await gateway.http.get("/metrics")
    assert scraped.status_code == 200, scraped.text
    prefix = f'temporal_gateway_rate_limit_refusals_total{{category="{category}"}} '
    values = [
        line.removeprefix(prefix) for line in scraped.text.splitlines() if line.startswith(prefix)
    ]
    return float(values[0]) if values else 0.0


async def test_workflow_starts_beyond_the_namespace_budget_are_resource_exhausted(
    database_url: str, clock: ManualClock
) -> None:
    """Two starts a minute per namespace: the third is RESOURCE_EXHAUSTED (RPS_LIMIT, on
    the namespace's budget), counted in the metrics as REST's refusals are; the next
    window (on the manual clock) admits starts again."""
    async with serving(database_url, clock, rate_limit_workflow_starts="2/minute") as gateway:
        service = (await gateway.client()).workflow_service
        clock.advance(60 - clock.now().timestamp() % 60)  # the start of a window
        for _ in range(2):
            await service.start_workflow_execution(start_request(), timeout=TIMEOUT)
        error = await rpc_error(service.start_workflow_execution(start_request(), timeout=TIMEOUT))
        assert refusal(error) == Refusal(
            CAUSES.RESOURCE_EXHAUSTED_CAUSE_RPS_LIMIT, SCOPES.RESOURCE_EXHAUSTED_SCOPE_NAMESPACE
        )
        assert "workflow_starts" in error.message
        assert await refusals_counted(gateway, "workflow_starts") == 1
        clock.advance(60)
        assert (await service.start_workflow_execution(start_request(), timeout=TIMEOUT)).run_id


async def test_the_clients_budget_is_shared_by_both_doors(
    database_url: str, clock: ManualClock
) -> None:
    """With authentication off a client is its address: calls over REST and over gRPC
    from this host draw on one budget (the door reads the same address REST does)."""
    async with serving(database_url, clock, rate_limit_client="3/minute") as gateway:
        service = (await gateway.client()).workflow_service
        clock.advance(60 - clock.now().timestamp() % 60)
        describe = wf.DescribeNamespaceRequest(namespace="default")
        await service.describe_namespace(describe, timeout=TIMEOUT)
        assert (await gateway.http.get("/api/v1/namespaces/default")).status_code == 200
        await service.describe_namespace(describe, timeout=TIMEOUT)
        error = await rpc_error(service.describe_namespace(describe, timeout=TIMEOUT))
        assert refusal(error) == Refusal(
            CAUSES.RESOURCE_EXHAUSTED_CAUSE_RPS_LIMIT, SCOPES.RESOURCE_EXHAUSTED_SCOPE_UNSPECIFIED
        )
        assert "client '127.0.0.1'" in error.message
        assert (await gateway.http.get("/api/v1/namespaces/default")).status_code == 429


async def test_the_cap_on_running_executions_is_a_concurrent_limit(
    database_url: str, clock: ManualClock
) -> None:
    async with serving(database_url, clock, max_running_executions=1) as gateway:
        service = (await gateway.client()).workflow_service
        await service.start_workflow_execution(start_request(), timeout=TIMEOUT)
        error = await rpc_error(service.start_workflow_execution(start_request(), timeout=TIMEOUT))
        assert refusal(error) == Refusal(
            CAUSES.RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT,
            SCOPES.RESOURCE_EXHAUSTED_SCOPE_NAMESPACE,
        )


@pytest.mark.parametrize(
    ("peer", "host"),
    [
        ("ipv4:127.0.0.1:5000", "127.0.0.1"),
        ("ipv6:%5B::1%5D:5000", "::1"),  # how grpcio writes it
        ("ipv6:[::1]:5000", "::1"),
        ("ipv6:%5B::ffff:10.0.0.7%5D:5000", "::ffff:10.0.0.7"),
        ("ipv6:%5Bfe80::1%25eth0%5D:5000", "fe80::1%eth0"),
        ("unix:/run/gateway.sock", "unix:/run/gateway.sock"),
        ("unix:", "unix:"),
    ],
)
def test_the_peer_is_the_host_rest_would_name(peer: str, host: str) -> None:
    assert parse_peer(peer) == host


async def test_an_ipv6_client_is_budgeted_by_its_address(
    database_url: str, clock: ManualClock
) -> None:
    """Over IPv6 the budget's scope is the bare address, as REST's would be."""
    async with serving(database_url, clock, host="::1", rate_limit_client="1/minute") as gateway:
        port = gateway.target.rsplit(":", 1)[1]
        service = (await Client.connect(f"[::1]:{port}")).workflow_service
        clock.advance(60 - clock.now().timestamp() % 60)
        describe = wf.DescribeNamespaceRequest(namespace="default")
        await service.describe_namespace(describe, timeout=TIMEOUT)
        error = await rpc_error(service.describe_namespace(describe, timeout=TIMEOUT))
        assert refusal(error).cause == CAUSES.RESOURCE_EXHAUSTED_CAUSE_RPS_LIMIT
        assert "client '::1'" in error.message, error.message
