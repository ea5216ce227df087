"""The OpenAPI 3.1 document of the HTTP API, built from the app's routes.

Each Starlette ``Route`` and method is looked up in the declarations of
``api/rest_models`` (``OPERATIONS``); the schemas are those pydantic models' JSON schemas, so
the document shows what the handlers validate with. Every error answer is the one shape of
``kernel/errors.py``; each operation lists, per status, the codes it can answer: its own and
those of the gateway stages and body reading every such route goes through.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.routing import BaseRoute, Route

from intelgraph.api.rest_models.contract import Key, Operation, RawAnswer, RawBody
from intelgraph.api.rest_models.errors import ErrorResponse
from intelgraph.kernel import errors as e
from intelgraph.kernel.errors import ErrorCode

OPENAPI_VERSION = "3.1.0"
REF = "#/components/schemas/{model}"
SECURITY_SCHEME = "apiKey"

# What every request can be answered by the outermost stages, before any route runs.
EVERY_REQUEST: tuple[ErrorCode, ...] = (
    e.URI_TOO_LONG,
    e.HEADERS_TOO_LARGE,
    e.UNSTORABLE_VALUE,
    e.INTERNAL,
)
# Authentication, version negotiation and the tenant's quotas (gateway/).
AUTHENTICATED: tuple[ErrorCode, ...] = (
    e.AUTH_MISSING_KEY,
    e.AUTH_INVALID_KEY,
    e.TENANT_SUSPENDED,
    e.UNSUPPORTED_API_VERSION,
    e.QUOTA_EXCEEDED,
    e.EGRESS_LIMIT_EXCEEDED,
)
# Reading a body (http/body.py): its size, encoding, media type, JSON and storability.
RAW_BODY: tuple[ErrorCode, ...] = (
    e.UNSUPPORTED_MEDIA_TYPE,
    e.PAYLOAD_TOO_LARGE,
    e.MALFORMED_REQUEST,
    e.UNSTORABLE_VALUE,
)
JSON_BODY: tuple[ErrorCode, ...] = (*RAW_BODY, e.VALIDATION)


def undocumented_routes(
    routes: Iterable[BaseRoute], operations: Mapping[Key, Operation]
) -> list[Key]:
    """The (method, path) of every route that has no declaration in ``operations``."""
    return [key for key in _route_keys(routes) if key not in operations]


def build_document(
    routes: Iterable[BaseRoute], operations: Mapping[Key, Operation]
) -> dict[str, Any]:
    """The OpenAPI document of ``routes`` (those without a declaration are left out)."""
    keys = [key for key in _route_keys(routes) if key in operations]
    schemas, refs = _component_schemas(operations[key] for key in keys)
    paths: dict[str, dict[str, Any]] = {}
    for method, path in keys:
        paths.setdefault(path, {})[method.lower()] = _operation(
            method, path, operations[(method, path)], refs
        )
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "IntelGraph HTTP API",
            "version": _package_version(),
            "description": (
                "REST routes of the IntelGraph service. Send your API key as "
                "`Authorization: Bearer <key>` (a tenant key, or the operator key for "
                "platform administration). Every error has one shape: "
                '`{"errors": [{"message", "extensions": {"code", "category", "retryable"}}]}`; '
                "each operation lists the codes it can answer by status."
            ),
        },
        "security": [{SECURITY_SCHEME: []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a tenant API key (igk_…) or the operator key (igo_…)",
                }
            },
        },
    }


def error_codes(operation: Operation, *, has_path_parameters: bool) -> list[ErrorCode]:
    """Every code ``operation`` can answer, its own first, each once."""
    found: list[ErrorCode] = [*operation.errors, *EVERY_REQUEST]
    if not operation.is_public:
        found += AUTHENTICATED
    if operation.is_policy_checked:
        found.append(e.POLICY_DENIED)
    if isinstance(operation.body, RawBody):
        found += RAW_BODY
    elif operation.body is not None:
        found += JSON_BODY
    if operation.query is not None or operation.headers is not None:
        found.append(e.VALIDATION)
    if has_path_parameters:
        found.append(e.ROUTE_NOT_FOUND)  # a parameter of "." or ".." names another path
    return list(dict.fromkeys(found))


def _route_keys(routes: Iterable[BaseRoute]) -> list[Key]:
    keys: list[Key] = []
    for route in routes:
        if not isinstance(route, Route):
            continue  # a Mount (static assets) is files, not operations
        for method in sorted(route.methods or {"GET"}):
            if method != "HEAD":  # Starlette adds HEAD to every GET
                keys.append((method, route.path))
    return keys


Refs = dict[type[BaseModel], dict[str, Any]]
"""Each model's ``$ref`` into components/schemas."""


