"""Thin HTTP handlers: parse, open one transaction, call one service, shape the reply."""
