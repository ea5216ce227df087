"""Refuse abusive GraphQL before it costs anything, in time linear in the document.

Three checks, cheapest first: the token limit while parsing; aliases, root fields,
directives, depth and the separate introspection depth in one walk before validation
(``measure_document``); the estimated cost, which needs the variables, just before
execution (``check_cost``). Each walk measures every fragment once, in dependency order,
and reuses its figures at every spread, so no document shape makes a check exponential.
graphql-armor and Apollo Router are the anchors for which limits exist and their defaults.

Cost: a field costs 1 (plus a weight for graph walks) each time it may be resolved, and
that count grows by the size of every list above it (``LIST_SIZES``). ``__schema`` and
``__type`` have flat costs instead and their own depth limit, so the standard introspection
query passes while hundreds of aliased copies do not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from graphql import (
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLArgument,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    get_named_type,
    parse,
)
from graphql.pyutils import Undefined

from intelgraph.kernel.errors import (
    GRAPHQL_VALIDATION,
    INTROSPECTION_DISABLED,
    LIST_LIMIT_EXCEEDED,
    QUERY_TOO_COSTLY,
    QUERY_TOO_DEEP,
    QUERY_TOO_MANY_ALIASES,
    QUERY_TOO_MANY_DIRECTIVES,
    QUERY_TOO_MANY_ROOT_FIELDS,
    QUERY_TOO_MANY_TOKENS,
    ErrorCode,
    IntelGraphError,
)
from intelgraph.kernel.storable import Unstorable, text_problem
from intelgraph.kernel.tenancy import Principal

# A list field with no size rule is assumed to return at most this many items.
UNBOUNDED_LIST_GUESS = 10
# Introspection fields: a flat cost each (the standard query is one __schema).
INTROSPECTION_COSTS: dict[str, int] = {"__schema": 5_000, "__type": 200}
# Arguments a client may not set above QueryLimits.max_list.
BOUNDED_ARGUMENTS = ("limit", "ids")


@dataclass(frozen=True)
class QueryLimits:
    """What one GraphQL document may ask for (settings ``INTELGRAPH_GRAPHQL_MAX_*``)."""

    max_depth: int
    max_cost: int
    max_list: int
    max_tokens: int = 1_000
    max_aliases: int = 15
    max_root_fields: int = 20
    max_directives: int = 50
    max_introspection_depth: int = 20


@dataclass(frozen=True)
class ListSize:
    """How many items a list field returns: ``scale`` x an argument (a list's length) + ``offset``.

    ``of_parent``: the argument is the parent field's (``EntityPage.items`` holds
    ``searchEntities(limit:)`` entities); ``argument`` None: always ``offset`` items.
    """

    argument: str | None
    of_parent: bool = False
    scale: int = 1
    offset: int = 0

    def size(self, arguments: Mapping[str, Any]) -> int:
        if self.argument is None:
            return self.offset
        value = arguments.get(self.argument)
        if isinstance(value, list):
            value = len(value)
        if not isinstance(value, int):
            value = UNBOUNDED_LIST_GUESS
        return self.scale * max(value, 0) + self.offset


@dataclass(frozen=True)
class WalkWeight:
    """The work of a resolver that walks the graph: ``per_hop`` for each hop it may take."""

    argument: str
    per_hop: int

    def weight(self, arguments: Mapping[str, Any]) -> int:
        hops = arguments.get(self.argument)
        return self.per_hop * (max(hops, 1) if isinstance(hops, int) else 1)


# (type, field) -> its list size, from the resolvers (graph/service.py, api/resolvers*.py).
LIST_SIZES: dict[tuple[str, str], ListSize] = {
    ("Query", "pagerankTop"): ListSize("limit"),
    ("Query", "entities"): ListSize("ids"),
    ("Resolution", "members"): ListSize("limit"),
    ("Entity", "sources"): ListSize(None, offset=1),
    ("EntityPage", "items"): ListSize("limit", of_parent=True),
    ("Subgraph", "entities"): ListSize("limit", of_parent=True),
    # A breadth-first subgraph of n entities has n - 1 tree edges; allow as many cross edges.
    ("Subgraph", "relationships"): ListSize("limit", of_parent=True, scale=2),
    ("Path", "entities"): ListSize("maxHops", of_parent=True, offset=1),
    ("Path", "relationships"): ListSize("maxHops", of_parent=True),
}
# Each hop reads up to thousands of edges (EDGE_BUDGET_PER_HOP): far more than a field.
WALK_WEIGHTS: dict[tuple[str, str], WalkWeight] = {
    ("Query", "pathBetween"): WalkWeight("maxHops", 100),
    ("Query", "neighbors"): WalkWeight("hops", 100),
}
_SIZING_ARGUMENTS = frozenset(
    {*BOUNDED_ARGUMENTS}
    | {rule.argument for rule in LIST_SIZES.values() if rule.argument is not None}
    | {walk.argument for walk in WALK_WEIGHTS.values()}
)


# --- parsing -------------------------------------------------------------------------------

_TOO_MANY_TOKENS = re.compile(r"Document contains more than \d+ (tokens|comments)\.")


def parse_document(text: str, limits: QueryLimits) -> DocumentNode:
    """Parse ``text``, giving up at ``max_tokens`` tokens (and as many comments).

    Raises QUERY_TOO_MANY_TOKENS, or GRAPHQL_VALIDATION for a syntax error.
    """
    try:
        return parse(text, max_lexical_tokens=limits.max_tokens, max_comments=limits.max_tokens)
    except GraphQLSyntaxError as exc:
        too_many = _TOO_MANY_TOKENS.search(exc.message)
        if too_many is None:
            raise IntelGraphError(GRAPHQL_VALIDATION, f"syntax error: {exc.message}") from None
        counted = too_many.group(1)
        raise IntelGraphError(
            QUERY_TOO_MANY_TOKENS,
            f"the document has more than {limits.max_tokens} {counted}, the maximum; "
            "send a smaller document (split it into several requests)",
            {"limit": limits.max_tokens, "value": limits.max_tokens + 1, "counted": counted},
        ) from None


# --- structure: before validation, no schema and no variables needed -----------------------


@dataclass(frozen=True, slots=True)
class Figures:
    """What a selection set adds up to, fragments expanded."""

    depth: int = 0  # deepest field nesting, introspection subtrees left out
    introspection_depth: int = 0  # deepest __schema/__type subtree, counted from that field
    full_depth: int = 0  # deepest field nesting, every field counted
    aliases: int = 0
    fields: int = 0  # fields at this level: an operation's root fields
    directives: int = 0


NOTHING = Figures()


@dataclass(frozen=True, slots=True)
class OperationFigures:
    """The structural figures of one operation, checked against QueryLimits."""

    depth: int
    introspection_depth: int
    aliases: int
    root_fields: int
    directives: int

    @property
    def uses_introspection(self) -> bool:
        return self.introspection_depth > 0


@dataclass(frozen=True)
class DocumentFigures:
    """Every operation's figures, and how many nodes the walks visited to get them."""

    operations: dict[str | None, OperationFigures]
    visited_nodes: int

    @property
    def uses_introspection(self) -> bool:
        """Whether any operation selects ``__schema`` or ``__type`` (through fragments too)."""
        return any(figures.uses_introspection for figures in self.operations.values())


