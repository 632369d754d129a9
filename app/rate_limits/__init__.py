"""Rate limits: the spec's categories, counted in fixed windows of the injected clock, in
memory (one process) or in Redis (every process sharing one budget)."""
