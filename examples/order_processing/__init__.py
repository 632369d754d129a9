"""OrderProcessingWorkflow: the spec's order-processing example as an HTTP-only worker."""