def measure_document(document: DocumentNode) -> DocumentFigures:
    """One walk over ``document``: each operation's figures, every fragment measured once.

    Raises UNSTORABLE_VALUE for a string literal holding U+0000, naming the argument.
    """
    fragments = _fragments(document)
    order = _FragmentOrder(fragments)
    walk = _StructureWalk()
    for name in order.names:
        fragment = fragments[name]
        figures = walk.selection_set(fragment.selection_set)
        walk.measured[name] = _with_directives(figures, walk.directives(fragment.directives))
    operations: dict[str | None, OperationFigures] = {}
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        figures = walk.selection_set(definition.selection_set)
        directives = figures.directives + walk.directives(definition.directives)
        for variable in definition.variable_definitions or ():
            directives += walk.directives(variable.directives)
            if variable.default_value is not None:
                walk.literal(variable.default_value, f"${variable.variable.name.value}")
        operations[definition.name.value if definition.name else None] = OperationFigures(
            depth=figures.depth,
            introspection_depth=figures.introspection_depth,
            aliases=figures.aliases,
            root_fields=figures.fields,
            directives=directives,
        )
    return DocumentFigures(operations, order.visited_nodes + walk.visited_nodes)


def check_structure(figures: DocumentFigures, limits: QueryLimits) -> None:
    """Raise the first structural limit any operation is over, before validation.

    Raises QUERY_TOO_MANY_ALIASES, QUERY_TOO_MANY_ROOT_FIELDS, QUERY_TOO_MANY_DIRECTIVES,
    QUERY_TOO_DEEP.
    """
    for operation in figures.operations.values():
        _refuse_over(
            QUERY_TOO_MANY_ALIASES,
            operation.aliases,
            limits.max_aliases,
            "the operation uses {value} aliases (fragments expanded), more than the maximum "
            "of {limit}; ask for each field once, or split the request",
        )
        _refuse_over(
            QUERY_TOO_MANY_ROOT_FIELDS,
            operation.root_fields,
            limits.max_root_fields,
            "the operation selects {value} root fields (fragments expanded), more than the "
            "maximum of {limit}; split it into several requests",
        )
        _refuse_over(
            QUERY_TOO_MANY_DIRECTIVES,
            operation.directives,
            limits.max_directives,
            "the operation uses {value} directives (fragments expanded), more than the "
            "maximum of {limit}; remove repeated @include/@skip",
        )
        check_depth(operation.depth, limits)
        if operation.introspection_depth > limits.max_introspection_depth:
            raise IntelGraphError(
                QUERY_TOO_DEEP,
                f"introspection depth {operation.introspection_depth} exceeds the maximum of "
                f"{limits.max_introspection_depth}; the standard introspection query fits",
                {
                    "limit": limits.max_introspection_depth,
                    "value": operation.introspection_depth,
                    "depth": operation.introspection_depth,
                    "maxDepth": limits.max_introspection_depth,
                    "introspection": True,
                },
            )


