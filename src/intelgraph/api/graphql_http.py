"""POST /graphql (and the GraphiQL page)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from email.utils import format_datetime
from string import Template
from typing import Any

from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response

from intelgraph.api.budget import BudgetLimits, RequestBudget
from intelgraph.api.context import RequestContext
from intelgraph.api.deprecations import deprecations
from intelgraph.api.executor import GraphQLExecutor, PreparedDocument
from intelgraph.api.limits import check_introspection
from intelgraph.api.off_loop import OffLoopRunner
from intelgraph.api.rewrite import Rewrite, rewrite_document
from intelgraph.api.tenant_concurrency import TenantConcurrency
from intelgraph.audit import service as audit
from intelgraph.edgecache.service import EdgeCache
from intelgraph.er.service import EntityResolutionService
from intelgraph.graph.service import GraphService
from intelgraph.http.body import read_limited, require_media_type
from intelgraph.http.graphql_request import (
    GRAPHQL_RESPONSE,
    MAX_GRAPHQL_BODY,
    GraphQLRequest,
    from_json_body,
    from_query_params,
)
from intelgraph.http.responses import JSONResponse
from intelgraph.http.scope import (
    api_version_of,
    require_principal,
)
from intelgraph.kernel.clock import Clock, isoformat
from intelgraph.kernel.errors import (
    OPERATION_NOT_SAFELISTED,
    PERSISTED_QUERY_HASH_MISMATCH,
    PERSISTED_QUERY_LIMIT,
    PERSISTED_QUERY_NOT_FOUND,
    PERSISTED_QUERY_NOT_SUPPORTED,
    POLICY_DENIED,
    IntelGraphError,
)
from intelgraph.kernel.tenancy import Principal
from intelgraph.metering.billable import is_resend_request, mark_unbilled
from intelgraph.obs.metrics import Metrics
from intelgraph.persisted.registry import (
    PLATFORM,
    PersistedOperation,
    PersistedQueryRegistry,
    document_sha256,
)
from intelgraph.web.assets import asset_url

DEPRECATIONS_DOC = "/docs/api/deprecations.md"
REWRITE_CACHE_SIZE = 4096
# For an endpoint built without settings (benches); the app passes the configured values.
DEFAULT_BUDGET = BudgetLimits(timeout_seconds=10.0, max_response_bytes=10 * 1024 * 1024)
DEFAULT_THREADS = 16


@dataclass(frozen=True)
class ResolvedDocument:
    """The document a request runs; ``needs_registration``: APQ text to register once it
    has parsed and validated (``register_apq``)."""

    text: str
    sha256: str
    persisted: PersistedOperation | None
    needs_registration: bool = False


class GraphQLEndpoint:
    """POST and GET /graphql: version, persisted queries, safelists, deprecations."""

    def __init__(
        self,
        executors: dict[str, GraphQLExecutor],
        graph: GraphService,
        registry: PersistedQueryRegistry,
        engine: Engine,
        clock: Clock,
        metrics: Metrics,
        ingest_quota: Callable[[Principal, int], object],
        er: EntityResolutionService | None = None,
        edge_cache: EdgeCache | None = None,
        *,
        budget_limits: BudgetLimits = DEFAULT_BUDGET,
        off_loop: OffLoopRunner | None = None,
    ) -> None:
        self.executors = executors
        self.graph = graph
        self.registry = registry
        self.engine = engine
        self.clock = clock
        self.metrics = metrics
        self.ingest_quota = ingest_quota
        self.er = er
        self.edge_cache = edge_cache
        self._rewrites: dict[str, Rewrite] = {}
        self.budget_limits = budget_limits
        self.off_loop = off_loop or OffLoopRunner(DEFAULT_THREADS, TenantConcurrency(0))

    async def handle(self, request: Request) -> Response:
        """Read the request on the loop; answer it in a worker thread, within its budget."""
        budget = RequestBudget(self.budget_limits, self.clock.monotonic)
        if request.method == "GET":
            graphql_request = from_query_params(dict(request.query_params))
        else:
            require_media_type(request, ("application/json", GRAPHQL_RESPONSE))
            graphql_request = from_json_body(await read_limited(request, MAX_GRAPHQL_BODY))
        principal: Principal = require_principal(request.scope)
        answer = functools.partial(
            self._answer,
            graphql_request,
            principal,
            api_version_of(request.scope),
            budget,
            allow_mutation=request.method != "GET",
            wants_graphql_response=wants_graphql_response(request),
        )
        # Parsing, validation, limits, execution and encoding are CPU-bound (ADR 012).
        tenant = principal.tenant_id or PLATFORM
        try:
            response, operation = await self.off_loop.run(tenant, answer, budget, request.receive)
        except IntelGraphError as err:
            if is_resend_request(err.error):  # the client resends with the text: bill that
                mark_unbilled(request.scope)
            raise
        request.scope["state"]["operation"] = operation
        return response

    def _answer(
        self,
        graphql_request: GraphQLRequest,
        principal: Principal,
        version: str,
        budget: RequestBudget,
        *,
        allow_mutation: bool,
        wants_graphql_response: bool,
    ) -> tuple[Response, str]:
        """The response and operation label of one request (runs in a worker thread)."""
        document = self.resolve_document(principal, graphql_request)
        executor = self.executors[version]
        prepared = executor.prepare(document.text, document.sha256)
        check_introspection(prepared, principal)  # per request: prepared documents are shared
        self.register_apq(principal, document, prepared)
        context = RequestContext(
            principal=principal,
            graph=self.graph,
            er=self.er,
            api_version=version,
            charge_ingest=functools.partial(self.ingest_quota, principal),
            edge_cache=self.edge_cache,
        )
        outcome = executor.execute(
            prepared,
            graphql_request.variables,
            graphql_request.operation_name,
            context,
            allow_mutation=allow_mutation,
            budget=budget,
        )
        headers: dict[str, str] = {}
        if context.deprecated_fields_used:
            self._report_deprecations(principal, context, outcome.body, headers)
            self._offer_rewrite(principal, executor, document, outcome.body, headers)
        response = JSONResponse(outcome.body, status_code=outcome.status, headers=headers)
        if not budget.is_committing:  # the field count is an estimate; the encoding is exact
            budget.check_size(len(response.body))
        if wants_graphql_response:
            response.headers["content-type"] = GRAPHQL_RESPONSE
        return response, outcome.operation_label

    def resolve_document(self, principal: Principal, request: GraphQLRequest) -> ResolvedDocument:
        """The document to run, from text or the registry; enforces safelist mode and roles.

        Raises PERSISTED_QUERY_NOT_FOUND, PERSISTED_QUERY_NOT_SUPPORTED (an unknown APQ hash
        for a tenant with APQ off), PERSISTED_QUERY_HASH_MISMATCH,
        OPERATION_NOT_SAFELISTED (audited) or POLICY_DENIED.
        """
        tenant_id = principal.tenant_id or PLATFORM
        persisted: PersistedOperation | None
        if request.operation_id is not None:
            persisted = self.registry.find_by_id(tenant_id, request.operation_id)
            if persisted is None:
                raise _not_found(f"no persisted operation {request.operation_id!r}")
        elif request.document_id is not None:
            persisted = self.registry.find_by_hash(tenant_id, request.document_id)
            if persisted is None:
                raise _not_found(f"no persisted document sha256:{request.document_id}")
        elif request.apq_hash is not None:
            persisted = self.registry.find_by_hash(tenant_id, request.apq_hash)
            if request.query is not None and document_sha256(request.query) != request.apq_hash:
                raise IntelGraphError(
                    PERSISTED_QUERY_HASH_MISMATCH,
                    "extensions.persistedQuery.sha256Hash is not the sha256 of 'query'",
                )
            if persisted is None and request.query is None:
                raise _apq_not_found() if principal.allows_apq else _apq_not_supported()
            if persisted is None and principal.allows_apq and not principal.is_safelisted:
                assert request.query is not None
                return ResolvedDocument(request.query, request.apq_hash, None, True)
        else:
            assert request.query is not None
            sha = document_sha256(request.query)
            persisted = (
                self.registry.find_by_hash(tenant_id, sha) if principal.is_safelisted else None
            )
            if persisted is None:
                self._require_not_safelisted(principal, sha)
                return ResolvedDocument(request.query, sha, None)
        if persisted is None:
            assert request.query is not None
            sha = document_sha256(request.query)
            self._require_not_safelisted(principal, sha)
            return ResolvedDocument(request.query, sha, None)
        if not persisted.allows(principal.roles):
            raise IntelGraphError(
                POLICY_DENIED,
                f"operation {persisted.operation_id or persisted.sha256} is registered for "
                f"roles {', '.join(persisted.roles)} only",
                {"action": "entity.read"},
            )
        return ResolvedDocument(persisted.document, persisted.sha256, persisted)

    def register_apq(
        self, principal: Principal, document: ResolvedDocument, prepared: PreparedDocument
    ) -> None:
        """Register APQ text that ``prepared`` shows parsed and validated for this request's
        API version; a no-op for other documents. Raises PERSISTED_QUERY_LIMIT when full."""
        if document.needs_registration and prepared.sha256 == document.sha256:
            self.registry.register_served(principal.tenant_id, document.text, origin="apq")

    def _require_not_safelisted(self, principal: Principal, sha: str) -> None:
        if not principal.is_safelisted:
            return
        audit.record_now(
            self.engine,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            action="graphql.not_safelisted",
            target=f"sha256:{sha}",
            at=self.clock.now(),
        )
        raise IntelGraphError(
            OPERATION_NOT_SAFELISTED,
            "this tenant runs registered operations only: send an operationId or documentId "
            "of a registered operation, or ask an operator to register this one",
            {"documentId": f"sha256:{sha}"},
        )

    def _report_deprecations(
        self,
        principal: Principal,
        context: RequestContext,
        body: dict[str, Any],
        headers: dict[str, str],
    ) -> None:
        known = deprecations()
        used = sorted(context.deprecated_fields_used)
        records = [known[field] for field in used]
        deprecated_at = min(record.deprecatedAt for record in records)
        sunset = min(record.sunset for record in records)
        headers["Deprecation"] = f"@{int(deprecated_at.timestamp())}"
        headers["Sunset"] = format_datetime(sunset.astimezone(UTC), usegmt=True)
        headers["Link"] = ", ".join(
            f'<{DEPRECATIONS_DOC}#{field}>; rel="deprecation"' for field in used
        )
        body.setdefault("extensions", {})["deprecations"] = [
            {
                "field": field,
                "replacement": known[field].replacement,
                "sunset": isoformat(known[field].sunset),
            }
            for field in used
        ]
        tenant = principal.tenant_id or "operator"
        for field in used:
            self.metrics.deprecated_field_usage.labels(field, tenant).inc()

    def _offer_rewrite(
        self,
        principal: Principal,
        executor: GraphQLExecutor,
        document: ResolvedDocument,
        body: dict[str, Any],
        headers: dict[str, str],
    ) -> None:
        """Hint the same operation on the replacements, registered so the client can switch."""
        rewrite = self._rewrites.get(document.sha256)
        if rewrite is None:
            rewrite = rewrite_document(executor.schema, document.text)
            if len(self._rewrites) >= REWRITE_CACHE_SIZE:
                self._rewrites.clear()
            self._rewrites[document.sha256] = rewrite
        if not rewrite.is_rewritten or rewrite.document is None:
            return
        # The rewrite is as restricted as the operation it came from.
        roles = document.persisted.roles if document.persisted is not None else ()
        try:
            registered = self.registry.register_served(
                principal.tenant_id, rewrite.document, roles=roles, origin="rewrite"
            )
        except IntelGraphError as err:  # a full tenant still gets its answer, without a hint
            if err.error is not PERSISTED_QUERY_LIMIT:
                raise
            return
        body.setdefault("extensions", {})["rewriteHint"] = {
            "documentId": f"sha256:{registered.sha256}",
            "document": registered.document,
        }
        headers["X-IG-Rewrite-Hint"] = f"sha256:{registered.sha256}"


def wants_graphql_response(request: Request) -> bool:
    """Whether a /graphql client accepts ``application/graphql-response+json``."""
    return request.url.path == "/graphql" and GRAPHQL_RESPONSE in request.headers.get("accept", "")


def _not_found(message: str) -> IntelGraphError:
    return IntelGraphError(PERSISTED_QUERY_NOT_FOUND, message)


# APQ answers carry Apollo's exact messages: urql matches the message alone, Apollo Client
# the message or the code. What to do is in the extensions.
def _apq_not_found() -> IntelGraphError:
    return IntelGraphError(
        PERSISTED_QUERY_NOT_FOUND,
        "PersistedQueryNotFound",
        {"hint": "resend with the full query text; it is registered once it validates"},
    )


def _apq_not_supported() -> IntelGraphError:
    return IntelGraphError(
        PERSISTED_QUERY_NOT_SUPPORTED,
        "PersistedQueryNotSupported",
        {
            "hint": "this tenant has automatic persisted queries off: send the query text, "
            "without extensions.persistedQuery",
            "allowsApq": False,
        },
    )


GRAPHIQL_PAGE = Template("""<!doctype html>
<html><head><title>IntelGraph GraphiQL</title>
<link rel="stylesheet" href="$graphiql_css"/></head>
<body style="margin:0"><div id="graphiql" style="height:100vh"></div>
<script src="$react_js"></script>
<script src="$react_dom_js"></script>
<script src="$graphiql_js"></script>
<script>
const fetcher = GraphiQL.createFetcher({url: '/graphql'});
ReactDOM.createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, {fetcher, defaultEditorToolsVisibility: 'headers',
    defaultHeaders: '{"Authorization": "Bearer <paste your API key>"}',
    defaultQuery: '{ searchEntities(q: "a", limit: 5) { total items { id label type } } }'}));
