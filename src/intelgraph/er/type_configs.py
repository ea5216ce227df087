"""Comparisons configs a tenant admin stores per entity type, versioned and audited.

The built-in types (PERSON, ORGANIZATION) are resolved under their packaged default config;
any other type (VEHICLE, ACCOUNT, DEVICE…) is resolved for a tenant once a tenant admin
stores a config for it, and a stored config of a built-in type replaces its default for
that tenant. The *live* config of a tenant's type is its newest stored version, else the
packaged default; a type with neither is not resolved for the tenant.

Each ``set`` validates the whole document first (nothing is stored when any part is
wrong), stores it as the next version with who, why and when, and writes an audit record
in the same transaction. Setting the config that is already live stores nothing.

A model fits only the config whose comparisons it was trained with, so a new version whose
comparisons differ takes effect at the type's next training (``intelgraph er train``, or
automatically on the next ingest once the tenant holds enough records); a version that only
changes blocking takes effect at once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from intelgraph.audit import service as audit
from intelgraph.er.engine.config import (
    ResolutionConfig,
    config_fingerprint,
    default_config,
    default_config_text,
    has_default_config,
    parse_config_text,
)
from intelgraph.er.engine.mapping import RESOLVABLE_TYPES
from intelgraph.er.engine.records import parse_entity_type
from intelgraph.er.repository import type_configs as config_repo
from intelgraph.kernel.clock import Clock, isoformat
from intelgraph.kernel.errors import ER_NOT_FOUND, ER_STATE_CONFLICT, VALIDATION, IntelGraphError
from intelgraph.store.engine import as_utc

MAX_DOCUMENT_CHARS = 256 * 1024
PACKAGED = "packaged"
TENANT = "tenant"


@dataclass(frozen=True)
class TypeConfig:
    """The config of one tenant's entity type: a stored version, or the packaged default."""

    entity_type: str
    config: ResolutionConfig
    origin: str  # PACKAGED or TENANT
    version: int | None = None  # stored version (None for the packaged default)
    document: str | None = None  # the YAML/JSON as given (or as packaged)
    fingerprint: str = ""
    created_by: str | None = None
    reason: str | None = None
    created_at: datetime | None = None

    def as_dict(self, *, with_document: bool = False) -> dict[str, Any]:
        found: dict[str, Any] = {
            "entityType": self.entity_type,
            "origin": self.origin,
            "version": self.version,
            "configVersion": self.config.version,
            "fingerprint": self.fingerprint or config_fingerprint(self.config),
            "createdBy": self.created_by,
            "reason": self.reason,
            "createdAt": None if self.created_at is None else isoformat(self.created_at),
        }
        if with_document:
            found["document"] = self.document
            found["config"] = self.config.model_dump(mode="json")
        return found


@dataclass(frozen=True)
class ConfigChange:
    """What ``set`` did: the live config afterwards, whether a new version was stored, and
    whether the type needs a new model before the config is used (the service tells)."""

    config: TypeConfig
    is_changed: bool
    previous: TypeConfig | None
    needs_training: bool = False


def _from_row(row: Any, source: str) -> TypeConfig:
    config = parse_config_text(row.document, source=source)
    return TypeConfig(
        entity_type=row.entity_type,
        config=config,
        origin=TENANT,
        version=int(row.version),
        document=row.document,
        fingerprint=row.fingerprint,
        created_by=row.created_by,
        reason=row.reason,
        created_at=as_utc(row.created_at),
    )


@cache
def _packaged(entity_type: str) -> TypeConfig:
    config = default_config(entity_type)
    return TypeConfig(
        entity_type,
        config,
        PACKAGED,
        document=default_config_text(entity_type),
        fingerprint=config_fingerprint(config),
    )


