"""Pydantic API schemas, one module per API group; shared types live in ``common``."""
