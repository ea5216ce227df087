"""/v1/er: entity resolution for the caller's tenant (reads: entity.read; changes: admin.write)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, Field, StrictFloat, StrictStr

from intelgraph.api.rest_models.body import RequestBody
from intelgraph.api.rest_models.contract import Key, Operation, RawBody
from intelgraph.api.rest_models.fields import Reason, refuse_null
from intelgraph.kernel import errors as e

TAG = "entity resolution"
_REASON = {"reason": "'reason' must be a string"}
_TYPE = {"type": "'type' is required and must be a string"}

# --- request bodies -------------------------------------------------------------------------


class ReasonBody(RequestBody):
    reason: Reason = None

    problems: ClassVar[dict[str, str]] = _REASON


class SetConfig(RequestBody):
    config: dict[str, Any] | StrictStr = Field(
        description="the comparisons config as a JSON object, or its YAML/JSON text"
    )
    reason: Reason = None

    problems: ClassVar[dict[str, str]] = _REASON | {
        "config": "'config' is required: the comparisons config as a JSON object, or its "
        "YAML/JSON text"
    }


class Split(RequestBody):
    entityIds: list[StrictStr] = Field(min_length=1, description="the entities to split off")
    reason: Reason = None

    problems: ClassVar[dict[str, str]] = _REASON | {
        "entityIds": "'entityIds' must be a non-empty list of entity ids"
    }


class ForType(RequestBody):
    """Names the entity type (train, roll back thresholds)."""

    type: StrictStr = Field(description="the entity type, e.g. PERSON")
    reason: Reason = None

    problems: ClassVar[dict[str, str]] = _REASON | _TYPE


class ProposeThresholds(RequestBody):
    type: StrictStr = Field(description="the entity type, e.g. PERSON")
    autoMerge: StrictFloat = Field(description="match weight from which pairs merge")
    review: StrictFloat = Field(description="match weight from which pairs go to review")
    reason: Reason = None

    problems: ClassVar[dict[str, str]] = (
        _REASON
        | _TYPE
        | {name: f"'{name}' is required and must be a number" for name in ("autoMerge", "review")}
    )


class SuggestThresholds(RequestBody):
    precisionFloor: Annotated[StrictFloat | None, BeforeValidator(refuse_null)] = Field(
        default=None, description="lowest precision to keep, in (0, 1]; default 0.95"
    )
    type: StrictStr = Field(description="the entity type, e.g. PERSON")
    reason: Reason = None

    problems: ClassVar[dict[str, str]] = (
        _REASON | _TYPE | {"precisionFloor": "'precisionFloor' must be a number in (0, 1]"}
    )


GOLDEN_SET = RawBody(
    ("text/csv",),
    "the labelled pairs as CSV (UTF-8); ?name= names the set",
)

# --- query strings --------------------------------------------------------------------------


class VersionQuery(BaseModel):
    version: int | None = Field(default=None, ge=1, description="default: the live version")


class ReviewQuery(BaseModel):
    status: str = Field(default="OPEN", description="OPEN, APPROVED, REJECTED; empty = all")
    type: str | None = None
    limit: int = Field(default=100, ge=1, le=1000)


class TypeQuery(BaseModel):
    type: str | None = Field(default=None, description="the entity type, e.g. PERSON")


class TypeLimitQuery(TypeQuery):
    limit: int = Field(default=100, ge=1, le=1000)


class PairQuery(BaseModel):
    a: str = Field(min_length=1, description="an entity id")
    b: str = Field(min_length=1, description="another entity id")


class GoldenQuery(BaseModel):
    name: str | None = Field(default=None, description="default: golden.csv")


# --- answers: the service's records, described by their envelope -------------------------


class Configs(BaseModel):
    configs: list[dict[str, Any]]


class ConfigAnswer(BaseModel):
    config: dict[str, Any]


class ConfigChange(BaseModel):
    config: dict[str, Any]
    changed: bool
    needsTraining: bool


class ReviewItems(BaseModel):
    items: list[dict[str, Any]]


class ReviewItem(BaseModel):
    item: dict[str, Any]


class Status(BaseModel):
    types: Any


class Resolution(BaseModel):
    resolution: dict[str, Any]


class MergeEvent(BaseModel):
    event: dict[str, Any]


class Models(BaseModel):
    models: list[Any]


class Model(BaseModel):
    model: dict[str, Any]


class ThresholdsHistory(BaseModel):
    thresholds: list[dict[str, Any]]


class Thresholds(BaseModel):
    thresholds: dict[str, Any]


class GoldenSets(BaseModel):
    goldenSets: list[Any]


class GoldenSet(BaseModel):
    goldenSet: Any


class Runs(BaseModel):
    runs: list[dict[str, Any]]


class Alerts(BaseModel):
    alerts: list[dict[str, Any]]


class Record(BaseModel):
    """A record whose fields the service names (a cluster, an explanation, a rollback)."""


# --- the routes -----------------------------------------------------------------------------

_READ = (e.VALIDATION, e.ER_NOT_FOUND, e.ER_FEATURE_DISABLED)
_CHANGE = (*_READ, e.ER_STATE_CONFLICT, e.ER_NO_MODEL, e.ER_SELF_APPROVAL)


def _read(summary: str, answer: type[BaseModel], **more: Any) -> Operation:
    return Operation(summary, TAG, answer, errors=more.pop("errors", _READ), **more)


def _change(summary: str, answer: type[BaseModel], status: int, **more: Any) -> Operation:
    body = more.pop("body", ReasonBody)
    return Operation(summary, TAG, answer, status, body=body, errors=_CHANGE, **more)


OPERATIONS: dict[Key, Operation] = {
    ("GET", "/v1/er/status"): _read("Resolution status of each entity type", Status),
    ("GET", "/v1/er/configs"): _read("The comparisons config of each entity type", Configs),
    ("GET", "/v1/er/configs/{entity_type}"): _read(
        "One type's config (?version=, default the live one), with its document",
        ConfigAnswer,
        query=VersionQuery,
    ),
    ("PUT", "/v1/er/configs/{entity_type}"): _change(
        "Store a new config version for a type (201; 200 when unchanged)",
        ConfigChange,
        201,
        body=SetConfig,
        other_answers={200: (ConfigChange, "the config was already this one")},
    ),
    ("GET", "/v1/er/review"): _read("The review queue", ReviewItems, query=ReviewQuery),
    ("POST", "/v1/er/review/{item_id}/approve"): _change(
        "Approve a pair: merge it", ReviewItem, 200, is_body_required=False
    ),
    ("POST", "/v1/er/review/{item_id}/reject"): _change(
        "Reject a pair: keep it apart", ReviewItem, 200, is_body_required=False
    ),
    ("GET", "/v1/er/entities/{entity_id}/resolution"): _read(
        "An entity's cluster and canonical id",
        Resolution,
        errors=(*_READ, e.ENTITY_NOT_FOUND),
    ),
    ("GET", "/v1/er/clusters/{cluster_id}"): _read("A cluster and its members", Record),
    ("POST", "/v1/er/splits"): _change(
        "Split entities off their cluster", MergeEvent, 201, body=Split
    ),
    ("POST", "/v1/er/merge-events/{event_id}/revert"): _change(
        "Revert a merge or split", MergeEvent, 201, is_body_required=False
    ),
    ("GET", "/v1/er/explain"): _read(
        "Why two entities match or not: the match weight of each comparison",
        Record,
        query=PairQuery,
        errors=(*_READ, e.ENTITY_NOT_FOUND),
    ),
    ("GET", "/v1/er/models"): _read("Trained models", Models, query=TypeQuery),
    ("POST", "/v1/er/models/train"): _change(
        "Train a type's model (m/u by expectation-maximisation)", Model, 201, body=ForType
    ),
    ("GET", "/v1/er/thresholds"): _read(
        "Threshold versions, newest first", ThresholdsHistory, query=TypeQuery
    ),
    ("POST", "/v1/er/thresholds"): _change(
        "Propose thresholds (another admin approves them)",
        Thresholds,
        201,
        body=ProposeThresholds,
    ),
    ("POST", "/v1/er/thresholds/suggest"): _change(
        "Propose thresholds from the last evaluation, at a precision floor",
        Thresholds,
        201,
        body=SuggestThresholds,
    ),
    ("POST", "/v1/er/thresholds/rollback"): _change(
        "Go back to the previous approved thresholds", Record, 200, body=ForType
    ),
    ("POST", "/v1/er/thresholds/{thresholds_id}/approve"): _change(
        "Approve proposed thresholds (not their proposer)",
        Thresholds,
        200,
        is_body_required=False,
    ),
    ("POST", "/v1/er/thresholds/{thresholds_id}/reject"): _change(
        "Reject proposed thresholds", Thresholds, 200, is_body_required=False
    ),
    ("GET", "/v1/er/golden-sets"): _read("Golden sets of labelled pairs", GoldenSets),
    ("POST", "/v1/er/golden-sets"): Operation(
        "Add a golden set (the body is the CSV)",
        TAG,
        GoldenSet,
        201,
        body=GOLDEN_SET,
        query=GoldenQuery,
        errors=_CHANGE,
    ),
    ("GET", "/v1/er/runs"): _read(
        "Evaluation runs: precision, recall, F1", Runs, query=TypeLimitQuery
    ),
    ("GET", "/v1/er/alerts"): _read("Drift alerts", Alerts, query=TypeLimitQuery),
}
