"""GraphQL execution with a cache of parsed and validated documents keyed by sha256."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    MiddlewareManager,
    OperationDefinitionNode,
    OperationType,
    execute_sync,
    validate,
)
from graphql.execution.values import VariableValues, get_variable_values

from intelgraph.api.budget import BudgetExhausted, RequestBudget
from intelgraph.api.compiled import CompiledPlan, compile_plan
from intelgraph.api.limits import (
    DocumentFigures,
    QueryLimits,
    check_cost,
    check_depth,
    check_structure,
    cost_reads_variables,
    measure_document,
    parse_document,
)
from intelgraph.kernel.errors import (
    GRAPHQL_VALIDATION,
    INTERNAL,
    METHOD_NOT_ALLOWED,
    ErrorCode,
    IntelGraphError,
)

log = logging.getLogger(__name__)
MAX_DOCUMENT_BYTES = 100_000


def _label(operation: OperationDefinitionNode) -> str:
    """An operation's root field names, for logs and metrics."""
    names = {s.name.value for s in operation.selection_set.selections if hasattr(s, "name")}
    return "+".join(sorted(names))[:100] or "anonymous"


@dataclass(frozen=True)
class OperationFacts:
    """What an operation's requests share, whatever their variables."""

    label: str  # its root fields, for logs and metrics
    depth: int  # introspection left out (already checked)
    plan: CompiledPlan | None  # None: graphql-core's executor runs it


@dataclass(frozen=True)
class PreparedDocument:
    """A document that parsed, kept within the structural limits and validated."""

    sha256: str
    document: DocumentNode
    operations: dict[str | None, OperationDefinitionNode]
    depths: dict[str | None, int]  # per operation, introspection left out (already checked)
    figures: DocumentFigures
    facts: dict[str | None, OperationFacts] = field(default_factory=dict)
    # The cost does not read the variables: once checked for an operation, it stays passed.
    is_cost_fixed: bool = False
    cost_passed: set[str | None] = field(default_factory=set)

    @property
    def uses_introspection(self) -> bool:
        """Whether it selects ``__schema`` or ``__type`` (``limits.check_introspection``)."""
        return self.figures.uses_introspection

    def operation(self, name: str | None) -> OperationDefinitionNode:
        """The operation to run. Raises GRAPHQL_VALIDATION when it is ambiguous or unknown."""
        if name is None:
            if len(self.operations) != 1:
                raise IntelGraphError(
                    GRAPHQL_VALIDATION,
                    "the document has several operations: send operationName to pick one",
                )
            return next(iter(self.operations.values()))
        if name not in self.operations:
            raise IntelGraphError(GRAPHQL_VALIDATION, f"no operation named {name!r}")
        return self.operations[name]


@dataclass(frozen=True)
class GraphQLOutcome:
    status: int
    body: dict[str, Any]
    operation_label: str


