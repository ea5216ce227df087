"""The registry of persisted GraphQL operations: shipped, operator-added and per tenant.

An operation is known by the sha256 of its document and optionally by an id ``name:vN``.
Platform operations (tenant_id ``platform``) are visible to every tenant; a tenant's own
registrations are visible to that tenant only. Each scope (a tenant, or the platform) holds
at most :class:`PersistedQueryCaps` operations and bytes of document text.

People register through :meth:`PersistedQueryRegistry.register` and ``register_manifest``,
which ask policy; the GraphQL path registers what it serves (APQ text, rewrite hints) with
``register_served`` and the start-up registers the shipped manifest with
``sync_shipped_manifest``: neither acts for a person, so neither asks policy.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from importlib import resources
from typing import Any

import orjson
from sqlalchemy import Engine, Row
from sqlalchemy.exc import IntegrityError

from intelgraph.audit.unit_of_work import UnitOfWorkFactory
from intelgraph.kernel.clock import Clock
from intelgraph.kernel.errors import PERSISTED_QUERY_LIMIT, VALIDATION, IntelGraphError
from intelgraph.kernel.ids import SHA256_HEX
from intelgraph.kernel.pagination import decode_cursor, encode_cursor
from intelgraph.kernel.tenancy import Principal
from intelgraph.persisted import repository
from intelgraph.policy.actions import Action
from intelgraph.policy.engine import PolicyEngine

PLATFORM = "platform"
OPERATION_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,100}:v[0-9]{1,6}$")


def document_sha256(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class PersistedQueryCaps:
    """What one scope (a tenant, or the platform) may hold."""

    max_operations: int = 1_000
    max_bytes: int = 5 * 1024 * 1024


@dataclass(frozen=True)
class ScopeUsage:
    """How many operations a scope holds and their documents' total UTF-8 bytes."""

    operations: int
    bytes: int


@dataclass(frozen=True)
class OperationPage:
    """One page of a listing; ``next_cursor`` is None on the last page."""

    operations: list[PersistedOperation]
    next_cursor: str | None


@dataclass(frozen=True)
class PersistedOperation:
    tenant_id: str
    sha256: str
    operation_id: str | None
    document: str
    roles: tuple[str, ...]
    origin: str

    def allows(self, roles: tuple[str, ...]) -> bool:
        return not self.roles or bool(set(self.roles) & set(roles))

    def as_dict(self) -> dict[str, Any]:
        return {
            "scope": self.tenant_id,
            "sha256": self.sha256,
            "documentId": f"sha256:{self.sha256}",
            "operationId": self.operation_id,
            "roles": list(self.roles),
            "origin": self.origin,
            "document": self.document,
        }


