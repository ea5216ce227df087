"""SQL for the graph area. Every statement filters on the tenant it is given."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import (
    Column,
    Connection,
    Row,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)

from intelgraph.graph.model import Entity, Relationship
from intelgraph.graph.provenance import GENESIS_HASH, ProvenanceLink, link_hash
from intelgraph.graph.search_terms import prefix_upper_bound
from intelgraph.store.batching import chunks
from intelgraph.store.engine import as_utc
from intelgraph.store.tables import (
    entities,
    entity_terms,
    idempotency_keys,
    pagerank_scores,
    provenance,
    provenance_heads,
    relationships,
)


def to_entity(row: Row[Any]) -> Entity:
    return Entity(
        tenant_id=row.tenant_id,
        id=row.entity_id,
        external_id=row.external_id,
        type=row.type,
        label=row.label,
        attributes=row.attributes,
        confidence=row.confidence,
        source=row.source,
        purposes=row.purposes,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
    )


def to_relationship(row: Row[Any]) -> Relationship:
    return Relationship(
        tenant_id=row.tenant_id,
        id=row.relationship_id,
        type=row.type,
        from_id=row.from_id,
        to_id=row.to_id,
        confidence=row.confidence,
        attributes=row.attributes,
        first_seen=as_utc(row.first_seen),
        last_seen=as_utc(row.last_seen),
    )


# --- provenance -------------------------------------------------------------------------


def start_provenance_chain(conn: Connection, tenant_id: str) -> None:
    """Begin a new tenant's provenance chain at the genesis link, in the caller's transaction
    (the tenants area runs this as an on-tenant-created hook; app.py wires it)."""
    conn.execute(insert(provenance_heads).values(tenant_id=tenant_id, seq=0, hash=GENESIS_HASH))


def lock_provenance_head(conn: Connection, tenant_id: str) -> tuple[int, str]:
    """Take the tenant's write lock (first statement of a write) and return the chain head."""
    # One round trip: the no-op UPDATE takes the row lock and RETURNING reads the head
    # (SQLite >= 3.35 and PostgreSQL both have it).
    row = conn.execute(_LOCK_HEAD, {"tenant": tenant_id}).one()
    return int(row.seq), str(row.hash)


_LOCK_HEAD = (
    update(provenance_heads)
    .where(provenance_heads.c.tenant_id == bindparam("tenant"))
    .values(seq=provenance_heads.c.seq)
    .returning(provenance_heads.c.seq, provenance_heads.c.hash)
)


def append_provenance(
    conn: Connection,
    tenant_id: str,
    head: tuple[int, str],
    *,
    action: str,
    actor: str,
    target: str,
    digest: str,
    at: datetime,
) -> tuple[int, str]:
    """Append one link after ``head`` and move the head; returns the new head."""
    seq, prev_hash = head[0] + 1, head[1]
    this_hash = link_hash(tenant_id, seq, prev_hash, action, actor, target, digest, at)
    conn.execute(
        insert(provenance).values(
            tenant_id=tenant_id,
            seq=seq,
            prev_hash=prev_hash,
            hash=this_hash,
            action=action,
            actor=actor,
            target=target,
            payload_digest=digest,
            created_at=at,
        )
    )
    conn.execute(
        update(provenance_heads)
        .where(provenance_heads.c.tenant_id == tenant_id)
        .values(seq=seq, hash=this_hash)
    )
    return seq, this_hash


def provenance_links(conn: Connection, tenant_id: str) -> list[ProvenanceLink]:
    rows = conn.execute(
        select(provenance).where(provenance.c.tenant_id == tenant_id).order_by(provenance.c.seq)
    )
    return [
        ProvenanceLink(
            tenant_id=row.tenant_id,
            seq=row.seq,
            prev_hash=row.prev_hash,
            hash=row.hash,
            action=row.action,
            actor=row.actor,
            target=row.target,
            payload_digest=row.payload_digest,
            created_at=row.created_at,
        )
        for row in rows
    ]


# --- idempotency --------------------------------------------------------------------------