class DocumentCache:
    """A bounded LRU of prepared documents; safe across threads."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, PreparedDocument] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> PreparedDocument | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, prepared: PreparedDocument) -> None:
        with self._lock:
            self._items[prepared.sha256] = prepared
            self._items.move_to_end(prepared.sha256)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class GraphQLExecutor:
    """Runs operations against one schema version within the query limits.

    ``compiled``: run the queries a compiled plan covers through it (api/compiled.py); off,
    every request goes through graphql-core's executor (the tests compare the two).
    """

    def __init__(
        self, schema: GraphQLSchema, limits: QueryLimits, cache_size: int, *, compiled: bool = True
    ) -> None:
        self.schema = schema
        self.limits = limits
        self.cache = DocumentCache(cache_size)
        self.is_compiled = compiled

    def prepare(self, text: str, sha256: str | None = None) -> PreparedDocument:
        """Parse, check and validate ``text`` once (``sha256`` when the caller knows it).

        The structural limits come before validation, whose cost they bound. Raises
        QUERY_TOO_MANY_TOKENS, UNSTORABLE_VALUE, QUERY_TOO_MANY_ALIASES,
        QUERY_TOO_MANY_ROOT_FIELDS, QUERY_TOO_MANY_DIRECTIVES, QUERY_TOO_DEEP, and
        GRAPHQL_VALIDATION with the reasons.
        """
        if len(text) > MAX_DOCUMENT_BYTES:
            raise IntelGraphError(
                GRAPHQL_VALIDATION, f"the query is longer than {MAX_DOCUMENT_BYTES} characters"
            )
        key = sha256 or hashlib.sha256(text.encode("utf-8")).hexdigest()
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        document = parse_document(text, self.limits)
        figures = measure_document(document)
        check_structure(figures, self.limits)
        problems = validate(self.schema, document)
        if problems:
            raise IntelGraphError(
                GRAPHQL_VALIDATION,
                "; ".join(problem.message for problem in problems[:5]),
                {"validationErrors": [problem.formatted for problem in problems[:20]]},
            )
        operations = {
            (d.name.value if d.name else None): d
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode)
        }
        depths = {name: figures.operations[name].depth for name in operations}
        facts = {
            name: OperationFacts(
                _label(operation), depths[name], compile_plan(self.schema, document, operation)
            )
            for name, operation in operations.items()
        }
        prepared = PreparedDocument(
            key,
            document,
            operations,
            depths,
            figures,
            facts,
            is_cost_fixed=not cost_reads_variables(document),
        )
        self.cache.put(prepared)
        return prepared

    def execute(
        self,
        prepared: PreparedDocument,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Any,
        *,
        allow_mutation: bool = True,
        budget: RequestBudget | None = None,
    ) -> GraphQLOutcome:
        """Execute within the limits and ``budget``; field errors become the one error shape.

        Raises QUERY_TIMEOUT, REQUEST_CANCELLED or RESPONSE_TOO_LARGE when a query spends its
        budget (checked before every field); a mutation is checked once, before it writes.
        """
        if budget is not None:
            budget.check()
        operation = prepared.operation(operation_name)
        facts = prepared.facts[operation_name if operation_name else next(iter(prepared.facts))]
        label = facts.label
        if not allow_mutation and operation.operation.value != "query":
            raise IntelGraphError(
                METHOD_NOT_ALLOWED,
                "only queries may be sent with GET; use POST",
                headers={"Allow": "POST"},
            )
        check_depth(facts.depth, self.limits)
        coerced = get_variable_values(
            self.schema, operation.variable_definitions or (), variables or {}
        )
        if isinstance(coerced, list):  # wrong type, missing required variable, null for non-null
            raise IntelGraphError(
                GRAPHQL_VALIDATION,
                "; ".join(error.message for error in coerced[:5]),
                {"variableErrors": [error.message for error in coerced[:20]]},
            )
        # The cost sees the operation's own variable defaults, not only the field defaults.
        # graphql-core 3.3 wraps the values (``.coerced``); 3.2 returns the dict itself.
        values = cast(Mapping[str, Any], getattr(coerced, "coerced", coerced))
        if not (prepared.is_cost_fixed and operation_name in prepared.cost_passed):
            check_cost(self.schema, prepared.document, operation, dict(values), self.limits)
            if prepared.is_cost_fixed:
                prepared.cost_passed.add(operation_name)
        if facts.plan is not None and self.is_compiled:
            data = self._run_compiled(facts.plan, coerced, context, budget)
            if data is not None:
                return GraphQLOutcome(200, {"data": data}, label)
        result = self._run(prepared, variables, operation_name, context, operation, budget)
        body: dict[str, Any] = {"data": result.data}
        status = 200
        if result.errors:
            formatted = [self._format(error) for error in result.errors]
            body["errors"] = [shape for shape, _ in formatted]
            if result.data is None or all(value is None for value in result.data.values()):
                status = formatted[0][1].http_status
        return GraphQLOutcome(status, body, label)

    def _run(
        self,
        prepared: PreparedDocument,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Any,
        operation: OperationDefinitionNode,
        budget: RequestBudget | None,
    ) -> ExecutionResult:
        """execute_sync, with the budget as field middleware for a query.

        A mutation runs without it: each root field commits in one transaction, and an
        answer saying "timeout" for a committed write would invite a duplicate retry.
        """
        middleware: MiddlewareManager | None = None
        if budget is not None:
            budget.check()  # variable coercion and the cost check took their time too
            if operation.operation is OperationType.MUTATION:
                budget.is_committing = True
            else:
                middleware = MiddlewareManager(budget)
        try:
            return execute_sync(
                self.schema,
                prepared.document,
                context_value=context,
                variable_values=variables,
                operation_name=operation_name,
                middleware=middleware,
            )
        except BudgetExhausted as exhausted:
            raise exhausted.error from None

    def _run_compiled(
        self,
        plan: CompiledPlan,
        variables: VariableValues,
        context: Any,
        budget: RequestBudget | None,
    ) -> dict[str, Any] | None:
        """The data of a query answered without error by its plan; None when graphql-core
        must answer it (it then runs the query again and writes the errors itself)."""
        counted = 0
        if budget is not None:
            budget.check()
            counted = budget.response_bytes
        try:
            return plan.run(context, variables, budget)
        except BudgetExhausted as exhausted:
            raise exhausted.error from None
        except Exception:  # graphql-core answers it, errors and all
            if budget is not None:
                budget.response_bytes = counted
            return None

    def _format(self, error: GraphQLError) -> tuple[dict[str, Any], ErrorCode]:
        original = error.original_error
        if isinstance(original, IntelGraphError):
            shape = original.to_graphql_error()
            code = original.error
        elif original is not None and not isinstance(original, GraphQLError):
            log.error("resolver failed", exc_info=original)
            code = INTERNAL
            internal = IntelGraphError(INTERNAL, "internal error; the request id is in the logs")
            shape = internal.to_graphql_error()
        else:
            code = GRAPHQL_VALIDATION
            shape = IntelGraphError(GRAPHQL_VALIDATION, error.message).to_graphql_error()
        if error.path:
            shape["path"] = list(error.path)
        if error.locations:
            shape["locations"] = [
                {"line": loc.line, "column": loc.column} for loc in error.locations
            ]
        return shape, code
