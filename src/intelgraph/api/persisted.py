"""The registry of persisted GraphQL operations: shipped, operator-added and per tenant.

An operation is known by the sha256 of its document and optionally by an id ``name:vN``.
Platform operations (tenant_id ``platform``) are visible to every tenant; a tenant's own
registrations are visible to that tenant only.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

import orjson
from sqlalchemy import Engine, Row, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from intelgraph.kernel.clock import Clock
from intelgraph.kernel.errors import VALIDATION, IntelGraphError
from intelgraph.store.tables import persisted_queries

PLATFORM = "platform"
OPERATION_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,100}:v[0-9]{1,6}$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


def document_sha256(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


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

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self._by_hash: dict[tuple[str, str], PersistedOperation] = {}
        self._by_id: dict[tuple[str, str], PersistedOperation] = {}
        self._lock = threading.Lock()

    def load_manifest(self, manifest: dict[str, Any] | None = None) -> int:
        """Register the shipped manifest's operations (once); returns how many it holds."""
        if manifest is None:
            text = resources.files("intelgraph.api").joinpath("persisted/manifest.json").read_text()
            manifest = orjson.loads(text)
        operations = _manifest_operations(manifest)
        for item in operations:
            self.register(
                None, item["document"], item["id"], tuple(item.get("roles", ())), "manifest"
            )
        return len(operations)

    def find_by_hash(self, tenant_id: str, sha256: str) -> PersistedOperation | None:
        """The operation with this hash visible to the tenant (its own first), or None."""
        for scope in (tenant_id, PLATFORM):
            cached = self._by_hash.get((scope, sha256))
            if cached is not None:
                return cached
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(persisted_queries).where(
                    or_(
                        persisted_queries.c.tenant_id == tenant_id,
                        persisted_queries.c.tenant_id == PLATFORM,
                    ),
                    persisted_queries.c.sha256 == sha256,
                )
            ).all()
        return self._remember(rows, tenant_id)

    def find_by_id(self, tenant_id: str, operation_id: str) -> PersistedOperation | None:
        """The operation with this id visible to the tenant (its own first), or None."""
        for scope in (tenant_id, PLATFORM):
            cached = self._by_id.get((scope, operation_id))
            if cached is not None:
                return cached
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(persisted_queries).where(
                    or_(
                        persisted_queries.c.tenant_id == tenant_id,
                        persisted_queries.c.tenant_id == PLATFORM,
                    ),
                    persisted_queries.c.operation_id == operation_id,
                )
            ).all()
        return self._remember(rows, tenant_id)

    def register(
        self,
        tenant_id: str | None,
        document: str,
        operation_id: str | None = None,
        roles: tuple[str, ...] = (),
        origin: str = "tenant",
    ) -> PersistedOperation:
        """Register a document (idempotent by hash); ``tenant_id`` None = platform scope.

        Raises VALIDATION for a malformed operation id or an id already used by another
        document in the same scope.
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
            with self._engine.begin() as conn:
                conn.execute(
                    insert(persisted_queries).values(
                        tenant_id=scope,
                        sha256=sha,
                        operation_id=operation_id,
                        document=document,
                        roles=list(roles),
                        origin=origin,
                        created_at=self._clock.now(),
                    )
                )
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
        with self._engine.begin() as conn:
            conn.execute(
                update(persisted_queries)
                .where(
                    persisted_queries.c.tenant_id == existing.tenant_id,
                    persisted_queries.c.sha256 == existing.sha256,
                )
                .values(operation_id=new_id, roles=list(new_roles))
            )
        named = replace(existing, operation_id=new_id, roles=new_roles)
        self._cache(named)
        return named

    def list_operations(self, tenant_id: str | None) -> list[PersistedOperation]:
        """Operations of one scope (the platform's when ``tenant_id`` is None)."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(persisted_queries)
                .where(persisted_queries.c.tenant_id == (tenant_id or PLATFORM))
                .order_by(persisted_queries.c.created_at)
            ).all()
        return [_to_operation(row) for row in rows]

    def _remember(self, rows: list[Row[Any]], tenant_id: str) -> PersistedOperation | None:
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
