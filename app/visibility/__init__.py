"""Visibility list queries: Temporal's SQL-like filter language (``grammar``) and its
translation into SQLAlchemy expressions over the executions table (``compile``)."""
