"""Rewrite hints: the same operation with every deprecated field replaced by its successor.

The rewrite is a transformation of the AST, never of the text. A deprecated field keeps its
response key: ``name`` becomes ``name: label``, ``n: name`` becomes ``n: label`` and
``getEntity(id: $id) {…}`` becomes ``getEntity: entity(id: $id) {…}``; arguments,
directives, variables, fragments and the order of selections are untouched, so the
response has the same keys, in the same order, with the same values.

A rewrite is refused (``not_rewritable``, with a reason) when it cannot be proved safe from
the schema alone: the original does not parse or validate, a replacement is missing, lives on
another type, returns another type or takes other arguments, a deprecated field has no
recorded replacement, or the rewritten document fails validation (field-merge conflicts).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLArgument,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    NameNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    parse,
    print_ast,
    validate,
    visit,
)

from intelgraph.api.deprecations import deprecations
from intelgraph.kernel.errors import GRAPHQL_VALIDATION, IntelGraphError

RewriteStatus = Literal["rewritten", "unchanged", "not_rewritable"]

# A replacement may itself be deprecated; follow the chain this far before giving up.
MAX_REPLACEMENT_CHAIN = 8


@dataclass(frozen=True)
class Rewrite:
    """The outcome of rewriting one document.

    ``document`` and ``sha256`` are set only when ``status`` is ``"rewritten"``; ``reason``
    only when it is ``"not_rewritable"``. ``changed_fields`` lists the deprecated
    ``"Type.field"`` coordinates that were (or would have been) replaced, sorted.
    """

    original_sha256: str
    status: RewriteStatus
    document: str | None = None
    sha256: str | None = None
    changed_fields: list[str] = field(default_factory=list)
    reason: str | None = None

    @property
    def is_rewritten(self) -> bool:
        return self.status == "rewritten"


def sha256_of(text: str) -> str:
    """The hex sha256 of a document's UTF-8 text (the id persisted queries use)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def default_replacements() -> dict[str, str]:
    """``"Type.field"`` → ``"Type.replacement"`` from ``schema/deprecations.json``."""
    return {coordinate: record.replacement for coordinate, record in deprecations().items()}