def find_idempotent_response(
    conn: Connection, tenant_id: str, key: str, not_before: datetime
) -> tuple[str, int, bytes] | None:
    row = conn.execute(
        select(
            idempotency_keys.c.request_digest, idempotency_keys.c.status, idempotency_keys.c.body
        ).where(
            idempotency_keys.c.tenant_id == tenant_id,
            idempotency_keys.c.idempotency_key == key,
            idempotency_keys.c.created_at >= not_before,
        )
    ).first()
    return None if row is None else (row.request_digest, row.status, bytes(row.body))


def store_idempotent_response(
    conn: Connection, tenant_id: str, key: str, digest: str, status: int, body: bytes, at: datetime
) -> None:
    conn.execute(
        delete(idempotency_keys).where(
            idempotency_keys.c.tenant_id == tenant_id, idempotency_keys.c.idempotency_key == key
        )
    )
    conn.execute(
        insert(idempotency_keys).values(
            tenant_id=tenant_id,
            idempotency_key=key,
            request_digest=digest,
            status=status,
            body=body,
            created_at=at,
        )
    )


# --- writes ---------------------------------------------------------------------------------


StoredEntity = tuple[str, str, str, str]
"""(entity_id, type, label, attributes JSON text) of an entity found by external_id: the
label and attributes give the search terms a re-ingest must remove."""


def existing_by_external_id(
    conn: Connection, tenant_id: str, external_ids: Sequence[str]
) -> dict[str, StoredEntity]:
    """external_id → (entity_id, type, label, attributes JSON text) for those that exist."""
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(_PG_ENTITIES_BY_EXTERNAL_ID, (list(external_ids), tenant_id))
        return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}
    found: dict[str, StoredEntity] = {}
    for part in chunks(external_ids):
        # Driver-level SQL: SQLAlchemy's expanding IN cost three times the lookups themselves.
        statement = (
            "SELECT external_id, entity_id, type, label, attributes FROM entities "
            f"WHERE tenant_id = ? AND external_id IN ({_marks(len(part))})"
        )
        for row in conn.exec_driver_sql(statement, (tenant_id, *part)):
            found[row[0]] = (row[1], row[2], row[3], row[4])
    return found


def _marks(count: int) -> str:
    return ", ".join("?" * count)


# PostgreSQL: one probe of the (tenant_id, external_id) unique index per id. Written as
# `IN (...)`, a table not yet analysed (a first bulk load: autovacuum runs a minute later)
# got a plan reading every row of the tenant; LIMIT 1 keeps the lateral subquery a
# parameterised index scan whatever the statistics say (30 ms -> 3 ms per 1,000 ids at
# 30,000 rows, and it no longer grows with the tenant).
_PG_ENTITIES_BY_EXTERNAL_ID = """
SELECT e.external_id, e.entity_id, e.type, e.label, e.attributes
FROM unnest(%s::text[]) AS wanted(external_id)
CROSS JOIN LATERAL (
    SELECT external_id, entity_id, type, label, attributes::text AS attributes FROM entities
    WHERE tenant_id = %s AND external_id = wanted.external_id LIMIT 1
) AS e
"""
# The same for the edges leaving some entities; OFFSET 0 keeps the subquery from being
# flattened into a join that scans the tenant's relationships.
_PG_EDGES_FROM = """
SELECT r.from_id, r.type, r.to_id, r.relationship_id
FROM unnest(%s::text[]) AS wanted(from_id)
CROSS JOIN LATERAL (
    SELECT from_id, type, to_id, relationship_id FROM relationships
    WHERE tenant_id = %s AND from_id = wanted.from_id OFFSET 0
) AS r
"""


# Bulk inserts go to the driver directly (COPY on PostgreSQL, executemany of tuples on
# SQLite): SQLAlchemy's per-row parameter processing cost more than the inserts themselves
# (measured with bench/bench_ingest.py). JSON columns are serialised here, times through the
# column type's own bind processor, so the stored text is read back exactly as before.
NewEntityRow = tuple[str, str, str, str, str, str, float, str | None, str]
"""(tenant_id, entity_id, external_id, type, label, attributes JSON text, confidence, source,
purposes JSON text): a new entity in ``_ENTITY_COLUMNS`` order, times left out."""
NewRelationshipRow = tuple[str, str, str, str, str, float, str]
"""(tenant_id, relationship_id, type, from_id, to_id, confidence, attributes JSON text)."""

