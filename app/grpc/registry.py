"""The two gRPC services the gateway serves (Temporal's WorkflowService and
OperatorService); the RPC modules register their RPCs into them."""

from __future__ import annotations

from temporalio.api.operatorservice.v1 import request_response_pb2 as operator_messages
from temporalio.api.workflowservice.v1 import request_response_pb2 as workflow_messages

from app.grpc.door import Service

WORKFLOW_SERVICE = Service("temporal.api.workflowservice.v1.WorkflowService", workflow_messages)
OPERATOR_SERVICE = Service("temporal.api.operatorservice.v1.OperatorService", operator_messages)
