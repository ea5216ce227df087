"""POST /graphql (and the GraphiQL page)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from intelgraph.api.context import RequestContext
from intelgraph.api.executor import GraphQLExecutor
from intelgraph.api.http_body import read_limited, require_media_type
from intelgraph.api.responses import JSONResponse
from intelgraph.gateway.authn import PRINCIPAL
from intelgraph.graph.service import GraphService
from intelgraph.kernel.errors import MALFORMED_REQUEST, IntelGraphError

MAX_GRAPHQL_BODY = 1_000_000


class GraphQLEndpoint:
    def __init__(self, executor: GraphQLExecutor, graph: GraphService) -> None:
        self.executor = executor
        self.graph = graph

    async def handle(self, request: Request) -> Response:
        require_media_type(request, ("application/json", "application/graphql-response+json"))
        raw = await read_limited(request, MAX_GRAPHQL_BODY)
        query, variables, operation_name = parse_graphql_body(raw)
        prepared = self.executor.prepare(query)
        context = RequestContext(principal=request.scope[PRINCIPAL], graph=self.graph)
        outcome = self.executor.execute(prepared, variables, operation_name, context)
        request.scope["state"]["operation"] = outcome.operation_label
        return JSONResponse(outcome.body, status_code=outcome.status)


def parse_graphql_body(raw: bytes) -> tuple[str, dict[str, Any] | None, str | None]:
    """(query, variables, operationName) of a GraphQL-over-HTTP JSON body.

    Raises MALFORMED_REQUEST naming the field that is wrong.
    """
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise IntelGraphError(MALFORMED_REQUEST, f"the body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise IntelGraphError(MALFORMED_REQUEST, "the body must be a JSON object with 'query'")
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise IntelGraphError(MALFORMED_REQUEST, "'query' must be a non-empty string")
    variables = body.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise IntelGraphError(MALFORMED_REQUEST, "'variables' must be a JSON object")
    operation_name = body.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise IntelGraphError(MALFORMED_REQUEST, "'operationName' must be a string")
    return query, variables, operation_name


GRAPHIQL_PAGE = """<!doctype html>
<html><head><title>IntelGraph GraphiQL</title>
<link rel="stylesheet" href="https://unpkg.com/graphiql@3/graphiql.min.css"/></head>
<body style="margin:0"><div id="graphiql" style="height:100vh"></div>
<script crossorigin src="https://unpkg.com/react@18/umd/react.production.min.js"></script>
<script crossorigin src="https://unpkg.com/react-dom@18/umd/react-dom.production.min.js"></script>
<script crossorigin src="https://unpkg.com/graphiql@3/graphiql.min.js"></script>
<script>
const fetcher = GraphiQL.createFetcher({url: '/graphql'});
ReactDOM.createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, {fetcher, defaultEditorToolsVisibility: 'headers',
    defaultHeaders: '{"Authorization": "Bearer <paste your API key>"}',
    defaultQuery: '{ searchEntities(q: "a", limit: 5) { total items { id label type } } }'}));
</script></body></html>"""


async def graphiql(_: Request) -> Response:
    return HTMLResponse(GRAPHIQL_PAGE)
