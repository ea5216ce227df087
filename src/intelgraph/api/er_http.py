"""/v1/er: entity resolution for the caller's tenant — configs per entity type, review
queue, clusters, thresholds, golden sets, runs and alerts. Reads need ``entity.read``,
changes ``admin.write`` (a tenant admin key); the tenant always comes from the API key.
Slow calls (training, evaluations) run in the thread pool so the event loop keeps serving."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from intelgraph.api.admin_http import json_object
from intelgraph.api.rest_models.body import parse_body
from intelgraph.api.rest_models.er import (
    ForType,
    ProposeThresholds,
    ReasonBody,
    SetConfig,
    Split,
    SuggestThresholds,
)
from intelgraph.api.rest_models.fields import whole_number
from intelgraph.er.components.thresholds import DEFAULT_PRECISION_FLOOR
from intelgraph.er.engine.config import parse_config_text
from intelgraph.er.service import EntityResolutionService
from intelgraph.http.body import read_limited, require_media_type
from intelgraph.http.responses import JSONResponse
from intelgraph.http.scope import (
    require_principal,
)
from intelgraph.kernel.errors import ENTITY_NOT_FOUND, VALIDATION, IntelGraphError
from intelgraph.kernel.storable import find_unstorable, require_storable
from intelgraph.kernel.tenancy import Principal

MAX_GOLDEN_BYTES = 16 * 1024 * 1024
T = TypeVar("T")


class EntityResolutionApi:
    def __init__(self, er: EntityResolutionService) -> None:
        self.er = er

    def routes(self) -> list[Route]:
        return [
            Route("/v1/er/status", self.status, methods=["GET"]),
            Route("/v1/er/configs", self.list_configs, methods=["GET"]),
            Route("/v1/er/configs/{entity_type}", self.show_config, methods=["GET"]),
            Route("/v1/er/configs/{entity_type}", self.set_config, methods=["PUT"]),
            Route("/v1/er/review", self.list_review, methods=["GET"]),
            Route("/v1/er/review/{item_id}/approve", self.approve_review, methods=["POST"]),
            Route("/v1/er/review/{item_id}/reject", self.reject_review, methods=["POST"]),
            Route("/v1/er/entities/{entity_id}/resolution", self.resolution, methods=["GET"]),
            Route("/v1/er/clusters/{cluster_id}", self.cluster, methods=["GET"]),
            Route("/v1/er/splits", self.split, methods=["POST"]),
            Route("/v1/er/merge-events/{event_id}/revert", self.revert, methods=["POST"]),
            Route("/v1/er/explain", self.explain, methods=["GET"]),
            Route("/v1/er/models", self.list_models, methods=["GET"]),
            Route("/v1/er/models/train", self.train, methods=["POST"]),
            Route("/v1/er/thresholds", self.list_thresholds, methods=["GET"]),
            Route("/v1/er/thresholds", self.propose_thresholds, methods=["POST"]),
            Route("/v1/er/thresholds/suggest", self.suggest_thresholds, methods=["POST"]),
            Route("/v1/er/thresholds/rollback", self.rollback_thresholds, methods=["POST"]),
            Route("/v1/er/thresholds/{thresholds_id}/approve", self.approve, methods=["POST"]),
            Route("/v1/er/thresholds/{thresholds_id}/reject", self.reject, methods=["POST"]),
            Route("/v1/er/golden-sets", self.list_golden, methods=["GET"]),
            Route("/v1/er/golden-sets", self.add_golden, methods=["POST"]),
            Route("/v1/er/runs", self.list_runs, methods=["GET"]),
            Route("/v1/er/alerts", self.list_alerts, methods=["GET"]),
        ]

    # --- configs per entity type ------------------------------------------------------------

    async def list_configs(self, request: Request) -> Response:
        found = self.er.configs.listing(_principal(request))
        return JSONResponse({"configs": [c.as_dict() for c in found]})

    async def show_config(self, request: Request) -> Response:
        raw = request.query_params.get("version")
        version = None if raw is None else whole_number(raw, 1)
        if raw is not None and version is None:
            raise IntelGraphError(VALIDATION, "?version= must be a whole number from 1")
        found = self.er.configs.get(
            _principal(request),
            request.path_params["entity_type"],
            version,
        )
        return JSONResponse({"config": found.as_dict(with_document=True)})

    async def set_config(self, request: Request) -> Response:
        """Body: ``{"config": <the config as an object, or its YAML/JSON text>, "reason"}``."""
        body = parse_body(SetConfig, await json_object(request))
        given = body.config
        if isinstance(given, dict):
            document = orjson.dumps(given, option=orjson.OPT_INDENT_2).decode()
        else:
            document = given
            _require_storable_config(document, request.path_params["entity_type"])
        entity_type = request.path_params["entity_type"]
        change = self.er.configs.set(
            _principal(request),
            document,
            entity_type=entity_type,
            reason=body.reason,
            source=f"for {entity_type.upper()}",
        )
        return JSONResponse(
            {
                "config": change.config.as_dict(),
                "changed": change.is_changed,
                "needsTraining": change.needs_training,
            },
            status_code=201 if change.is_changed else 200,
        )

    # --- review queue ----------------------------------------------------------------------

    async def list_review(self, request: Request) -> Response:
        items = self.er.clustering.review_items(
            _principal(request),
            status=request.query_params.get("status", "OPEN") or None,
            entity_type=request.query_params.get("type"),
            limit=_limit(request),
        )
        return JSONResponse({"items": [item.as_dict() for item in items]})

    async def approve_review(self, request: Request) -> Response:
        body = parse_body(ReasonBody, await json_object(request, required=False))
        item = await _pool(
            self.er.clustering.approve_review,
            _principal(request),
            request.path_params["item_id"],
            reason=body.reason,
        )
        return JSONResponse({"item": item.as_dict()})

    async def reject_review(self, request: Request) -> Response:
        body = parse_body(ReasonBody, await json_object(request, required=False))
        item = self.er.clustering.reject_review(
            _principal(request), request.path_params["item_id"], reason=body.reason
        )
        return JSONResponse({"item": item.as_dict()})

    # --- clusters ----------------------------------------------------------------------

    async def status(self, request: Request) -> Response:
        return JSONResponse({"types": self.er.resolution.tenant_status(_principal(request))})

    async def resolution(self, request: Request) -> Response:
        entity_id = request.path_params["entity_id"]
        found = self.er.resolution.resolution_of(_principal(request), entity_id)
        if found is None:
            raise IntelGraphError(
                ENTITY_NOT_FOUND,
                f"no entity of a type this tenant resolves with id {entity_id!r}",
                {"id": entity_id},
            )
        return JSONResponse({"resolution": found.as_dict()})

    async def cluster(self, request: Request) -> Response:
        return JSONResponse(
            self.er.clustering.cluster(_principal(request), request.path_params["cluster_id"])
        )

    async def split(self, request: Request) -> Response:
        body = parse_body(Split, await json_object(request))
        event = await _pool(
            self.er.clustering.split, _principal(request), list(body.entityIds), reason=body.reason
        )
        return JSONResponse({"event": event.as_dict()}, status_code=201)

    async def revert(self, request: Request) -> Response:
        body = parse_body(ReasonBody, await json_object(request, required=False))
        event = await _pool(
            self.er.clustering.revert,
            _principal(request),
            request.path_params["event_id"],
            reason=body.reason,
        )
        return JSONResponse({"event": event.as_dict()}, status_code=201)

    async def explain(self, request: Request) -> Response:
        a, b = request.query_params.get("a"), request.query_params.get("b")
        if not a or not b:
            raise IntelGraphError(VALIDATION, "give the two entity ids as ?a=…&b=…")
        found = await _pool(self.er.resolution.explain_match, _principal(request), a, b)
        return JSONResponse(found.as_dict())

    # --- models ----------------------------------------------------------------------------

    async def list_models(self, request: Request) -> Response:
        models = self.er.training.models(_principal(request), request.query_params.get("type"))
        return JSONResponse({"models": models})

    async def train(self, request: Request) -> Response:
        body = parse_body(ForType, await json_object(request))
        trained = await _pool(
            self.er.training.train, _principal(request), body.type, reason=body.reason
        )
        return JSONResponse({"model": trained.as_dict()}, status_code=201)

    # --- thresholds ------------------------------------------------------------------------

    async def list_thresholds(self, request: Request) -> Response:
        records = self.er.thresholds.history(_principal(request), request.query_params.get("type"))
        return JSONResponse({"thresholds": [r.as_dict() for r in records]})

    async def propose_thresholds(self, request: Request) -> Response:
        body = parse_body(ProposeThresholds, await json_object(request))
        record = self.er.thresholds.propose(
            _principal(request),
            body.type,
            auto_merge=body.autoMerge,
            review=body.review,
            reason=body.reason,
        )
        return JSONResponse({"thresholds": record.as_dict()}, status_code=201)

    async def suggest_thresholds(self, request: Request) -> Response:
        body = parse_body(SuggestThresholds, await json_object(request))
        floor = body.precisionFloor
        record = await _pool(
            self.er.thresholds.suggest,
            _principal(request),
            body.type,
            precision_floor=DEFAULT_PRECISION_FLOOR if floor is None else floor,
            reason=body.reason,
        )
        return JSONResponse({"thresholds": record.as_dict()}, status_code=201)

    async def approve(self, request: Request) -> Response:
        body = parse_body(ReasonBody, await json_object(request, required=False))
        record = await _pool(
            self.er.thresholds.approve,
            _principal(request),
            request.path_params["thresholds_id"],
            reason=body.reason,
        )
        return JSONResponse({"thresholds": record.as_dict()})

    async def reject(self, request: Request) -> Response:
        body = parse_body(ReasonBody, await json_object(request, required=False))
        record = self.er.thresholds.reject(
            _principal(request), request.path_params["thresholds_id"], reason=body.reason
        )
        return JSONResponse({"thresholds": record.as_dict()})

    async def rollback_thresholds(self, request: Request) -> Response:
        body = parse_body(ForType, await json_object(request))
        done = self.er.thresholds.rollback(_principal(request), body.type, reason=body.reason)
        return JSONResponse(done.as_dict())

    # --- golden sets, runs, alerts ---------------------------------------------------------

    async def list_golden(self, request: Request) -> Response:
        return JSONResponse({"goldenSets": self.er.evaluation.golden_sets(_principal(request))})

    async def add_golden(self, request: Request) -> Response:
        """The body is the CSV itself (text/csv); ``?name=`` names the set."""
        require_media_type(request, ("text/csv",))
        raw = await read_limited(request, MAX_GOLDEN_BYTES)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise IntelGraphError(VALIDATION, f"the golden set is not UTF-8 text: {exc}") from None
        require_storable(text, ("body",))
        name = request.query_params.get("name") or "golden.csv"
        added = self.er.evaluation.add_golden_set(_principal(request), text, name=name)
        return JSONResponse({"goldenSet": added}, status_code=201)

    async def list_runs(self, request: Request) -> Response:
        runs = self.er.evaluation.runs(
            _principal(request), request.query_params.get("type"), _limit(request)
        )
        return JSONResponse({"runs": [r.as_dict() for r in runs]})

    async def list_alerts(self, request: Request) -> Response:
        found = self.er.drift.alerts(
            _principal(request), request.query_params.get("type"), _limit(request)
        )
        return JSONResponse({"alerts": [a.as_dict() for a in found]})


def _require_storable_config(document: str, entity_type: str) -> None:
    """Refuse UNSTORABLE_VALUE naming the field when the parsed config holds what no store
    keeps: YAML escapes (``"\\0"``, ``"\\x00"``) make U+0000 out of storable text. The
    validated config is walked, not the raw YAML: its aliases could repeat a node at will."""
    config = parse_config_text(document, source=f"for {entity_type.upper()}")
    found = find_unstorable(config.model_dump(mode="json"), ("config",))
    if found is not None:
        raise found.to_error()


def _principal(request: Request) -> Principal:
    principal: Principal = require_principal(request.scope)
    return principal


async def _pool(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await run_in_threadpool(function, *args, **kwargs)


def _limit(request: Request) -> int:
    limit = whole_number(request.query_params.get("limit", "100"), 1, 1000)
    if limit is None:
        raise IntelGraphError(VALIDATION, "?limit= must be a whole number from 1 to 1000")
    return limit
