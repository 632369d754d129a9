"""Temporal Gateway: the Temporal model of durable execution, served as HTTP/JSON."""

__version__ = "0.1.0"