class TypeConfigs:
    """Tenants' configs per entity type. Takes tenant ids: callers check policy first."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        # (tenant, type) -> (stored version, parsed config): parsing once per version.
        self._parsed: dict[tuple[str, str], TypeConfig] = {}
        self._lock = threading.Lock()

    # --- reading ---------------------------------------------------------------------------

    def live(self, tenant_id: str, entity_type: str) -> TypeConfig | None:
        """The live config of a tenant's type, or None when the type has none."""
        kind = parse_entity_type(entity_type)
        with self._engine.connect() as conn:
            version = config_repo.latest_type_config_version(conn, tenant_id, kind)
            if version is None:
                return _packaged(kind) if has_default_config(kind) else None
            with self._lock:
                cached = self._parsed.get((tenant_id, kind))
            if cached is not None and cached.version == version:
                return cached
            row = config_repo.type_config(conn, tenant_id, kind, version)
        assert row is not None
        found = _from_row(row, f"{kind} config v{version}")
        with self._lock:
            self._parsed[(tenant_id, kind)] = found
        return found

    def config_for(self, tenant_id: str, entity_type: str) -> ResolutionConfig:
        """The config a tenant's type is resolved with; raises VALIDATION when it has none."""
        found = self.live(tenant_id, entity_type)
        if found is None:
            kind = parse_entity_type(entity_type)
            raise IntelGraphError(
                VALIDATION,
                f"this tenant has no entity-resolution config for {kind}: a tenant admin "
                f"stores one with `intelgraph er config set TENANT --type {kind} FILE` "
                f"(or PUT /v1/er/configs/{kind}); packaged defaults exist for "
                f"{', '.join(RESOLVABLE_TYPES)}",
            )
        return found.config

    def version(self, tenant_id: str, entity_type: str, version: int) -> TypeConfig:
        """One stored version of a tenant's type; raises ER_NOT_FOUND."""
        kind = parse_entity_type(entity_type)
        with self._engine.connect() as conn:
            row = config_repo.type_config(conn, tenant_id, kind, version)
        if row is None:
            raise IntelGraphError(
                ER_NOT_FOUND, f"this tenant has no stored {kind} config version {version}"
            )
        return _from_row(row, f"{kind} config v{version}")

    def resolvable_types(self, tenant_id: str) -> list[str]:
        """The types resolved for the tenant: the built-in ones and those it configured."""
        with self._engine.connect() as conn:
            configured = config_repo.configured_types(conn, tenant_id)
        return sorted(set(RESOLVABLE_TYPES) | set(configured))

    def is_resolvable(self, tenant_id: str, entity_type: str) -> bool:
        """Whether the tenant's entities of this type are resolved."""
        if has_default_config(entity_type):
            return True
        with self._engine.connect() as conn:
            return config_repo.latest_type_config_version(conn, tenant_id, entity_type) is not None

    def listing(self, tenant_id: str) -> list[TypeConfig]:
        """Every stored version of the tenant (oldest first, by type), then the packaged
        defaults of built-in types the tenant did not override."""
        with self._engine.connect() as conn:
            rows = config_repo.type_config_history(conn, tenant_id)
        stored = [
            TypeConfig(
                entity_type=row.entity_type,
                config=self._summary_config(tenant_id, row.entity_type, int(row.version)),
                origin=TENANT,
                version=int(row.version),
                fingerprint=row.fingerprint,
                created_by=row.created_by,
                reason=row.reason,
                created_at=as_utc(row.created_at),
            )
            for row in rows
        ]
        overridden = {c.entity_type for c in stored}
        packaged = [_packaged(t) for t in RESOLVABLE_TYPES if t not in overridden]
        return stored + packaged

    def _summary_config(self, tenant_id: str, entity_type: str, version: int) -> ResolutionConfig:
        with self._lock:
            cached = self._parsed.get((tenant_id, entity_type))
        if cached is not None and cached.version == version:
            return cached.config
        return self.version(tenant_id, entity_type, version).config

    # --- changing --------------------------------------------------------------------------

    def set(
        self,
        tenant_id: str,
        document: str,
        *,
        entity_type: str | None,
        actor: str,
        reason: str | None,
        source: str = "config",
    ) -> ConfigChange:
        """Validate ``document`` and store it as the next version of the tenant's type.

        ``entity_type`` (if given) must be the type the document declares. Raises
        VALIDATION naming every problem (nothing stored), ER_STATE_CONFLICT when another
        admin stored a version at the same moment.
        """
        if len(document) > MAX_DOCUMENT_CHARS:
            raise IntelGraphError(
                VALIDATION, f"ER config {source} is larger than {MAX_DOCUMENT_CHARS} characters"
            )
        config = parse_config_text(document, source=source)
        kind = config.entity_type
        if entity_type is not None and parse_entity_type(entity_type) != kind:
            raise IntelGraphError(
                VALIDATION,
                f"ER config {source} declares entity_type {kind}, "
                f"but it was given for type {parse_entity_type(entity_type)}",
            )
        previous = self.live(tenant_id, kind)
        fingerprint = config_fingerprint(config)
        if (
            previous is not None
            and previous.origin == TENANT
            and previous.fingerprint == (fingerprint)
        ):
            return ConfigChange(previous, False, previous)
        now = self._clock.now()
        version = 1 if previous is None or previous.version is None else previous.version + 1
        try:
            with self._engine.begin() as conn:
                config_repo.insert_type_config(
                    conn,
                    tenant_id,
                    {
                        "entity_type": kind,
                        "version": version,
                        "config_version": config.version,
                        "fingerprint": fingerprint,
                        "document": document,
                        "created_by": actor,
                        "reason": reason,
                        "created_at": now,
                    },
                )
                audit.record(
                    conn,
                    tenant_id=tenant_id,
                    actor=actor,
                    action="er.config.set",
                    target=f"er_config:{kind}:v{version}",
                    at=now,
                    reason=reason,
                    old_value=None if previous is None else _audit_value(previous),
                    new_value={
                        "version": version,
                        "configVersion": config.version,
                        "fingerprint": fingerprint,
                    },
                )
        except IntegrityError:
            raise IntelGraphError(
                ER_STATE_CONFLICT,
                f"another admin stored {kind} config version {version} at the same moment; "
                "look at it (`intelgraph er config show`) and set yours again if still wanted",
            ) from None
        stored = TypeConfig(
            kind, config, TENANT, version, document, fingerprint, actor, reason, now
        )
        with self._lock:
            self._parsed[(tenant_id, kind)] = stored
        return ConfigChange(stored, True, previous)


def _audit_value(config: TypeConfig) -> dict[str, Any]:
    return {
        "origin": config.origin,
        "version": config.version,
        "configVersion": config.config.version,
        "fingerprint": config.fingerprint,
    }