def _operation(method: str, path: str, operation: Operation, refs: Refs) -> dict[str, Any]:
    path_names = _path_parameters(path)
    found: dict[str, Any] = {
        "operationId": _operation_id(method, path),
        "summary": operation.summary,
        "tags": [operation.tag],
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in path_names
        ]
        + _parameters(operation.query, "query")
        + _parameters(operation.headers, "header"),
        "responses": _responses(operation, refs, has_path_parameters=bool(path_names)),
    }
    if operation.is_public:
        found["security"] = []
    if operation.body is not None:
        found["requestBody"] = _request_body(operation, refs)
    return found


def _request_body(operation: Operation, refs: Refs) -> dict[str, Any]:
    body = operation.body
    if isinstance(body, RawBody):
        content = {media: {"schema": {"type": "string"}} for media in body.media_types}
        return {"required": True, "description": body.description, "content": content}
    assert body is not None
    return {
        "required": operation.is_body_required,
        "content": {"application/json": {"schema": refs[body]}},
    }


def _responses(operation: Operation, refs: Refs, *, has_path_parameters: bool) -> dict[str, Any]:
    responses = {str(operation.status): _answer(operation.answer, "success", refs)}
    for status, (model, description) in operation.other_answers.items():
        responses[str(status)] = _answer(model, description, refs)
    by_status: dict[int, list[ErrorCode]] = {}
    for code in error_codes(operation, has_path_parameters=has_path_parameters):
        by_status.setdefault(code.http_status, []).append(code)
    for status, codes in sorted(by_status.items()):
        responses[str(status)] = _error_answer(codes, refs)
    return responses


def _answer(
    answer: type[BaseModel] | RawAnswer | None, description: str, refs: Refs
) -> dict[str, Any]:
    if answer is None:
        return {"description": f"{description}: no content"}
    if isinstance(answer, RawAnswer):
        return {
            "description": f"{description}: {answer.description}",
            "content": {media: {"schema": answer.schema} for media in answer.media_types},
        }
    return {
        "description": f"{description}: {_first_line(answer)}",
        "content": {"application/json": {"schema": refs[answer]}},
    }


def _error_answer(codes: Sequence[ErrorCode], refs: Refs) -> dict[str, Any]:
    names = [code.code for code in codes]
    code_schema = {"properties": {"extensions": {"properties": {"code": {"enum": names}}}}}
    return {
        "description": f"{codes[0].category.value}: {', '.join(names)}",
        "x-error-codes": names,
        "content": {
            "application/json": {
                "schema": {
                    "allOf": [
                        refs[ErrorResponse],
                        {"properties": {"errors": {"items": code_schema}}},
                    ]
                }
            }
        },
    }


def _parameters(
    model: type[BaseModel] | None, where: Literal["query", "header"]
) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", []))
    found = []
    for name, prop in schema.get("properties", {}).items():
        prop = _without_null(prop)
        parameter: dict[str, Any] = {"name": name, "in": where, "required": name in required}
        description = prop.pop("description", None)
        prop.pop("title", None)
        if description:
            parameter["description"] = description
        parameter["schema"] = prop
        found.append(parameter)
    return found


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter is absent or text: ``anyOf [X, null]`` (an Optional field) becomes X."""
    schema = copy.deepcopy(schema)
    options = schema.get("anyOf")
    if options is not None:
        kept = [option for option in options if option.get("type") != "null"]
        if len(kept) == 1:
            del schema["anyOf"]
            schema = {**kept[0], **schema}
    return schema


def _component_schemas(operations: Iterable[Operation]) -> tuple[dict[str, Any], Refs]:
    """The schemas of every body and answer model, and each model's ``$ref``."""
    models: dict[type[BaseModel], Literal["validation", "serialization"]] = {
        ErrorResponse: "serialization"
    }
    for operation in operations:
        if isinstance(operation.body, type):
            models[operation.body] = "validation"
        answers = [operation.answer, *(model for model, _ in operation.other_answers.values())]
        for answer in answers:
            if isinstance(answer, type):
                models.setdefault(answer, "serialization")
    by_model, top = models_json_schema(list(models.items()), ref_template=REF)
    refs = {model: dict(by_model[(model, mode)]) for model, mode in models.items()}
    schemas: dict[str, Any] = top.get("$defs", {})
    return schemas, refs


def _path_parameters(path: str) -> list[str]:
    return [part[1:-1].split(":")[0] for part in path.split("/") if part.startswith("{")]


def _operation_id(method: str, path: str) -> str:
    words = [part.strip("{}").replace("-", "_").replace(".", "_") for part in path.split("/")]
    return "_".join([method.lower(), *(word for word in words if word)])


def _first_line(model: type[BaseModel]) -> str:
    doc = (model.__doc__ or model.__name__).strip().splitlines()[0]
    return doc


def _package_version() -> str:
    try:
        return metadata.version("intelgraph")
    except metadata.PackageNotFoundError:
        return "0.0.0"
