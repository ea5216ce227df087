"""Pair overrides: pairs a person decided are (or are not) a match.

Every statement filters on the tenant it is given.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert, select

from intelgraph.store.tables import (
    er_pair_overrides,
)


def set_override(
    conn: Connection,
    tenant_id: str,
    entity_type: str,
    pair: tuple[str, str],
    decision: str,
    actor: str,
    reason: str | None,
    now: datetime,
) -> None:
    left, right = sorted(pair)
    conn.execute(
        delete(er_pair_overrides).where(
            er_pair_overrides.c.tenant_id == tenant_id,
            er_pair_overrides.c.left_id == left,
            er_pair_overrides.c.right_id == right,
        )
    )
    conn.execute(
        insert(er_pair_overrides).values(
            tenant_id=tenant_id,
            left_id=left,
            right_id=right,
            entity_type=entity_type,
            decision=decision,
            actor=actor,
            reason=reason,
            created_at=now,
        )
    )


def remove_override(conn: Connection, tenant_id: str, pair: tuple[str, str]) -> None:
    left, right = sorted(pair)
    conn.execute(
        delete(er_pair_overrides).where(
            er_pair_overrides.c.tenant_id == tenant_id,
            er_pair_overrides.c.left_id == left,
            er_pair_overrides.c.right_id == right,
        )
    )


def no_match_pairs(conn: Connection, tenant_id: str, entity_type: str) -> list[tuple[str, str]]:
    rows = conn.execute(
        select(er_pair_overrides.c.left_id, er_pair_overrides.c.right_id).where(
            er_pair_overrides.c.tenant_id == tenant_id,
            er_pair_overrides.c.entity_type == entity_type,
            er_pair_overrides.c.decision == "NO_MATCH",
        )
    )
    return [(row.left_id, row.right_id) for row in rows]