</script></body></html>""")


@functools.cache
def graphiql_page() -> str:
    """The GraphiQL page; every asset it loads is served by the service (air-gapped sites)."""
    return GRAPHIQL_PAGE.substitute(
        graphiql_css=asset_url("graphiql.css"),
        react_js=asset_url("react.js"),
        react_dom_js=asset_url("react-dom.js"),
        graphiql_js=asset_url("graphiql.js"),
    )


async def graphiql(_: Request) -> Response:
    return HTMLResponse(graphiql_page())


async def deprecations_page(_: Request) -> Response:
    """The deprecation list the ``Link`` header points at, rendered from the data file."""
    return PlainTextResponse(deprecations_markdown(), media_type="text/markdown")


def deprecations_markdown() -> str:
    """docs/api/deprecations.md: one section per deprecated field, each after an anchor
    whose id is the field (``#Entity.name``, the ``Link`` header's fragment): a heading's
    own slug would drop the dot, and GitHub's slugs differ from other renderers'."""
    lines = [
        "# Deprecated API fields",
        "",
        "A response that executed one of these fields carries `Deprecation`, `Sunset` and",
        "`Link` headers and `extensions.deprecations`. Fields inside a skipped",
        "`@include(if: false)` / `@skip(if: true)` branch are not executed and not reported.",
        "The field keeps working unchanged until its sunset. Each response that used one also",
        "carries `extensions.rewriteHint`: the same operation rewritten to the replacements.",
        "",
    ]
    for field, record in sorted(deprecations().items()):
        lines += [
            f'<a id="{field}"></a>',
            "",
            f"## {field}",
            "",
            f"- replacement: `{record.replacement}`",
            f"- deprecated: {isoformat(record.deprecatedAt)}",
            f"- sunset: {isoformat(record.sunset)}",
            f"- why: {record.reason}",
            "",
        ]
    return "\n".join(lines)
