"""Rewrite hints: deprecated fields replaced in the AST, the response unchanged to the byte.

The corpus under ``rewrite_corpus/`` holds realistic client operations (one per file,
variables in ``variables.json``). Every original and its rewrite run against the same data
through the real HTTP app; the ``data`` member of both responses must be the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from ariadne import load_schema_from_path, make_executable_schema
from graphql import (
    GraphQLSchema,
    OperationDefinitionNode,
    build_schema,
    execute_sync,
    parse,
    print_ast,
    validate,
)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import intelgraph.api
from conftest import Harness
from intelgraph.api.resolvers import BINDABLES
from intelgraph.api.rewrite import deprecated_fields_in, rewrite_document, sha256_of
from intelgraph.cli.pq import app as pq_app

V1_SDL = Path(intelgraph.api.__file__).parent / "schema" / "v1.graphql"
V1 = make_executable_schema(load_schema_from_path(str(V1_SDL)), *BINDABLES)
CORPUS = Path(__file__).parent / "rewrite_corpus"
CORPUS_FILES = sorted(CORPUS.glob("*.graphql"))
CORPUS_VARIABLES: dict[str, dict[str, Any]] = json.loads((CORPUS / "variables.json").read_text())


def rewritten(document: str) -> str:
    result = rewrite_document(V1, document)
    assert result.status == "rewritten", result.reason
    assert result.document is not None
    return result.document


def normalized(document: str) -> str:
    return print_ast(parse(document))


# --- the transform --------------------------------------------------------------------------


def test_a_deprecated_field_keeps_its_response_key_as_an_alias() -> None:
    result = rewritten('{ entity(id: "e1") { id name props } }')

    assert result == normalized('{ entity(id: "e1") { id name: label props: attributes } }')


def test_an_aliased_deprecated_field_keeps_its_alias() -> None:
    result = rewritten('{ entity(id: "e1") { n: name p: props } }')

    assert result == normalized('{ entity(id: "e1") { n: label p: attributes } }')


def test_an_alias_equal_to_the_replacement_is_dropped_since_the_key_is_the_same() -> None:
    result = rewritten('{ entity(id: "e1") { label: name attributes: props } }')

    assert result == normalized('{ entity(id: "e1") { label attributes } }')


def test_get_entity_becomes_entity_under_the_get_entity_key_with_its_arguments() -> None:
    result = rewritten("query Q($x: ID!) { getEntity(id: $x) { id } g: getEntity(id: $x) { id } }")

    assert result == normalized(
        "query Q($x: ID!) { getEntity: entity(id: $x) { id } g: entity(id: $x) { id } }"
    )


def test_fields_in_fragments_inline_fragments_and_nested_selections_are_rewritten() -> None:
    document = """
    query Q($id: ID!, $more: Boolean!) {
      neighbors(id: $id) {
        entities { ...Card ... on Entity { props } ... @include(if: $more) { name } }
        relationships { from { name } to { ...Card } }
      }
    }
    fragment Card on Entity { id name }
    """

    assert rewritten(document) == normalized("""
    query Q($id: ID!, $more: Boolean!) {
      neighbors(id: $id) {
        entities {
          ...Card
          ... on Entity { props: attributes }
          ... @include(if: $more) { name: label }
        }
        relationships { from { name: label } to { ...Card } }
      }
    }
    fragment Card on Entity { id name: label }
    """)


def test_arguments_directives_variables_and_operation_names_are_kept() -> None:
    document = """
    query Detail($id: ID!, $skipProps: Boolean = false) {
      getEntity(id: $id) @include(if: true) {
        name @skip(if: false)
        props @skip(if: $skipProps)
      }
      searchEntities(q: "ada", types: [PERSON], limit: 3) { total }
    }
    """

    assert rewritten(document) == normalized("""
    query Detail($id: ID!, $skipProps: Boolean = false) {
      getEntity: entity(id: $id) @include(if: true) {
        name: label @skip(if: false)
        props: attributes @skip(if: $skipProps)
      }
      searchEntities(q: "ada", types: [PERSON], limit: 3) { total }
    }
    """)


def test_every_operation_of_a_document_is_rewritten() -> None:
    document = """
    query A($id: ID!) { getEntity(id: $id) { name } }
    query B { pagerankTop { entity { props } } }
    query C { pagerankTop { score } }
    """

    result = rewrite_document(V1, document)

    assert result.status == "rewritten"
    assert result.changed_fields == ["Entity.name", "Entity.props", "Query.getEntity"]
    assert result.document == normalized("""
    query A($id: ID!) { getEntity: entity(id: $id) { name: label } }
    query B { pagerankTop { entity { props: attributes } } }
    query C { pagerankTop { score } }
    """)


def test_the_result_names_both_hashes_and_the_rewritten_text() -> None:
    original = 'query { entity(id: "e1") { name } }'

    result = rewrite_document(V1, original)

    assert result.original_sha256 == sha256_of(original)
    assert result.document is not None
    assert result.sha256 == sha256_of(result.document)
    assert result.reason is None


def test_a_document_without_deprecated_fields_is_unchanged_and_offers_no_document() -> None:
    result = rewrite_document(V1, 'query { entity(id: "e1") { label attributes } }')

    assert result.status == "unchanged"
    assert (result.document, result.sha256, result.changed_fields) == (None, None, [])


def test_the_name_of_an_introspection_type_is_not_the_deprecated_entity_name() -> None:
    document = '{ __type(name: "Entity") { name fields(includeDeprecated: true) { name } } }'

    assert rewrite_document(V1, document).status == "unchanged"
    assert deprecated_fields_in(V1, document) == set()


def test_rewriting_a_rewrite_changes_nothing() -> None:
    once = rewritten("query($id: ID!) { getEntity(id: $id) { name n: name props label } }")

    assert rewrite_document(V1, once).status == "unchanged"


# --- what cannot be rewritten ---------------------------------------------------------------


def test_a_response_key_shared_by_name_and_label_is_not_rewritable() -> None:
    result = rewrite_document(V1, 'query { entity(id: "e1") { label: name label } }')

    assert result.status == "not_rewritable"
    assert result.document is None
    assert result.reason is not None
    assert "the original does not validate" in result.reason
    assert "Fields 'label' conflict" in result.reason
    assert result.changed_fields == ["Entity.name"]


def test_a_document_that_does_not_parse_is_not_rewritable() -> None:
    result = rewrite_document(V1, "query { entity(id: 1) { name ")

    assert result.status == "not_rewritable"
    assert result.reason is not None
    assert result.reason.startswith("syntax error")


def test_a_replacement_missing_from_the_schema_is_not_rewritable() -> None:
    result = rewrite_document(
        V1, 'query { entity(id: "e1") { name } }', {"Entity.name": "Entity.title"}
    )

    assert result.status == "not_rewritable"
    assert result.reason == (
        "Entity.name is replaced by Entity.title, which the schema does not define"
    )


def test_a_replacement_on_another_type_is_not_rewritable() -> None:
    result = rewrite_document(
        V1, 'query { entity(id: "e1") { name } }', {"Entity.name": "Relationship.type"}
    )

    assert result.status == "not_rewritable"
    assert result.reason is not None
    assert "not a field of Entity" in result.reason


SMALL_SDL = """
type Query {
  lookup(key: String!): Thing @deprecated(reason: "Use `thing`.")
  thing(id: ID!): Thing
  count: Int @deprecated(reason: "Use `total`.")
  total: Float
  legacy: String @deprecated(reason: "Going away.")
  old: String @deprecated(reason: "Use `older`.")
  older: String @deprecated(reason: "Use `current`.")
  current: String
  node: Node
}
type Thing { id: ID! }
interface Node { name: String label: String }
type Person implements Node {
  name: String
  label: String
}
"""
SMALL = build_schema(SMALL_SDL)


@pytest.mark.parametrize(
    ("document", "table", "reason"),
    [
        (
            '{ lookup(key: "k") { id } }',
            {"Query.lookup": "Query.thing"},
            "Query.lookup(key: String!) and its replacement Query.thing(id: ID!) "
            "take different arguments",
        ),
        (
            "{ count }",
            {"Query.count": "Query.total"},
            "Query.count returns Int but its replacement Query.total returns Float",
        ),
        ("{ legacy }", {}, "Query.legacy is deprecated but no replacement is recorded"),
    ],
    ids=["different-arguments", "different-type", "no-replacement"],
)
def test_a_replacement_that_would_change_the_response_is_refused(
    document: str, table: dict[str, str], reason: str
) -> None:
    result = rewrite_document(SMALL, document, table)

    assert result.status == "not_rewritable"
    assert result.reason == reason


def test_a_rewrite_that_breaks_field_merging_is_refused_with_the_validation_message() -> None:
    # `name` is selected through the interface (no replacement recorded there) and through
    # Person (replaced): replacing only the latter would put two fields under one key.
    document = "{ node { name ... on Person { name } } }"

    result = rewrite_document(SMALL, document, {"Person.name": "Person.label"})

    assert result.status == "not_rewritable"
    assert result.reason is not None
    assert result.reason.startswith("the rewritten document does not validate:")
    assert "Fields 'name' conflict because 'name' and 'label' are different fields" in (
        result.reason
    )


def test_a_chain_of_replacements_is_followed_to_its_end() -> None:
    table = {"Query.old": "Query.older", "Query.older": "Query.current"}

    result = rewrite_document(SMALL, "{ old }", table)

    assert result.document == normalized("{ old: current }")
    assert result.changed_fields == ["Query.old"]


# --- deprecated_fields_in -------------------------------------------------------------------


def test_deprecated_fields_are_found_in_fragments_and_skipped_branches() -> None:
    document = """
    query($id: ID!) {
      getEntity(id: $id) { ...F ... @include(if: false) { props } }
    }
    fragment F on Entity { label name }
    """

    assert deprecated_fields_in(V1, document) == {"Query.getEntity", "Entity.name", "Entity.props"}
    assert deprecated_fields_in(V1, parse(document)) == deprecated_fields_in(V1, document)


def test_a_rewrite_selects_no_deprecated_field() -> None:
    document = rewritten('{ getEntity(id: "e1") { name props } }')

    assert deprecated_fields_in(V1, document) == set()


# --- laws, by hypothesis --------------------------------------------------------------------

ENTITY_FIELDS = ["id", "label", "name", "attributes", "props", "type", "degree"]
RESPONSE_KEYS = [*ENTITY_FIELDS, "title", "x"]
ROOTS = {
    "entity": ['entity(id: "e1")'],
    "getEntity": ['getEntity(id: "e1")', 'getEntity: entity(id: "e1")'],
    "e": ['e: getEntity(id: "e1")'],
}
# Default resolvers over the v1 SDL: the replacements answer what the old fields answer.
V1_PLAIN = build_schema(V1_SDL.read_text())
STAND_IN_ENTITY = {
    "id": "e1",
    "label": "Ada Lovelace",
    "name": "Ada Lovelace",
    "attributes": {"city": "London", "born": 1815},
    "props": {"city": "London", "born": 1815},
    "type": "PERSON",
    "degree": 3,
}
STAND_IN_ROOT = {
    "entity": lambda _info, id: STAND_IN_ENTITY,
    "getEntity": lambda _info, id: STAND_IN_ENTITY,
}


@st.composite
def entity_selections(draw: st.DrawFn, fields_by_key: dict[str, str], depth: int = 0) -> str:
    """Entity selections in which one response key always means one field (so they merge)."""
    parts = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["field", "field", "field", "inline", "typed", "spread"]))
        if kind == "field" or depth >= 2:
            key = draw(st.sampled_from(RESPONSE_KEYS))
            field_name = fields_by_key.setdefault(key, draw(st.sampled_from(ENTITY_FIELDS)))
            alias = draw(st.booleans()) or key != field_name
            directive = draw(st.sampled_from(["", "", " @include(if: true)", " @skip(if: true)"]))
            parts.append(f"{key + ': ' if alias else ''}{field_name}{directive}")
        elif kind == "inline":
            parts.append(f"... {{ {draw(entity_selections(fields_by_key, depth + 1))} }}")
        elif kind == "typed":
            inner = draw(entity_selections(fields_by_key, depth + 1))
            parts.append(f"... on Entity {{ {inner} }}")
        else:
            parts.append("...Shared")
    return " ".join(parts)


@st.composite
def documents(draw: st.DrawFn) -> str:
    fields_by_key: dict[str, str] = {}
    keys = draw(st.lists(st.sampled_from(sorted(ROOTS)), min_size=1, max_size=3, unique=True))
    roots = [draw(st.sampled_from(ROOTS[key])) for key in keys]
    body = " ".join(
        f"{root} {{ ...Shared {draw(entity_selections(fields_by_key))} }}" for root in roots
    )
    shared = draw(entity_selections(fields_by_key, depth=2))
    return f"query Generated {{ {body} }} fragment Shared on Entity {{ {shared} }}"


def run(schema: GraphQLSchema, document: str) -> bytes:
    result = execute_sync(schema, parse(document), root_value=STAND_IN_ROOT)
    assert result.errors is None, result.errors
    return orjson.dumps(result.data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_rewriting_is_idempotent_and_keeps_the_response_byte_for_byte(document: str) -> None:
    assume(not validate(V1_PLAIN, parse(document)))

    once = rewrite_document(V1, document)

    assert once.status in ("rewritten", "unchanged"), once.reason
    if once.status == "unchanged":
        assert deprecated_fields_in(V1, document) == set()
        return
    assert once.document is not None
    assert rewrite_document(V1, once.document).status == "unchanged"
    assert deprecated_fields_in(V1, once.document) == set()
    assert run(V1_PLAIN, once.document) == run(V1_PLAIN, document)


# --- the corpus -----------------------------------------------------------------------------


def test_the_corpus_has_at_least_forty_operations() -> None:
    assert len(CORPUS_FILES) >= 40


def test_at_least_95_percent_of_corpus_operations_using_deprecated_fields_rewrite() -> None:
    results = {path.stem: rewrite_document(V1, path.read_text()) for path in CORPUS_FILES}
    using = {name for name, r in results.items() if r.changed_fields}
    automatic = {name for name in using if results[name].status == "rewritten"}
    refused = {name: results[name].reason for name in using - automatic}

    assert len(automatic) / len(using) >= 0.95, refused
    # Nothing that selects no deprecated field is touched.
    for name, result in results.items():
        if name not in using:
            assert result.status == "unchanged", (name, result.reason)


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.stem)
def test_corpus_rewrite_is_idempotent_and_selects_no_deprecated_field(path: Path) -> None:
    result = rewrite_document(V1, path.read_text())
    if result.status != "rewritten":
        return
    assert result.document is not None

    assert rewrite_document(V1, result.document).status == "unchanged"
    assert deprecated_fields_in(V1, result.document) == set()
    assert result.changed_fields == sorted(deprecated_fields_in(V1, path.read_text()))


# --- executing originals and rewrites through the HTTP app ----------------------------------


def _entity(
    external_id: str, entity_type: str, label: str, source: str | None = None, **attributes: Any
) -> dict[str, Any]:
    line = {
        "kind": "entity",
        "external_id": external_id,
        "type": entity_type,
        "label": label,
        "attributes": attributes,
    }
    return line | ({"source": source, "purposes": ["investigation"]} if source else {})


def _edge(kind: str, source: str, target: str, **attributes: Any) -> dict[str, Any]:
    return {"kind": "relationship", "type": kind, "from": source, "to": target} | (
        {"attributes": attributes} if attributes else {}
    )


CASE_DATA = [
    _entity("p-ada", "PERSON", "Ada Lovelace", "registry", city="London", born=1815),
    _entity("p-ada-dup", "PERSON", "Ada Lovelace", city="London", note="from a letter"),
    _entity("p-charles", "PERSON", "Charles Babbage", city="London", occupation="engineer"),
    _entity("p-alan", "PERSON", "Alan Turing", city="Manchester", born=1912),
    _entity("p-joan", "PERSON", "Joan Clarke", city="London"),
    _entity("p-grace", "PERSON", "Grace Hopper", "navy-records", city="Arlington", rank="RADM"),
    _entity("p-watch", "PERSON", "Watched Person", watchlist="W-7", risk=0.8),
    _entity("o-engine", "ORGANIZATION", "Analytical Engine Company", country="UK", founded=1834),
    _entity("o-bletchley", "ORGANIZATION", "Bletchley Park", country="UK"),
    _entity("o-navy", "ORGANIZATION", "US Navy", country="US"),
    _entity("l-london", "LOCATION", "London", country="UK"),
    _entity("e-ada", "EMAIL", "ada@example.org", email="ada@example.org"),
    _edge("WORKS_FOR", "p-ada", "o-engine", since=1842),
    _edge("WORKS_FOR", "p-charles", "o-engine"),
    _edge("MANAGES", "p-charles", "p-ada"),
    _edge("COMMUNICATES_WITH", "p-ada", "p-charles", channel="letter", count=27),
    _edge("OWNS", "p-ada", "e-ada", verified=True),
    _edge("MEMBER_OF", "p-alan", "o-bletchley"),
    _edge("MEMBER_OF", "p-joan", "o-bletchley"),
    _edge("CONNECTED_TO", "p-alan", "p-joan"),
    _edge("CONNECTED_TO", "p-ada", "p-alan", basis="analyst note"),
    _edge("MEMBER_OF", "p-grace", "o-navy"),
    _edge("CONNECTED_TO", "p-grace", "p-alan"),
    _edge("LOCATED_AT", "o-engine", "l-london"),
    _edge("LOCATED_AT", "o-bletchley", "l-london"),
    _edge("SIMILAR_TO", "p-ada-dup", "p-ada", score=0.93),
]


@dataclass(frozen=True)
class Answer:
    status: int
    data: bytes  # the exact bytes of the `data` member on the wire
    errors: list[tuple[str, str, list[Any]]]  # (code, message, path); locations differ


def _post(harness: Harness, key: str, document: str, name: str | None, variables: Any) -> Answer:
    response = harness.client.post(
        "/graphql",
        json={"query": document, "variables": variables, "operationName": name},
        headers={"Authorization": f"Bearer {key}"},
    )
    body = orjson.loads(response.content)
    # The server renders with orjson.dumps; dumping the parsed member again gives the same
    # bytes, which the substring check proves for this very response.
    data = orjson.dumps(body.get("data"))
    assert "data" not in body or b'"data":' + data in response.content
    errors = [
        (e.get("extensions", {}).get("code"), e["message"], e.get("path", []))
        for e in body.get("errors", [])
    ]
    return Answer(response.status_code, data, errors)


def _with_ids(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith("ext:"):
        return ids[value.removeprefix("ext:")]
    if isinstance(value, list):
        return [_with_ids(item, ids) for item in value]
    if isinstance(value, dict):
        return {k: _with_ids(v, ids) for k, v in value.items()}
    return value


def _operation_names(document: str) -> list[str | None]:
    return [
        d.name.value if d.name else None
        for d in parse(document).definitions
        if isinstance(d, OperationDefinitionNode)
    ]


def test_every_corpus_original_and_its_rewrite_answer_the_same_bytes(harness: Harness) -> None:
    tenant = harness.new_tenant()
    ingested = harness.ingest(tenant.admin_key, CASE_DATA)
    assert ingested.status_code == 200, ingested.text
    ids: dict[str, str] = ingested.json()["ids"]
    assert harness.services.graph.recompute_pagerank(tenant.id) > 0

    compared = refused_alike = 0
    differences: list[str] = []
    for path in CORPUS_FILES:
        original = path.read_text()
        variables = _with_ids(CORPUS_VARIABLES.get(path.stem, {}), ids)
        result = rewrite_document(V1, original)
        for name in _operation_names(original):
            before = _post(harness, tenant.admin_key, original, name, variables)
            if result.status == "not_rewritable":
                # The corpus' unrewritable operations are exactly those v1 refuses today.
                assert before.status == 400, (path.stem, before)
                assert before.errors[0][0] == "GRAPHQL_VALIDATION", (path.stem, before)
                refused_alike += 1
                continue
            if result.document is None:
                assert before.status == 200, (path.stem, before)
                continue
            after = _post(harness, tenant.admin_key, result.document, name, variables)
            compared += 1
            if before != after:
                differences.append(f"{path.stem}/{name}:\n  {before}\n  {after}")
            elif path.stem != "neighbors_unknown_entity":
                assert before.status == 200 and not before.errors, (path.stem, before)

    assert differences == []
    assert compared >= 60
    assert refused_alike == 3
    # The comparison notices a rewrite that changes the shape: text substitution does.
    card = (CORPUS / "entity_card.graphql").read_text()
    naive = card.replace(" name\n", " label\n").replace(" props\n", " attributes\n")
    variables = {"id": ids["p-ada"]}
    assert _post(harness, tenant.admin_key, naive, None, variables) != _post(
        harness, tenant.admin_key, card, None, variables
    )


# --- the CLI --------------------------------------------------------------------------------


def _manifest(tmp_path: Path, operations: list[dict[str, Any]]) -> Path:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"operations": operations, "owner": "platform"}))
    return path


def test_pq_rewrite_reports_and_writes_a_manifest_with_bumped_versions(tmp_path: Path) -> None:
    documents = {
        "getEntityById:v1": (CORPUS / "get_entity_by_id.graphql").read_text(),
        "getEntityById:v2": "query getEntityById($id: ID!) { entity(id: $id) { label } }",
        "pagerankTop:v1": (CORPUS / "pagerank_top.graphql").read_text(),
        "labelClash:v3": (CORPUS / "label_key_clash.graphql").read_text(),
    }
    manifest = _manifest(
        tmp_path,
        [
            {"id": op_id, "document": text, "roles": ["analyst"], "note": op_id}
            for op_id, text in documents.items()
        ],
    )
    out = tmp_path / "new.json"

    outcome = CliRunner().invoke(pq_app, ["rewrite", str(manifest), "--out", str(out)])

    assert outcome.exit_code == 0, outcome.output
    assert "2 rewritten automatically, 1 needed nothing, 1 could not be rewritten" in (
        " ".join(outcome.output.split())
    )
    assert "labelClash:v3" in outcome.output
    written = json.loads(out.read_text())
    assert written["owner"] == "platform"
    by_id = {op["id"]: op for op in written["operations"]}
    assert list(by_id) == [
        "getEntityById:v3",
        "getEntityById:v2",
        "pagerankTop:v2",
        "labelClash:v3",
    ]
    assert by_id["getEntityById:v3"]["document"] == rewritten(documents["getEntityById:v1"])
    assert by_id["getEntityById:v3"]["roles"] == ["analyst"]
    assert by_id["getEntityById:v3"]["note"] == "getEntityById:v1"
    assert by_id["getEntityById:v2"]["document"] == documents["getEntityById:v2"]
    assert by_id["labelClash:v3"]["document"] == documents["labelClash:v3"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not JSON"),
        ('{"ops": []}', "operations"),
        ('{"operations": [{"id": "noVersion", "document": "{ x }"}]}', "operations.0.id"),
        (
            '{"operations": [{"id": "a:v1", "document": "{ x }"}, '
            '{"id": "a:v1", "document": "{ y }"}]}',
            "appears twice",
        ),
    ],
    ids=["not-json", "no-operations", "bad-id", "duplicate-id"],
)
def test_pq_rewrite_refuses_an_invalid_manifest_with_exit_code_1(
    tmp_path: Path, content: str, message: str
) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(content)

    outcome = CliRunner().invoke(pq_app, ["rewrite", str(manifest)])

    assert outcome.exit_code == 1
    assert message in " ".join(outcome.output.split())


def test_pq_rewrite_of_a_missing_manifest_exits_1(tmp_path: Path) -> None:
    outcome = CliRunner().invoke(pq_app, ["rewrite", str(tmp_path / "absent.json")])

    assert outcome.exit_code == 1
    assert "cannot read" in outcome.output
