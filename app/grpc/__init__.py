"""The gRPC door: Temporal's own WorkflowService and OperatorService, served beside the
REST API by the same process and event loop, over the same services."""
