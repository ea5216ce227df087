"""A tenant's graph read in bulk for analytics: ids as blocks of bytes, not rows.

PageRank needs every relationship of a tenant, 10^6 of them for a large one. Read as rows,
the driver makes a tuple and two strings per relationship (~0.5 s, ~200 MiB for 10^6),
which cost more than the ranking. Here the database concatenates the ids itself
(``group_concat`` on SQLite, ``string_agg`` on PostgreSQL) and returns a few large byte
blocks, W bytes per id: the node ids with their types, and the ``from_id || to_id`` of
every relationship. ``graph.id_lookup`` turns them into integer arrays.

This works when all of the tenant's entity ids have the same width in bytes (they do:
``new_id``). Relationships whose ends have another width cannot name an entity and are
left out by the query, as PageRank would ignore them. When the entity ids differ in width,
``load_graph_blocks`` returns None and the caller reads rows (``repository.all_edges``).

The statements are fixed and bind the tenant id and the width as parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from intelgraph.store.tables import entities, relationships

__all__ = ["GraphBlocks", "load_graph_blocks"]

TYPE_SEPARATOR = "\x1f"
"""Between two types in the types block (ASCII unit separator, never in a type name)."""

_PG_PARTS = 16
"""PostgreSQL returns the relationships in this many blocks (by a hash of ``from_id``): no
value nears its 1 GB limit below ~300 million relationships, and the client receives the
blocks while the server builds the next."""


@dataclass(frozen=True)
class GraphBlocks:
    """A tenant's graph as byte blocks."""

    width: int
    """Bytes per id."""
    node_ids: bytes
    """Every entity id, ``width`` bytes each."""
    types: list[str]
    """The type of each entity, in the order of ``node_ids``."""
    edge_ends: list[bytes]
    """Blocks of ``from_id || to_id`` pairs, ``2 * width`` bytes per relationship."""

    @property
    def edge_count(self) -> int:
        return sum(len(block) for block in self.edge_ends) // (2 * self.width)


def load_graph_blocks(conn: Connection, tenant_id: str) -> GraphBlocks | None:
    """The tenant's entity ids, types and relationship ends as byte blocks; None when its
    entity ids differ in width (read rows instead). An empty graph gives empty blocks."""
    is_sqlite = conn.dialect.name == "sqlite"
    width_of = "length(CAST({} AS BLOB))" if is_sqlite else "octet_length({})"
    concat = (
        "CAST(group_concat({}, '') AS BLOB)"
        if is_sqlite
        else "convert_to(string_agg({}, ''), 'UTF8')"
    )
    joined = "group_concat({}, char(31))" if is_sqlite else "string_agg({}, chr(31))"
    entity_id, entity_type = entities.c.entity_id.name, entities.c.type.name
    node_sql = (
        f"SELECT count(*), min({width_of.format(entity_id)}), max({width_of.format(entity_id)}), "
        f"{concat.format(entity_id)}, {joined.format(entity_type)} "
        f"FROM {entities.name} WHERE {entities.c.tenant_id.name} = :tenant_id"
    )
    cursor = _driver_cursor(conn)
    try:
        count, narrowest, widest, node_ids, types = _one_row(
            cursor, conn, node_sql, {"tenant_id": tenant_id}
        )
        if not count:
            return GraphBlocks(width=0, node_ids=b"", types=[], edge_ends=[])
        if narrowest != widest:
            return None
        width = int(widest)
        type_list = types.split(TYPE_SEPARATOR) if types else [""]
        if len(node_ids) != count * width or len(type_list) != count:
            return None  # a type holding the separator: read rows
        from_id, to_id = relationships.c.from_id.name, relationships.c.to_id.name
        edge_sql = (
            f"SELECT {concat.format(f'{from_id} || {to_id}')} FROM {relationships.name} "
            f"WHERE {relationships.c.tenant_id.name} = :tenant_id "
            f"AND {width_of.format(from_id)} = :width AND {width_of.format(to_id)} = :width"
        )
        if not is_sqlite:
            edge_sql += f" GROUP BY hashtext({from_id}) & {_PG_PARTS - 1}"
        _execute(cursor, conn, edge_sql, {"tenant_id": tenant_id, "width": width})
        blocks = [bytes(row[0]) for row in cursor.fetchall() if row[0] is not None]
    finally:
        cursor.close()
    return GraphBlocks(width=width, node_ids=bytes(node_ids), types=type_list, edge_ends=blocks)


def _driver_cursor(conn: Connection) -> Any:
    return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


def _execute(cursor: Any, conn: Connection, sql: str, params: dict[str, Any]) -> None:
    """``sql`` with ``:name`` parameters on the DBAPI cursor (psycopg: binary results, so
    ``bytea`` arrives as bytes, not hex text)."""
    if conn.dialect.name == "sqlite":
        cursor.execute(sql, params)
        return
    for name in params:
        sql = sql.replace(f":{name}", f"%({name})s")
    cursor.execute(sql, params, binary=True)


def _one_row(cursor: Any, conn: Connection, sql: str, params: dict[str, Any]) -> Any:
    _execute(cursor, conn, sql, params)
    return cursor.fetchone()
