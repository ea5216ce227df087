"""Deprecated fields as data (``schema/deprecations.json``), next to the SDL they describe."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, TypeAdapter, model_validator


class Deprecation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    replacement: str  # "Type.field"
    deprecatedAt: datetime
    sunset: datetime
    reason: str

    @model_validator(mode="after")
    def sunset_not_before_deprecation(self) -> Deprecation:
        if self.sunset < self.deprecatedAt:
            raise ValueError("sunset must not be earlier than deprecatedAt")
        return self

    @property
    def replacement_field(self) -> str:
        return self.replacement.split(".", 1)[1]


@cache
def deprecations() -> dict[str, Deprecation]:
    """``"Type.field"`` → its deprecation record."""
    text = resources.files("intelgraph.api").joinpath("schema/deprecations.json").read_text()
    return TypeAdapter(dict[str, Deprecation]).validate_json(text)
