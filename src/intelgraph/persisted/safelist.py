"""Which persisted operations the edge cache may serve, and for how long.

The safelist is data: shipped in ``safelist.json``, kept in the ``edge_cache_safelist``
table, changed by operators (CLI or admin REST; this service asks policy), every change
audited. Only an operation registered at platform scope can be listed, and only one whose
response the purges can keep exact: its root fields must be ones whose answer depends only
on the entities it names or returns (or on analytics, purged when they recompute), and it
must not read entity resolution (a merge does not purge). ``pagerankTop`` makes an operation
graph-derived: the tenant's entries of it are purged whenever PageRank is recomputed.

Each process keeps a snapshot and reloads it every few seconds, so an operator's change
reaches every replica within ``REFRESH_SECONDS`` without a database read per request.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from importlib import resources
from typing import Any

import orjson
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, parse, visit
from graphql.language import Visitor
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from intelgraph.audit.unit_of_work import UnitOfWorkFactory
from intelgraph.kernel.clock import Clock
from intelgraph.kernel.errors import VALIDATION, IntelGraphError
from intelgraph.kernel.tenancy import Principal
from intelgraph.persisted import safelist_repository as repository
from intelgraph.persisted.registry import PLATFORM, PersistedQueryRegistry
from intelgraph.policy.actions import Action
from intelgraph.policy.engine import PolicyEngine

log = logging.getLogger(__name__)

REFRESH_SECONDS = 5.0
MIN_TTL = 1
MAX_TTL = 86_400
# Root fields whose answer changes only when an entity it names or returns changes (ingest
# purges those tags), or when analytics are recomputed (pagerankTop: graph-derived).
PURGEABLE_ROOT_FIELDS = frozenset(
    {"entity", "entities", "neighbors", "pagerankTop", "apiVersion", "__typename"}
)
GRAPH_DERIVED_ROOT_FIELDS = frozenset({"pagerankTop"})
# Entity resolution results change on merges and splits, which do not purge the cache.
ER_FIELDS = frozenset({"canonicalId", "resolution", "members", "explainMatch"})


@dataclass(frozen=True, slots=True)
class SafelistEntry:
    operation_id: str
    ttl: int
    is_graph_derived: bool
    sha256: str  # the platform registration's document hash

    def as_dict(self) -> dict[str, Any]:
        return {
            "operationId": self.operation_id,
            "ttl": self.ttl,
            "graphDerived": self.is_graph_derived,
            "documentId": f"sha256:{self.sha256}",
        }


@dataclass(frozen=True, slots=True)
class _Snapshot:
    loaded_at: float
    by_operation: dict[str, SafelistEntry]
    by_sha256: dict[str, SafelistEntry]


def shipped_safelist() -> dict[str, dict[str, Any]]:
    """The safelist shipped with the code (``safelist.json``)."""
    text = resources.files("intelgraph.persisted").joinpath("safelist.json").read_text()
    shipped: dict[str, dict[str, Any]] = orjson.loads(text)
    return shipped


def cacheability(document: str) -> bool:
    """Whether the document is graph-derived. Raises VALIDATION when it cannot be cached
    exactly (not one query, a root field the purges cannot follow, entity resolution)."""
    try:
        parsed = parse(document)
    except GraphQLError as exc:
        raise IntelGraphError(VALIDATION, f"the operation does not parse: {exc.message}") from exc
    operations = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation.value != "query":
        raise IntelGraphError(VALIDATION, "only a document with exactly one query can be cached")
    roots = {
        s.name.value for s in operations[0].selection_set.selections if isinstance(s, FieldNode)
    }
    if len(roots) != len(operations[0].selection_set.selections):
        raise IntelGraphError(VALIDATION, "cached operations select root fields directly")
    unpurgeable = sorted(roots - PURGEABLE_ROOT_FIELDS)
    if unpurgeable:
        raise IntelGraphError(
            VALIDATION,
            f"root field(s) {', '.join(unpurgeable)} cannot be cached: an ingest could change "
            f"their answer without touching an entity they return; cacheable root fields are "
            f"{', '.join(sorted(PURGEABLE_ROOT_FIELDS - {'__typename'}))}",
        )
    used = _field_names(parsed)
    if used & ER_FIELDS:
        raise IntelGraphError(
            VALIDATION,
            f"field(s) {', '.join(sorted(used & ER_FIELDS))} read entity resolution, which "
            "merges change without purging the cache; cache an operation without them",
        )
    return bool(roots & GRAPH_DERIVED_ROOT_FIELDS)


def _field_names(document: Any) -> set[str]:
    names: set[str] = set()

    class Collect(Visitor):
        def enter_field(self, node: FieldNode, *_args: Any) -> None:
            names.add(node.name.value)

    visit(document, Collect())
    return names


class Safelist:
    """The safelist for this process: a snapshot for the request path, the table for edits."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        registry: PersistedQueryRegistry,
        policy: PolicyEngine,
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        self._engine = engine
        self._uow = UnitOfWorkFactory(engine, clock)
        self._clock = clock
        self._registry = registry
        self._policy = policy
        self._refresh_seconds = refresh_seconds
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()

    # --- request path ---------------------------------------------------------------------

    def for_operation(self, operation_id: str) -> SafelistEntry | None:
        return self._current().by_operation.get(operation_id)

    def for_sha256(self, sha256: str) -> SafelistEntry | None:
        return self._current().by_sha256.get(sha256)

    def _current(self) -> _Snapshot:
        snapshot = self._snapshot
        if (
            snapshot is None
            or self._clock.monotonic() - snapshot.loaded_at >= self._refresh_seconds
        ):
            snapshot = self.refresh()
        return snapshot

    def refresh(self) -> _Snapshot:
        """Reload the snapshot from the table now (also done every ``refresh_seconds``)."""
        with self._engine.connect() as conn:
            rows = repository.cached_rows(conn)
        by_operation: dict[str, SafelistEntry] = {}
        for row in rows:
            operation = self._registry.find_by_id(PLATFORM, row.operation_id)
            if operation is None or operation.tenant_id != PLATFORM:
                log.warning(
                    "safelisted operation is not registered; not cached",
                    extra={"operation": row.operation_id},
                )
                continue
            by_operation[row.operation_id] = SafelistEntry(
                row.operation_id, row.ttl_seconds, row.is_graph_derived, operation.sha256
            )
        snapshot = _Snapshot(
            self._clock.monotonic(),
            by_operation,
            {entry.sha256: entry for entry in by_operation.values()},
        )
        with self._lock:
            self._snapshot = snapshot
        return snapshot

    def graph_derived_operations(self) -> list[str]:
        return sorted(op for op, e in self._current().by_operation.items() if e.is_graph_derived)

    def ever_listed_operations(self) -> list[str]:
        """Every operation with a row, removed ones included (what a purge of all reaches)."""
        with self._engine.connect() as conn:
            return [row.operation_id for row in repository.all_rows(conn)]

    # --- start-up: no one asks, so no policy ---------------------------------------------

    def sync_shipped(self) -> int:
        """Insert the shipped entries never seen before; returns how many were added."""
        added = 0
        try:
            with self._uow() as uow:
                known = repository.known_operations(uow.conn)
                for operation_id, item in shipped_safelist().items():
                    if operation_id in known:
                        continue
                    is_graph_derived = self._validated(operation_id, int(item["ttl"]))
                    repository.insert_entry(
                        uow.conn,
                        operation_id,
                        ttl_seconds=int(item["ttl"]),
                        is_graph_derived=bool(item.get("graph_derived")) or is_graph_derived,
                        updated_by="shipped",
                        reason="shipped safelist",
                        at=uow.now,
                    )
                    added += 1
                uow.commit()
        except IntegrityError:  # another replica starting at the same time inserted them
            added = 0
        self._snapshot = None
        return added

    # --- operators: each asks policy -------------------------------------------------------

    def list_entries(self, principal: Principal) -> list[dict[str, Any]]:
        """Every row, removed ones included (``cached`` false), as the table holds them now.

        Raises POLICY_DENIED without tenant.admin (operators only)."""
        self._authorize(principal)
        with self._engine.connect() as conn:
            rows = repository.all_rows(conn)
        return [
            {
                "operationId": row.operation_id,
                "ttl": row.ttl_seconds,
                "graphDerived": row.is_graph_derived,
                "cached": row.is_cached,
                "updatedBy": row.updated_by,
                "reason": row.reason,
                "updatedAt": row.updated_at.isoformat(),
            }
            for row in rows
        ]

    def set_entry(
        self,
        principal: Principal,
        operation_id: str,
        ttl: int,
        *,
        reason: str,
        is_graph_derived: bool = False,
    ) -> SafelistEntry:
        """Cache a platform operation for ``ttl`` seconds (add or change), audited.

        Raises POLICY_DENIED without tenant.admin (operators only), VALIDATION (no reason,
        TTL out of range, operation not registered at platform scope or not cacheable
        exactly).
        """
        self._authorize(principal)
        _require_reason(reason)
        derived = self._validated(operation_id, ttl) or is_graph_derived
        with self._uow() as uow:
            old = repository.row_of(uow.conn, operation_id)
            change = repository.insert_entry if old is None else repository.update_entry
            change(
                uow.conn,
                operation_id,
                ttl_seconds=ttl,
                is_graph_derived=derived,
                updated_by=principal.actor,
                reason=reason,
                at=uow.now,
            )
            uow.audit(
                principal,
                "edge_cache.safelist.set",
                f"operation:{operation_id}",
                tenant_id=None,
                reason=reason,
                old_value=None if old is None else old.as_change(),
                new_value={"ttl": ttl, "graphDerived": derived, "cached": True},
            )
            uow.commit()
        snapshot = self.refresh()
        return snapshot.by_operation[operation_id]

    def remove_entry(self, principal: Principal, operation_id: str, *, reason: str) -> None:
        """Stop caching an operation (entries already stored are no longer served), audited.

        Raises POLICY_DENIED without tenant.admin (operators only), VALIDATION without a
        reason or when the operation is not on the safelist.
        """
        self._authorize(principal)
        _require_reason(reason)
        with self._uow() as uow:
            old = repository.row_of(uow.conn, operation_id)
            if old is None or not old.is_cached:
                raise IntelGraphError(
                    VALIDATION, f"{operation_id!r} is not on the edge cache safelist"
                )
            repository.uncache(
                uow.conn, operation_id, updated_by=principal.actor, reason=reason, at=uow.now
            )
            uow.audit(
                principal,
                "edge_cache.safelist.remove",
                f"operation:{operation_id}",
                tenant_id=None,
                reason=reason,
                old_value=old.as_change(),
                new_value={"cached": False},
            )
            uow.commit()
        self.refresh()

    def _authorize(self, principal: Principal) -> None:
        self._policy.authorize(principal, Action.TENANT_ADMIN, "edge_cache_safelist", None)

    def _validated(self, operation_id: str, ttl: int) -> bool:
        if not MIN_TTL <= ttl <= MAX_TTL:
            raise IntelGraphError(
                VALIDATION, f"ttl must be between {MIN_TTL} and {MAX_TTL} seconds, not {ttl}"
            )
        operation = self._registry.find_by_id(PLATFORM, operation_id)
        if operation is None or operation.tenant_id != PLATFORM:
            raise IntelGraphError(
                VALIDATION,
                f"{operation_id!r} is not a platform persisted operation; register it first "
                "(intelgraph pq register MANIFEST)",
            )
        return cacheability(operation.document)


def _require_reason(reason: str) -> None:
    if not reason or not reason.strip():
        raise IntelGraphError(
            VALIDATION, "say why: a reason is required (it goes to the audit log)"
        )