def check_depth(depth: int, limits: QueryLimits) -> None:
    """Raise QUERY_TOO_DEEP when ``depth`` (introspection left out) is over the limit."""
    if depth > limits.max_depth:
        raise IntelGraphError(
            QUERY_TOO_DEEP,
            f"query depth {depth} exceeds the maximum of {limits.max_depth}; "
            "split it into several queries",
            {
                "limit": limits.max_depth,
                "value": depth,
                "depth": depth,
                "maxDepth": limits.max_depth,
            },
        )


class IntrospectionAware(Protocol):
    @property
    def uses_introspection(self) -> bool: ...


def check_introspection(prepared: IntrospectionAware, principal: Principal) -> None:
    """Raise INTROSPECTION_DISABLED when the document selects ``__schema`` or ``__type``
    (at any depth, through fragments) and the principal's tenant switched introspection off.

    ``__typename`` is not introspection here: clients need it to read unions.
    """
    if prepared.uses_introspection and not principal.allows_introspection:
        raise IntelGraphError(
            INTROSPECTION_DISABLED,
            "introspection (__schema, __type) is switched off for this tenant; use the "
            "published schema, or ask the tenant's admin to set allowsIntrospection",
            {"setting": "allowsIntrospection", "value": False},
        )


def _refuse_over(code: ErrorCode, value: int, limit: int, message: str) -> None:
    if value > limit:
        raise IntelGraphError(
            code, message.format(value=value, limit=limit), {"limit": limit, "value": value}
        )


