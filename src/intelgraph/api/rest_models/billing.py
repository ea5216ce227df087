"""/v1/admin/exports: the signed daily usage exports (operator)."""

from __future__ import annotations

from pydantic import BaseModel

from intelgraph.api.rest_models.contract import Key, Operation, RawAnswer
from intelgraph.kernel import errors as e

TAG = "billing"


class ExportFile(BaseModel):
    name: str
    bytes: int


class ExportListing(BaseModel):
    day: str
    rowCount: int | None
    files: list[ExportFile]


class ExportList(BaseModel):
    exports: list[ExportListing]


EXPORT_FILE = RawAnswer(
    ("text/csv", "application/vnd.apache.parquet", "application/json"),
    "the day's CSV, Parquet or signed manifest, as `intelgraph export verify` checks them",
    {"type": "string", "format": "binary"},
)

OPERATIONS: dict[Key, Operation] = {
    ("GET", "/v1/admin/exports"): Operation(
        "Days exported, newest first, with row counts and file sizes", TAG, ExportList
    ),
    ("GET", "/v1/admin/exports/{day}/{file}"): Operation(
        "Download one of a day's files (day as YYYY-MM-DD)",
        TAG,
        EXPORT_FILE,
        errors=(e.VALIDATION, e.EXPORT_NOT_FOUND),
    ),
}
