"""The one error shape (kernel/errors.py ``error_body``) as models for the document."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from intelgraph.kernel.errors import Category


class ErrorExtensions(BaseModel):
    """What the error is; details (limits, their values, line errors) sit beside these."""

    model_config = ConfigDict(extra="allow")

    code: str = Field(description="the precise problem, e.g. TENANT_NOT_FOUND")
    category: Category = Field(description="fixes the HTTP status")
    retryable: bool = Field(description="whether sending the same request later can succeed")
    requestId: str | None = Field(default=None, description="the X-Request-Id, for the logs")


class ErrorItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    message: str = Field(description="what went wrong and what to fix")
    extensions: ErrorExtensions


class ErrorResponse(BaseModel):
    """Every error answer of every route: one item, GraphQL's error shape."""

    errors: list[ErrorItem] = Field(min_length=1)