def _with_directives(figures: Figures, extra: int) -> Figures:
    if extra == 0:
        return figures
    return Figures(
        figures.depth,
        figures.introspection_depth,
        figures.full_depth,
        figures.aliases,
        figures.fields,
        figures.directives + extra,
    )


class _StructureWalk:
    """Figures of selection sets; a spread takes its fragment's figures from ``measured``.

    Recursion follows selection-set nesting only, which the parser bounds (200 levels);
    fragments are measured beforehand, so fragment chains of any length cost no stack.
    """

    def __init__(self) -> None:
        self.measured: dict[str, Figures] = {}
        self.visited_nodes = 0

    def selection_set(self, node: SelectionSetNode) -> Figures:
        depth = introspection = full = aliases = fields = directives = 0
        for selection in node.selections:
            self.visited_nodes += 1
            directives += self.directives(selection.directives)
            if isinstance(selection, FieldNode):
                self._arguments(selection.name.value, selection.arguments)
                inner = (
                    self.selection_set(selection.selection_set)
                    if selection.selection_set is not None
                    else NOTHING
                )
                fields += 1
                aliases += (selection.alias is not None) + inner.aliases
                directives += inner.directives
                full = max(full, 1 + inner.full_depth)
                if selection.name.value in INTROSPECTION_COSTS:
                    introspection = max(introspection, 1 + inner.full_depth)
                else:
                    depth = max(depth, 1 + inner.depth)
                    introspection = max(introspection, inner.introspection_depth)
                continue
            if isinstance(selection, InlineFragmentNode):
                inner = self.selection_set(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                # Unknown, or in a cycle (still being measured): validation refuses both.
                inner = self.measured.get(selection.name.value, NOTHING)
            else:  # pragma: no cover - the three selection kinds are all there are
                continue
            depth = max(depth, inner.depth)
            introspection = max(introspection, inner.introspection_depth)
            full = max(full, inner.full_depth)
            aliases += inner.aliases
            fields += inner.fields
            directives += inner.directives
        return Figures(depth, introspection, full, aliases, fields, directives)

    def directives(self, directives: Iterable[DirectiveNode] | None) -> int:
        count = 0
        for directive in directives or ():
            count += 1
            self._arguments(f"@{directive.name.value}", directive.arguments)
        return count

    def _arguments(self, owner: str, arguments: Iterable[ArgumentNode] | None) -> None:
        for argument in arguments or ():
            self.literal(argument.value, f"{owner}({argument.name.value}:)")

    def literal(self, value: ValueNode, where: str) -> None:
        """Raise UNSTORABLE_VALUE for a string in ``value`` holding U+0000 (no recursion)."""
        stack: list[tuple[ValueNode, str]] = [(value, where)]
        while stack:
            node, path = stack.pop()
            self.visited_nodes += 1
            if isinstance(node, StringValueNode):
                reason = text_problem(node.value)
                if reason is not None:
                    raise Unstorable(path, reason).to_error()
            elif isinstance(node, ListValueNode):
                stack.extend((item, f"{path}[{n}]") for n, item in enumerate(node.values))
            elif isinstance(node, ObjectValueNode):
                stack.extend((item.value, f"{path}.{item.name.value}") for item in node.fields)


class _FragmentOrder:
    """Fragment names, each after the fragments it spreads (a cycle is cut where it closes)."""

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.visited_nodes = 0
        spreads = {name: self._spreads(f.selection_set) for name, f in fragments.items()}
        self.names: list[str] = []
        seen: set[str] = set()
        for start in fragments:
            if start in seen:
                continue
            seen.add(start)
            stack = [(start, iter(spreads[start]))]
            while stack:  # depth-first, without recursion: chains can be long
                name, pending = stack[-1]
                child = next(pending, None)
                if child is None:
                    stack.pop()
                    self.names.append(name)
                elif child in spreads and child not in seen:
                    seen.add(child)
                    stack.append((child, iter(spreads[child])))

    def _spreads(self, selection_set: SelectionSetNode) -> list[str]:
        names: dict[str, None] = {}
        stack = [selection_set]
        while stack:
            for selection in stack.pop().selections:
                self.visited_nodes += 1
                if isinstance(selection, FragmentSpreadNode):
                    names[selection.name.value] = None
                elif (
                    isinstance(selection, FieldNode | InlineFragmentNode)
                    and selection.selection_set is not None
                ):
                    stack.append(selection.selection_set)
        return list(names)


# --- cost: at execution, with the variables ------------------------------------------------


@dataclass
class _Cost:
    """A selection set's cost per resolution of its parent field.

    ``fixed`` plus, for list fields sized by the parent's arguments, the cost of one item
    times that size (``by_parent``): a fragment on ``EntityPage`` is measured once, however
    many ``searchEntities(limit:)`` it is spread under.
    """

    fixed: int = 0
    by_parent: dict[ListSize, int] = field(default_factory=dict)

    def add(self, other: _Cost) -> None:
        self.fixed += other.fixed
        for rule, cost in other.by_parent.items():
            self.by_parent[rule] = self.by_parent.get(rule, 0) + cost

    def under(self, parent_arguments: Mapping[str, Any]) -> int:
        sized = sum(cost * rule.size(parent_arguments) for rule, cost in self.by_parent.items())
        return self.fixed + sized


@dataclass(frozen=True)
class CostEstimate:
    cost: int
    visited_nodes: int


def check_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: dict[str, Any],
    limits: QueryLimits,
) -> int:
    """The estimated cost; raises LIST_LIMIT_EXCEEDED or QUERY_TOO_COSTLY before execution."""
    estimated = estimate_cost(schema, document, operation, variables, limits).cost
    if estimated > limits.max_cost:
        raise IntelGraphError(
            QUERY_TOO_COSTLY,
            f"estimated query cost {estimated} exceeds the maximum of {limits.max_cost}; "
            "ask for fewer items (lower `limit`) or fewer nested lists",
            {
                "limit": limits.max_cost,
                "value": estimated,
                "cost": estimated,
                "maxCost": limits.max_cost,
            },
        )
    return estimated


