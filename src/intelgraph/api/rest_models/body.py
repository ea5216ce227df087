"""Validating a decoded JSON body with a pydantic model, in the one error shape.

The first problem found is answered as VALIDATION with the message the model declares for
that field (``problems``), so a client reads the same words the API always used.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from intelgraph.kernel.errors import VALIDATION, IntelGraphError


class RequestBody(BaseModel):
    """A JSON request body; fields it does not name are ignored, as they always were."""

    model_config = ConfigDict(extra="ignore", populate_by_name=False, frozen=True)

    problems: ClassVar[dict[str, str]] = {}
    """Field (by its JSON name) -> the message a client gets when that field is wrong."""


Body = TypeVar("Body", bound=RequestBody)


def parse_body(model: type[Body], body: dict[str, Any]) -> Body:
    """``body`` as ``model``; raises VALIDATION naming the first field that is wrong."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise refusal(model, exc) from None


def refusal(model: type[RequestBody], exc: ValidationError) -> IntelGraphError:
    """The client's error for the first problem pydantic found."""
    first = exc.errors(include_url=False, include_input=False)[0]
    name = str(first["loc"][0]) if first["loc"] else ""
    message = model.problems.get(name) or f"'{name}': {first['msg']}"
    return IntelGraphError(VALIDATION, message)
