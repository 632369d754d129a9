"""What operators watch: Prometheus metrics (``metrics``, served by ``scrape``) and the
per-request access log and timing (``requests``). docs/metrics.md lists every metric."""