def estimate_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any],
    limits: QueryLimits,
) -> CostEstimate:
    """The cost of ``operation`` with these (coerced) variables, each fragment costed once.

    Raises LIST_LIMIT_EXCEEDED for a ``limit`` or ``ids`` outside 0..max_list.
    """
    fragments = _fragments(document)
    order = _FragmentOrder(fragments)
    walk = _CostWalk(schema, variables, limits)
    for name in order.names:
        fragment = fragments[name]
        condition = schema.get_type(fragment.type_condition.name.value)
        if condition is not None:
            walk.costed[name] = walk.selection_set(condition, fragment.selection_set)
    root = schema.mutation_type if operation.operation.value == "mutation" else schema.query_type
    assert root is not None
    cost = walk.selection_set(root, operation.selection_set).under({})
    return CostEstimate(cost, order.visited_nodes + walk.visited_nodes)


def cost_reads_variables(document: DocumentNode) -> bool:
    """Whether ``estimate_cost`` may differ between variable values: some argument that
    sizes a list or a walk (``limit``, ``ids``, ``hops``...) is given as a variable."""
    pending: list[SelectionSetNode] = [
        definition.selection_set
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode)
    ]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                for argument in selection.arguments or ():
                    if argument.name.value in _SIZING_ARGUMENTS and isinstance(
                        argument.value, VariableNode
                    ):
                        return True
            if isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
                pending.append(selection.selection_set)
    return False