class PersistedQueryRegistry:
    """Lookups are cached in process; a miss reads the store, so other replicas' adds show."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        policy: PolicyEngine,
        caps: PersistedQueryCaps | None = None,
    ) -> None:
        self._engine = engine
        self._uow = UnitOfWorkFactory(engine, clock)
        self._clock = clock
        self._policy = policy
        self.caps = caps or PersistedQueryCaps()
        self._by_hash: dict[tuple[str, str], PersistedOperation] = {}
        self._by_id: dict[tuple[str, str], PersistedOperation] = {}
        self._lock = threading.Lock()

    # --- for people: each asks policy ----------------------------------------------------

    def register(
        self,
        principal: Principal,
        document: str,
        operation_id: str | None = None,
        roles: tuple[str, ...] = (),
        *,
        tenant_id: str | None = None,
    ) -> PersistedOperation:
        """Register a document (idempotent by hash) for whoever asks: an operator at platform
        scope (or for ``tenant_id``), a tenant in its own scope.

        Raises POLICY_DENIED (an operator without tenant.admin, a tenant key without
        admin.write or naming another tenant), VALIDATION (a malformed id, or an id another
        document holds in the scope), PERSISTED_QUERY_LIMIT when the scope is full.
        """
        scope_tenant = self._authorize_registration(principal, tenant_id)
        origin = "operator" if principal.is_operator else "tenant"
        return self._register(scope_tenant, document, operation_id, roles, origin)

    def register_manifest(
        self, principal: Principal, manifest: dict[str, Any], *, tenant_id: str | None = None
    ) -> list[PersistedOperation]:
        """An operator's load of a manifest ``{"operations": [{"document", "id", "roles"}]}``
        into the platform scope (or ``tenant_id``'s): all of it or, when the caps cannot take
        all of it, none. Raises POLICY_DENIED without tenant.admin, VALIDATION for a
        malformed manifest, PERSISTED_QUERY_LIMIT when the scope cannot take it."""
        self._policy.authorize(principal, Action.TENANT_ADMIN, "persisted_query", tenant_id)
        operations = _manifest_operations(manifest)
        self._check_room(tenant_id, [item["document"] for item in operations])
        return [
            self._register(
                tenant_id,
                item["document"],
                item.get("id"),
                tuple(item.get("roles", ())),
                "operator",
            )
            for item in operations
        ]

    def list_page(self, principal: Principal, limit: int, after: str | None) -> OperationPage:
        """Up to ``limit`` operations the caller can run: the platform's, then its tenant's,
        each oldest first. Raises POLICY_DENIED (an operator without tenant.admin, a tenant
        key without entity.read), VALIDATION for a cursor this listing did not give out."""
        action = Action.TENANT_ADMIN if principal.is_operator else Action.ENTITY_READ
        self._policy.authorize(principal, action, "persisted_query", principal.tenant_id)
        return self._list_page(principal.tenant_id, limit, after)

    # --- for no one in particular: no policy ----------------------------------------------

    def sync_shipped_manifest(self) -> int:
        """Register the shipped manifest's operations at platform scope (start-up; idempotent);
        returns how many it holds. Raises VALIDATION if the shipped file is malformed."""
        text = resources.files("intelgraph.persisted").joinpath("manifest.json").read_text()
        operations = _manifest_operations(orjson.loads(text))
        for item in operations:
            self._register(
                None, item["document"], item.get("id"), tuple(item.get("roles", ())), "manifest"
            )
        return len(operations)

    def register_served(
        self,
        tenant_id: str | None,
        document: str,
        *,
        roles: tuple[str, ...] = (),
        origin: str,
    ) -> PersistedOperation:
        """Register a document the GraphQL path serves a tenant (``origin`` "apq" or
        "rewrite"): the request was authorized already, so no policy is asked here.

        Raises PERSISTED_QUERY_LIMIT when the tenant's scope is full.
        """
        return self._register(tenant_id, document, None, roles, origin)

    # --- the request path: lookups ---------------------------------------------------------

    def find_by_hash(self, tenant_id: str, sha256: str) -> PersistedOperation | None:
        """The operation with this hash visible to the tenant (its own first), or None."""
        for scope in (tenant_id, PLATFORM):
            cached = self._by_hash.get((scope, sha256))
            if cached is not None:
                return cached
        with self._engine.connect() as conn:
            rows = repository.visible_by_hash(conn, tenant_id, PLATFORM, sha256)
        return self._remember(rows, tenant_id)

    def find_by_id(self, tenant_id: str, operation_id: str) -> PersistedOperation | None:
        """The operation with this id visible to the tenant (its own first), or None."""
        for scope in (tenant_id, PLATFORM):
            cached = self._by_id.get((scope, operation_id))
            if cached is not None:
                return cached
        with self._engine.connect() as conn:
            rows = repository.visible_by_id(conn, tenant_id, PLATFORM, operation_id)
        return self._remember(rows, tenant_id)

    def usage(self, tenant_id: str | None) -> ScopeUsage:
        """What one scope holds now (the platform's when ``tenant_id`` is None)."""
        with self._engine.connect() as conn:
            return ScopeUsage(*repository.scope_usage(conn, tenant_id or PLATFORM))

    # --- inside ------------------------------------------------------------------------------

    def _authorize_registration(self, principal: Principal, tenant_id: str | None) -> str | None:
        """The tenant whose scope the caller registers into (None: the platform's)."""
        if principal.is_operator:
            self._policy.authorize(principal, Action.TENANT_ADMIN, "persisted_query", tenant_id)
            return tenant_id
        wanted = tenant_id or principal.tenant_id
        self._policy.authorize(principal, Action.ADMIN_WRITE, "persisted_query", wanted)
        return principal.tenant_id

    def _register(
        self,
        tenant_id: str | None,
        document: str,
        operation_id: str | None,
        roles: tuple[str, ...],
        origin: str,
    ) -> PersistedOperation:
        """Register a document (idempotent by hash); ``tenant_id`` None = platform scope.

        Raises VALIDATION for a malformed operation id or an id already used by another
        document in the same scope, PERSISTED_QUERY_LIMIT when a new document would take
        the scope past its caps.
        """
        if operation_id is not None and not OPERATION_ID.match(operation_id):
            raise IntelGraphError(
                VALIDATION, f"operation id {operation_id!r} must look like name:v1"
            )
        scope = tenant_id or PLATFORM
        sha = document_sha256(document)
        if operation_id is not None:
            taken = self.find_by_id(scope, operation_id)
            if taken is not None and taken.tenant_id == scope and taken.sha256 != sha:
                raise IntelGraphError(
                    VALIDATION,
                    f"operation id {operation_id!r} is registered to another document; "
                    "bump its version (name:vN+1)",
                )
        existing = self.find_by_hash(scope, sha)
        if existing is not None and existing.tenant_id == scope:
            return self._name_existing(existing, operation_id, roles)
        operation = PersistedOperation(scope, sha, operation_id, document, roles, origin)
        try:
            with self._uow() as uow:
                repository.lock_scope(uow.conn, scope)
                repository.insert_operation(
                    uow.conn,
                    scope=scope,
                    sha256=sha,
                    operation_id=operation_id,
                    document=document,
                    roles=roles,
                    origin=origin,
                    at=uow.now,
                )
                # Counted after the insert, inside its transaction: on SQLite the insert
                # holds the write lock, on PostgreSQL the scope's advisory lock is held, so
                # no other registration of this scope commits between count and commit.
                operations, held = repository.scope_usage(uow.conn, scope)
                size = len(document.encode("utf-8"))
                before = ScopeUsage(operations - 1, held - size)
                self._require_room(scope, before, 1, size)  # raising rolls the insert back
                uow.commit()
        except IntegrityError:  # registered concurrently (another request or replica)
            found = self.find_by_hash(scope, sha)
            if found is not None:
                return found
            raise
        self._cache(operation)
        return operation

    def _name_existing(
        self, existing: PersistedOperation, operation_id: str | None, roles: tuple[str, ...]
    ) -> PersistedOperation:
        """A document seen before (APQ, a rewrite hint) gets the id and roles asked for now.

        Raises VALIDATION when it is already registered under another id.
        """
        if operation_id is not None and existing.operation_id not in (None, operation_id):
            raise IntelGraphError(
                VALIDATION,
                f"this document is already registered as {existing.operation_id!r}",
            )
        new_id = operation_id or existing.operation_id
        new_roles = roles or existing.roles
        if (new_id, new_roles) == (existing.operation_id, existing.roles):
            return existing
        with self._uow() as uow:
            repository.rename_operation(
                uow.conn, existing.tenant_id, existing.sha256, new_id, new_roles
            )
            uow.commit()
        named = replace(existing, operation_id=new_id, roles=new_roles)
        self._cache(named)
        return named

    def _check_room(self, tenant_id: str | None, documents: Sequence[str]) -> None:
        """Raise PERSISTED_QUERY_LIMIT unless the scope can take every new document here.

        Documents it already holds cost nothing. A check before a batch (a manifest), so
        none of it is registered when all of it cannot be; each register checks again.
        """
        scope = tenant_id or PLATFORM
        new = {
            sha: document
            for sha, document in ((document_sha256(d), d) for d in documents)
            if (found := self.find_by_hash(scope, sha)) is None or found.tenant_id != scope
        }
        size = sum(len(document.encode("utf-8")) for document in new.values())
        self._require_room(scope, self.usage(scope), len(new), size)

    def _require_room(self, scope: str, usage: ScopeUsage, operations: int, size: int) -> None:
        caps = self.caps
        who = "the platform" if scope == PLATFORM else "this tenant"
        if usage.operations + operations > caps.max_operations:
            limit = "persisted_max_operations"
            message = (
                f"{who} holds {usage.operations} of its {caps.max_operations} persisted "
                f"operations and this would add {operations}: run a registered operation "
                "by id or hash, or ask an operator to raise INTELGRAPH_PERSISTED_MAX_OPERATIONS"
            )
        elif usage.bytes + size > caps.max_bytes:
            limit = "persisted_max_bytes"
            message = (
                f"{who}'s persisted operations hold {usage.bytes} of {caps.max_bytes} bytes "
                f"and this would add {size}: register shorter documents, or ask an operator "
                "to raise INTELGRAPH_PERSISTED_MAX_BYTES"
            )
        else:
            return
        raise IntelGraphError(
            PERSISTED_QUERY_LIMIT,
            message,
            {
                "limit": limit,
                "maxOperations": caps.max_operations,
                "operations": usage.operations,
                "maxBytes": caps.max_bytes,
                "bytes": usage.bytes,
                "addingOperations": operations,
                "addingBytes": size,
            },
        )

    def _list_page(self, tenant_id: str | None, limit: int, after: str | None) -> OperationPage:
        scopes = [PLATFORM] if tenant_id is None else [PLATFORM, tenant_id]
        start = _decode_position(after, len(scopes)) if after else None
        found: list[tuple[int, PersistedOperation, datetime]] = []
        with self._engine.connect() as conn:
            for rank, scope in enumerate(scopes):
                if start is not None and rank < start[0]:
                    continue
                position = (start[1], start[2]) if start is not None and rank == start[0] else None
                rows = repository.page_of_scope(conn, scope, position, limit + 1 - len(found))
                found += [(rank, _to_operation(row), row.created_at) for row in rows]
                if len(found) > limit:
                    break
        page = found[:limit]
        next_cursor = None
        if len(found) > limit:
            rank, last, created_at = page[-1]
            next_cursor = encode_cursor(f"{rank}|{created_at.isoformat()}|{last.sha256}")
        return OperationPage([operation for _, operation, _ in page], next_cursor)

    def _remember(self, rows: Sequence[Row[Any]], tenant_id: str) -> PersistedOperation | None:
        operations = sorted(
            (_to_operation(row) for row in rows), key=lambda op: op.tenant_id != tenant_id
        )
        for operation in operations:
            self._cache(operation)
        return operations[0] if operations else None

    def _cache(self, operation: PersistedOperation) -> None:
        with self._lock:
            self._by_hash[(operation.tenant_id, operation.sha256)] = operation
            if operation.operation_id is not None:
                self._by_id[(operation.tenant_id, operation.operation_id)] = operation


def _decode_position(cursor: str, scopes: int) -> tuple[int, datetime, str]:
    """(scope rank, created_at, sha256) of the last item a page showed."""
    parts = decode_cursor(cursor).split("|")
    try:
        rank, created_at, sha = int(parts[0]), datetime.fromisoformat(parts[1]), parts[2]
    except (ValueError, IndexError) as exc:
        raise _bad_cursor() from exc
    if len(parts) != 3 or not 0 <= rank < scopes or not SHA256_HEX.match(sha):
        raise _bad_cursor()
    return rank, created_at, sha


def _bad_cursor() -> IntelGraphError:
    return IntelGraphError(
        VALIDATION, "?after= is not valid: pass the nextCursor from a previous page"
    )


def _to_operation(row: Row[Any]) -> PersistedOperation:
    return PersistedOperation(
        tenant_id=row.tenant_id,
        sha256=row.sha256,
        operation_id=row.operation_id,
        document=row.document,
        roles=tuple(row.roles or ()),
        origin=row.origin,
    )


def _manifest_operations(manifest: Any) -> list[dict[str, Any]]:
    """The operations of a manifest; raises VALIDATION naming what is malformed."""
    if not isinstance(manifest, dict) or not isinstance(manifest.get("operations"), list):
        raise IntelGraphError(VALIDATION, "a manifest is a JSON object with an 'operations' list")
    operations: list[dict[str, Any]] = manifest["operations"]
    for number, item in enumerate(operations, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("document"), str):
            raise IntelGraphError(VALIDATION, f"operation {number} needs a 'document' string")
        if item.get("id") is not None and not isinstance(item["id"], str):
            raise IntelGraphError(VALIDATION, f"operation {number}: 'id' must be a string")
        roles = item.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise IntelGraphError(VALIDATION, f"operation {number}: 'roles' must be strings")
    return operations
