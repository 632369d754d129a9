"""Runnable examples of workers and clients for Temporal Gateway."""