class _CostWalk:
    def __init__(
        self, schema: GraphQLSchema, variables: Mapping[str, Any], limits: QueryLimits
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.limits = limits
        self.costed: dict[str, _Cost] = {}
        self.visited_nodes = 0

    def selection_set(self, parent: GraphQLNamedType, node: SelectionSetNode) -> _Cost:
        total = _Cost()
        for selection in node.selections:
            self.visited_nodes += 1
            if isinstance(selection, FieldNode):
                self._field(parent, selection, total)
            elif isinstance(selection, InlineFragmentNode):
                inner = parent
                if selection.type_condition is not None:
                    inner = self.schema.get_type(selection.type_condition.name.value) or parent
                total.add(self.selection_set(inner, selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                total.add(self.costed.get(selection.name.value, _Cost()))
        return total

    def _field(self, parent: GraphQLNamedType, node: FieldNode, total: _Cost) -> None:
        name = node.name.value
        if name in INTROSPECTION_COSTS:
            total.fixed += INTROSPECTION_COSTS[name]
            return
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType) or (
            name not in parent.fields
        ):
            total.fixed += 1  # __typename
            return
        definition = parent.fields[name]
        arguments = self._sizing_arguments(definition.args, node)
        self._refuse_large_lists(name, arguments)
        inner = 0
        if node.selection_set is not None:
            child = get_named_type(definition.type)
            inner = self.selection_set(child, node.selection_set).under(arguments)
        walk = WALK_WEIGHTS.get((parent.name, name))
        own = 1 + (walk.weight(arguments) if walk is not None else 0)
        rule = LIST_SIZES.get((parent.name, name))
        if rule is not None and rule.of_parent:
            total.fixed += own
            total.by_parent[rule] = total.by_parent.get(rule, 0) + inner
            return
        if rule is not None:
            size = rule.size(arguments)
        else:
            size = UNBOUNDED_LIST_GUESS if _is_list(definition.type) else 1
        total.fixed += own + size * inner

    def _sizing_arguments(
        self, definitions: Mapping[str, GraphQLArgument], node: FieldNode
    ) -> dict[str, Any]:
        """The values of the arguments that size lists: literal, variable or default."""
        given = {argument.name.value: argument.value for argument in node.arguments or ()}
        values: dict[str, Any] = {}
        for name in _SIZING_ARGUMENTS.intersection(definitions):
            value: Any = None
            literal = given.get(name)
            if isinstance(literal, VariableNode):
                value = self.variables.get(literal.name.value)
            elif isinstance(literal, IntValueNode):
                value = int(literal.value)
            elif isinstance(literal, ListValueNode):
                value = list(literal.values)
            if value is None:  # absent or null: the resolver uses the schema default
                value = _default_of(definitions[name])
            values[name] = value
        return values

    def _refuse_large_lists(self, field_name: str, arguments: Mapping[str, Any]) -> None:
        for name in BOUNDED_ARGUMENTS:
            value = arguments.get(name)
            size = len(value) if isinstance(value, list) else value
            if isinstance(size, int) and not 0 <= size <= self.limits.max_list:
                raise IntelGraphError(
                    LIST_LIMIT_EXCEEDED,
                    f"{field_name}({name}: {size}) is outside 0..{self.limits.max_list}; "
                    "page through results with `after` instead",
                    {
                        "field": field_name,
                        "limit": self.limits.max_list,
                        "value": size,
                        "maxList": self.limits.max_list,
                    },
                )


def _default_of(argument: GraphQLArgument) -> Any:
    """An argument's schema default as a size: an int, a list, or None."""
    default = argument.default  # SDL defaults are kept as literals (graphql-core 3.3)
    if default is None:
        return None if argument.default_value is Undefined else argument.default_value
    if isinstance(default.literal, IntValueNode):
        return int(default.literal.value)
    if isinstance(default.literal, ListValueNode):
        return list(default.literal.values)
    return None if default.value is Undefined else default.value


def _is_list(field_type: GraphQLOutputType) -> bool:
    if isinstance(field_type, GraphQLNonNull):
        field_type = field_type.of_type
    return isinstance(field_type, GraphQLList)


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