def deprecated_fields_in(
    schema: GraphQLSchema,
    document: str | DocumentNode,
    replacements: Mapping[str, str] | None = None,
) -> set[str]:
    """Every deprecated ``"Type.field"`` the document selects anywhere, statically.

    A field counts when the schema marks it ``@deprecated`` or the deprecation table lists
    it; fields in branches skipped by ``@include``/``@skip`` and in unused fragments count
    too. Unknown fields are ignored. Raises GRAPHQL_VALIDATION when the text does not parse.
    """
    table = default_replacements() if replacements is None else replacements
    tree = document if isinstance(document, DocumentNode) else _parse(document)
    found: set[str] = set()
    type_info = TypeInfo(schema)

    class Collect(Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> None:
            coordinate = _coordinate(type_info, node)
            if coordinate is None:
                return
            definition = type_info.get_field_def()
            is_marked = definition is not None and definition.deprecation_reason is not None
            if is_marked or coordinate in table:
                found.add(coordinate)

    visit(tree, TypeInfoVisitor(type_info, Collect()))
    return found


def rewrite_document(
    schema: GraphQLSchema,
    document: str,
    replacements: Mapping[str, str] | None = None,
) -> Rewrite:
    """The equivalent document that selects no deprecated field, or why there is none.

    Never raises for a bad document: syntax and validation problems come back as
    ``not_rewritable`` with the reason. ``replacements`` defaults to the shipped table.
    """
    table = default_replacements() if replacements is None else replacements
    original_sha256 = sha256_of(document)

    def refused(reason: str, changed: list[str] | None = None) -> Rewrite:
        return Rewrite(
            original_sha256, "not_rewritable", changed_fields=changed or [], reason=reason
        )

    try:
        tree = parse(document)
    except GraphQLError as exc:
        return refused(f"syntax error: {exc.message}")
    problems = validate(schema, tree)
    if problems:
        used = sorted(deprecated_fields_in(schema, tree, table))
        return refused(f"the original does not validate: {_messages(problems)}", used)

    type_info = TypeInfo(schema)
    transform = _ReplaceDeprecated(schema, type_info, table)
    rewritten = visit(tree, TypeInfoVisitor(type_info, transform))
    changed = sorted(transform.changed)
    if transform.problems:
        return refused("; ".join(sorted(transform.problems)), changed)
    if not changed:
        return Rewrite(original_sha256, "unchanged")

    text = print_ast(rewritten)
    # Validate what the client will be handed: the printed text, parsed again.
    problems = validate(schema, parse(text))
    if problems:
        return refused(f"the rewritten document does not validate: {_messages(problems)}", changed)
    return Rewrite(original_sha256, "rewritten", text, sha256_of(text), changed)


class _ReplaceDeprecated(Visitor):
    """Swaps each deprecated field for its replacement under the same response key."""

    def __init__(self, schema: GraphQLSchema, type_info: TypeInfo, table: Mapping[str, str]):
        super().__init__()
        self.schema = schema
        self.type_info = type_info
        self.table = table
        self.changed: set[str] = set()
        self.problems: set[str] = set()

    def enter_field(self, node: FieldNode, *_: Any) -> FieldNode | None:
        coordinate = _coordinate(self.type_info, node)
        definition = self.type_info.get_field_def()
        parent = self.type_info.get_parent_type()
        if coordinate is None or definition is None:
            return None
        if coordinate not in self.table:
            if definition.deprecation_reason is not None:
                self.problems.add(f"{coordinate} is deprecated but no replacement is recorded")
            return None
        assert isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
        self.changed.add(coordinate)
        target = self._replacement_for(coordinate, parent, definition)
        if target is None:
            return None
        response_key = (node.alias or node.name).value
        alias = None if response_key == target else NameNode(value=response_key)
        return replace(node, alias=alias, name=NameNode(value=target))

    def _replacement_for(
        self,
        coordinate: str,
        parent: GraphQLObjectType | GraphQLInterfaceType,
        deprecated: GraphQLField,
    ) -> str | None:
        """The final replacement field name on ``parent``, or None after noting a problem."""
        current = coordinate
        seen = {coordinate}
        while current in self.table:
            successor = self.table[current]
            type_name, _, field_name = successor.partition(".")
            if type_name != parent.name or not field_name:
                self.problems.add(
                    f"{coordinate} is replaced by {successor}, which is not a field of "
                    f"{parent.name}; the response shape would change"
                )
                return None
            if successor in seen or len(seen) > MAX_REPLACEMENT_CHAIN:
                self.problems.add(f"the replacements of {coordinate} form a cycle")
                return None
            seen.add(successor)
            current = successor
        _, _, target = current.partition(".")
        replacement = parent.fields.get(target)
        if replacement is None:
            self.problems.add(
                f"{coordinate} is replaced by {current}, which the schema does not define"
            )
            return None
        if str(replacement.type) != str(deprecated.type):
            self.problems.add(
                f"{coordinate} returns {deprecated.type} but its replacement {current} "
                f"returns {replacement.type}"
            )
            return None
        if _signature(deprecated.args) != _signature(replacement.args):
            self.problems.add(
                f"{coordinate}({_describe(deprecated.args)}) and its replacement "
                f"{current}({_describe(replacement.args)}) take different arguments"
            )
            return None
        if replacement.deprecation_reason is not None:
            self.problems.add(
                f"{coordinate} is replaced by {current}, which is itself deprecated "
                "with no recorded replacement"
            )
            return None
        return target


def _coordinate(type_info: TypeInfo, node: FieldNode) -> str | None:
    parent = type_info.get_parent_type()
    if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        return None
    if node.name.value not in parent.fields:
        return None  # __typename, or an unknown field that validation reports
    return f"{parent.name}.{node.name.value}"


def _signature(args: Mapping[str, GraphQLArgument]) -> dict[str, tuple[str, str]]:
    return {name: (str(arg.type), repr(arg.default_value)) for name, arg in args.items()}


def _describe(args: Mapping[str, GraphQLArgument]) -> str:
    return ", ".join(f"{name}: {arg.type}" for name, arg in args.items())


def _messages(problems: list[GraphQLError]) -> str:
    return "; ".join(problem.message for problem in problems[:5])


def _parse(text: str) -> DocumentNode:
    try:
        return parse(text)
    except GraphQLError as exc:
        raise IntelGraphError(GRAPHQL_VALIDATION, f"syntax error: {exc.message}") from exc