_ENTITY_COLUMNS = (
    "tenant_id",
    "entity_id",
    "external_id",
    "type",
    "label",
    "attributes",
    "confidence",
    "source",
    "purposes",
    "created_at",
    "updated_at",
)
_RELATIONSHIP_COLUMNS = (
    "tenant_id",
    "relationship_id",
    "type",
    "from_id",
    "to_id",
    "confidence",
    "attributes",
    "first_seen",
    "last_seen",
)


def json_text(value: Any) -> str:
    """A JSON column's stored text (what SQLAlchemy's JSON type would have written)."""
    return orjson.dumps(value).decode()


def _bulk_insert(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows`` (values in ``columns`` order, JSON already text) in one driver call."""
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    statement = f"INSERT INTO {table.name} ({names}) VALUES ({_marks(len(columns))})"
    conn.exec_driver_sql(statement, rows)


def _bound_time(conn: Connection, column: Column[Any], moment: datetime) -> Any:
    """``moment`` as the bulk insert passes it: the column type's own text on SQLite; ISO
    8601 text for COPY on PostgreSQL, which parses it exactly (psycopg's datetime dumper
    cost 2 ms per 1,000 rows of two timestamps)."""
    if conn.dialect.name == "postgresql":
        return moment.isoformat()
    process = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return moment if process is None else process(moment)


def insert_entities(conn: Connection, rows: Sequence[NewEntityRow], at: datetime) -> None:
    """Insert new entities, created and updated ``at``."""
    if not rows:
        return
    stamp = (_bound_time(conn, entities.c.created_at, at),) * 2
    _bulk_insert(conn, entities, _ENTITY_COLUMNS, [row + stamp for row in rows])


UpdatedEntityRow = tuple[str, str, float, str | None, str, str, str]
"""(label, attributes JSON text, confidence, source, purposes JSON text, tenant_id,
entity_id): new contents of an existing entity, in ``_UPDATE_ENTITY`` parameter order."""

_UPDATE_ENTITY = (
    "UPDATE entities SET label = {p}, attributes = {p}, confidence = {p}, source = {p}, "
    "purposes = {p}, updated_at = {p} WHERE tenant_id = {p} AND entity_id = {p}"
)


def update_entities(conn: Connection, rows: Sequence[UpdatedEntityRow], at: datetime) -> None:
    """Replace label, attributes, confidence, source, purposes of existing entities, updated
    ``at``. Through the driver, like the inserts: the JSON text stored is the inserts' own,
    so an unchanged re-ingest is recognised by comparing it (and SQLAlchemy's per-row
    parameter processing cost more than the updates)."""
    if not rows:
        return
    stamp = _bound_time(conn, entities.c.updated_at, at)
    placeholder = "%s" if conn.dialect.name == "postgresql" else "?"
    statement = _UPDATE_ENTITY.format(p=placeholder)
    conn.exec_driver_sql(statement, [(*row[:5], stamp, *row[5:]) for row in rows])


TermRow = tuple[str, str, str]
"""(tenant_id, term, entity_id): a row of entity_terms, its whole primary key."""


def write_terms(conn: Connection, stale: Sequence[TermRow], fresh: Sequence[TermRow]) -> None:
    """Delete the ``stale`` term rows (by primary key) and insert the ``fresh`` ones.

    entity_terms has no index on entity_id (migration 0012): a caller removes an entity's
    terms by naming each one, recomputed from what the entity stored.
    """
    if stale:
        # One primary-key probe per row, whatever the planner knows of the table's size.
        placeholder = "%s" if conn.dialect.name == "postgresql" else "?"
        statement = (
            f"DELETE FROM {entity_terms.name} WHERE {entity_terms.c.tenant_id.name} = "
            f"{placeholder} AND {entity_terms.c.term.name} = {placeholder} AND "
            f"{entity_terms.c.entity_id.name} = {placeholder}"
        )
        conn.exec_driver_sql(statement, list(stale))
    if fresh:
        # In term order, each insert lands next to the one before in the primary key's
        # B-tree, and a term's leaf is found once rather than once per entity.
        in_order = sorted(fresh, key=_TERM_OF_ROW)
        _bulk_insert(conn, entity_terms, ("tenant_id", "term", "entity_id"), in_order)


_TERM_OF_ROW = itemgetter(1)


def existing_edges(
    conn: Connection, tenant_id: str, from_ids: Sequence[str]
) -> dict[tuple[str, str, str], str]:
    """(from_id, type, to_id) → relationship_id for edges leaving ``from_ids``."""
    found: dict[tuple[str, str, str], str] = {}
    distinct = sorted(set(from_ids))
    if not distinct:
        return found
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(_PG_EDGES_FROM, (distinct, tenant_id))
        return {(from_id, type_, to_id): rel_id for from_id, type_, to_id, rel_id in rows}
    for part in chunks(distinct):
        statement = (
            "SELECT from_id, type, to_id, relationship_id FROM relationships "
            f"WHERE tenant_id = ? AND from_id IN ({_marks(len(part))})"
        )
        for from_id, type_, to_id, rel_id in conn.exec_driver_sql(statement, (tenant_id, *part)):
            found[(from_id, type_, to_id)] = rel_id
    return found


def insert_relationships(
    conn: Connection, rows: Sequence[NewRelationshipRow], at: datetime
) -> None:
    """Insert new relationships, first and last seen ``at``."""
    if not rows:
        return
    stamp = (_bound_time(conn, relationships.c.first_seen, at),) * 2
    _bulk_insert(conn, relationships, _RELATIONSHIP_COLUMNS, [row + stamp for row in rows])


def touch_relationships(conn: Connection, tenant_id: str, rows: list[dict[str, Any]]) -> None:
    """Record a re-observed edge: new confidence/attributes, last_seen moves on."""
    if not rows:
        return
    statement = (
        update(relationships)
        .where(
            relationships.c.tenant_id == tenant_id,
            relationships.c.relationship_id == bindparam("b_id"),
        )
        .values(
            confidence=bindparam("confidence"),
            attributes=bindparam("attributes"),
            last_seen=bindparam("last_seen"),
        )
    )
    conn.execute(statement, rows)


# Tables whose lookups an ingest makes by a unique key. Never analysed (a new database's
# first bulk load, before autovacuum's first pass), PostgreSQL costed the small type index
# (tenant_id, type, entity_id) below the unique (tenant_id, external_id) one and probed each
# external id by reading the whole tenant: 70 ms per 1,000 ids at 2,000 rows, growing with
# every batch (bench/bench_ingest.py). With any statistics it takes the unique index.
_LOOKUP_TABLES = (entities.name, relationships.name)


def never_analysed(conn: Connection) -> list[str]:
    """The lookup tables PostgreSQL has no statistics for yet ([] on SQLite)."""
    if conn.dialect.name != "postgresql":
        return []
    rows = conn.exec_driver_sql(
        "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY(%s) "
        "AND schemaname = current_schema() "
        "AND last_analyze IS NULL AND last_autoanalyze IS NULL",
        (list(_LOOKUP_TABLES),),
    )
    return [str(row[0]) for row in rows]


def analyse(conn: Connection, tables: Sequence[str]) -> None:
    """Gather planner statistics for ``tables`` (names from ``never_analysed``)."""
    for table in tables:
        if table in _LOOKUP_TABLES:  # fixed names only: never SQL built from input
            conn.exec_driver_sql(f"ANALYZE {table}")


# --- reads ----------------------------------------------------------------------------------


def get_entities(conn: Connection, tenant_id: str, entity_ids: Sequence[str]) -> dict[str, Entity]:
    found: dict[str, Entity] = {}
    for part in chunks(list(entity_ids)):
        rows = conn.execute(
            select(entities).where(
                entities.c.tenant_id == tenant_id, entities.c.entity_id.in_(part)
            )
        )
        for row in rows:
            found[row.entity_id] = to_entity(row)
    return found


# Hot-path statements are built once: constructing a select costs more than running it.
_ENTITY_BY_ID = select(entities).where(
    entities.c.tenant_id == bindparam("tenant_id"), entities.c.entity_id == bindparam("entity_id")
)
_DEGREE_OF_ONE = select(
    select(func.count())
    .where(
        relationships.c.tenant_id == bindparam("tenant_id"),
        relationships.c.from_id == bindparam("entity_id"),
    )
    .scalar_subquery()
    + select(func.count())
    .where(
        relationships.c.tenant_id == bindparam("tenant_id"),
        relationships.c.to_id == bindparam("entity_id"),
    )
    .scalar_subquery()
)


def get_entity(conn: Connection, tenant_id: str, entity_id: str) -> Entity | None:
    row = conn.execute(_ENTITY_BY_ID, {"tenant_id": tenant_id, "entity_id": entity_id}).first()
    return None if row is None else to_entity(row)


def degrees(conn: Connection, tenant_id: str, entity_ids: Sequence[str]) -> dict[str, int]:
    """Number of relationships touching each entity (both directions)."""
    if len(entity_ids) == 1:
        only = entity_ids[0]
        total = conn.execute(_DEGREE_OF_ONE, {"tenant_id": tenant_id, "entity_id": only}).scalar()
        return {only: int(total or 0)}
    counts = dict.fromkeys(entity_ids, 0)
    for column in (relationships.c.from_id, relationships.c.to_id):
        for part in chunks(list(entity_ids)):
            rows = conn.execute(
                select(column, func.count())
                .where(relationships.c.tenant_id == tenant_id, column.in_(part))
                .group_by(column)
            )
            for entity_id, count in rows:
                counts[entity_id] += int(count)
    return counts


def search_entity_ids(
    conn: Connection,
    tenant_id: str,
    prefixes: Sequence[str],
    types: Sequence[str] | None,
    after: str | None,
    limit: int,
) -> tuple[list[Entity], int]:
    """Entities having, for every prefix, a term starting with it; ordered by id."""
    conditions = [entities.c.tenant_id == tenant_id]
    is_postgres = conn.dialect.name == "postgresql"
    for prefix in prefixes:
        matching = select(entity_terms.c.entity_id).where(
            entity_terms.c.tenant_id == tenant_id,
            entity_terms.c.term >= prefix,
            entity_terms.c.term < prefix_upper_bound(prefix),
        )
        if is_postgres:
            # DISTINCT makes PostgreSQL read each prefix's term range once. As a plain
            # semi-join it re-read the range for every candidate entity (entity_id, the
            # key's last column, cannot narrow a range on term): with no entity_id index
            # (migration 0012) two prefixes took 0.3 s on 100,000 entities, 16 s before
            # the table was analysed; now 5 ms and 50 ms. SQLite reads each range once
            # either way and is slower with DISTINCT on short prefixes.
            matching = matching.distinct()
        conditions.append(entities.c.entity_id.in_(matching))
    if types:
        conditions.append(entities.c.type.in_(list(types)))
    where = and_(*conditions)
    total = int(conn.execute(select(func.count()).select_from(entities).where(where)).scalar_one())
    page_where = where if after is None else and_(where, entities.c.entity_id > after)
    rows = conn.execute(
        select(entities).where(page_where).order_by(entities.c.entity_id).limit(limit)
    )
    return [to_entity(row) for row in rows], total


EdgeEnds = tuple[str, str, str]  # (relationship_id, from_id, to_id)


def edge_ends_touching(
    conn: Connection,
    tenant_id: str,
    entity_ids: Sequence[str],
    types: Sequence[str] | None,
    budget: int,
) -> list[EdgeEnds]:
    """Ids and ends of relationships touching ``entity_ids`` (at most ``budget``).

    Traversal needs only the ends; full rows are loaded for the edges that are kept.
    """
    found: dict[str, EdgeEnds] = {}
    columns = (relationships.c.relationship_id, relationships.c.from_id, relationships.c.to_id)
    for column in (relationships.c.from_id, relationships.c.to_id):
        for part in chunks(list(entity_ids)):
            statement = select(*columns).where(
                relationships.c.tenant_id == tenant_id, column.in_(part)
            )
            if types:
                statement = statement.where(relationships.c.type.in_(list(types)))
            for rel_id, from_id, to_id in conn.execute(statement.limit(budget - len(found) + 1)):
                found.setdefault(rel_id, (rel_id, from_id, to_id))
                if len(found) >= budget:
                    return list(found.values())
    return list(found.values())


def get_relationships(
    conn: Connection, tenant_id: str, relationship_ids: Sequence[str]
) -> dict[str, Relationship]:
    found: dict[str, Relationship] = {}
    for part in chunks(list(relationship_ids)):
        rows = conn.execute(
            select(relationships).where(
                relationships.c.tenant_id == tenant_id,
                relationships.c.relationship_id.in_(part),
            )
        )
        for row in rows:
            found[row.relationship_id] = to_relationship(row)
    return found


def all_edges(
    conn: Connection, tenant_id: str
) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """Every entity id with its type, and every (from, to) pair of the tenant, for analytics.

    Read through the driver's own cursor: its rows are plain tuples, while a SQLAlchemy Row
    per relationship cost more than the rest of a PageRank (10^6 edges: ~1 s of 5 s, and
    the id-to-index mapping is faster on the driver's tuples). The statements are fixed
    and bind the tenant id as a parameter. The edges may name entities that are not in the
    node list (an ingest committed between the two reads); PageRank ignores those.
    """
    node_rows = _driver_rows(
        conn,
        f"SELECT {entities.c.entity_id.name}, {entities.c.type.name} FROM {entities.name} "
        f"WHERE {entities.c.tenant_id.name} = :tenant_id",
        tenant_id,
    )
    edges = _driver_rows(
        conn,
        f"SELECT {relationships.c.from_id.name}, {relationships.c.to_id.name} "
        f"FROM {relationships.name} WHERE {relationships.c.tenant_id.name} = :tenant_id",
        tenant_id,
    )
    nodes = [row[0] for row in node_rows]
    types = [row[1] for row in node_rows]
    return nodes, types, edges


def _driver_rows(conn: Connection, sql: str, tenant_id: str) -> list[Any]:
    """``sql`` (one ``:tenant_id`` parameter) run on the DBAPI cursor: a list of tuples."""
    placeholder = "?" if conn.dialect.name == "sqlite" else "%s"
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql.replace(":tenant_id", placeholder), (tenant_id,))
        return list(cursor.fetchall())
    finally:
        cursor.close()


def replace_pagerank(
    conn: Connection, tenant_id: str, scores: dict[str, float], at: datetime
) -> None:
    conn.execute(delete(pagerank_scores).where(pagerank_scores.c.tenant_id == tenant_id))
    rows = [
        {"tenant_id": tenant_id, "entity_id": entity_id, "score": score, "computed_at": at}
        for entity_id, score in scores.items()
    ]
    if rows:
        conn.execute(insert(pagerank_scores), rows)


def top_pagerank(
    conn: Connection, tenant_id: str, limit: int, entity_type: str | None
) -> list[tuple[Entity, float, datetime]]:
    statement = (
        select(entities, pagerank_scores.c.score, pagerank_scores.c.computed_at)
        .join(
            pagerank_scores,
            and_(
                pagerank_scores.c.tenant_id == entities.c.tenant_id,
                pagerank_scores.c.entity_id == entities.c.entity_id,
            ),
        )
        .where(entities.c.tenant_id == tenant_id)
        .order_by(pagerank_scores.c.score.desc(), entities.c.entity_id)
        .limit(limit)
    )
    if entity_type:
        statement = statement.where(entities.c.type == entity_type)
    return [(to_entity(row), row.score, as_utc(row.computed_at)) for row in conn.execute(statement)]


def count_rows(conn: Connection, tenant_id: str) -> dict[str, int]:
    """Row counts of the tenant's graph tables (for stats and tests)."""
    return {
        "entities": int(
            conn.execute(
                select(func.count()).select_from(entities).where(entities.c.tenant_id == tenant_id)
            ).scalar_one()
        ),
        "relationships": int(
            conn.execute(
                select(func.count())
                .select_from(relationships)
                .where(relationships.c.tenant_id == tenant_id)
            ).scalar_one()
        ),
    }
