"""Visibility API schemas: search attribute registration, List, Scan and Count."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from app.models.common import StrictModel
from app.models.workflows import WorkflowExecutionInfo


class AddSearchAttributesRequest(StrictModel):
    namespace: str | None = None
    search_attributes: dict[str, str] = Field(
        description="Name -> type: Keyword, Text, Int, Double, Bool, Datetime or KeywordList."
    )


class ListSearchAttributesResponse(BaseModel):
    custom_attributes: dict[str, str]
    system_attributes: dict[str, str]


class ScanWorkflowExecutionsRequest(StrictModel):
    namespace: str | None = None
    query: str = ""
    page_size: int = 0
    next_page_token: str = ""


class ListWorkflowExecutionsResponse(BaseModel):
    executions: list[WorkflowExecutionInfo]
    next_page_token: str = Field("", description="Opaque; empty on the last page.")


class CountGroup(BaseModel):
    group_values: list[Any]
    count: int


class CountWorkflowExecutionsResponse(BaseModel):
    count: int
    groups: list[CountGroup] | None = Field(None, description="Only with GROUP BY.")
