"""The tenants area's face: tenants, API keys and authentication."""

from __future__ import annotations

import hmac
import re

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from intelgraph.audit import service as audit
from intelgraph.graph import repository as graph_repo
from intelgraph.kernel.clock import Clock
from intelgraph.kernel.errors import (
    AUTH_INVALID_KEY,
    KEY_NOT_FOUND,
    POLICY_DENIED,
    TENANT_EXISTS,
    TENANT_NOT_FOUND,
    TENANT_SUSPENDED,
    VALIDATION,
    IntelGraphError,
)
from intelgraph.kernel.ids import new_id
from intelgraph.kernel.tenancy import OperatorRole, Principal, Role
from intelgraph.tenants import repository as repo
from intelgraph.tenants.entitlements import EntitlementService
from intelgraph.tenants.keys import generate_key, hash_key
from intelgraph.tenants.model import SLUG_PATTERN, ApiKey, IssuedKey, Tenant, TenantStatus
from intelgraph.tenants.operator import OperatorKey

REGION_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
OPERATOR_NAME = "operator"
SUPPORTED_API_VERSIONS = ("1.0", "1.1")


class TenantService:
    """Creates tenants and keys, and turns a presented key into a Principal."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        operator_key: OperatorKey,
        entitlements: EntitlementService,
    ) -> None:
        self._engine = engine
        self._entitlements = entitlements
        self._clock = clock
        self._operator_hash = operator_key.key_hash

    def create_tenant(
        self,
        *,
        name: str,
        slug: str,
        plan: str = "standard",
        region: str = "local",
        is_sandbox: bool = False,
        admin_key_name: str = "first admin key",
        actor: str = OPERATOR_NAME,
    ) -> tuple[Tenant, IssuedKey]:
        """Create a tenant with its first admin key, in one transaction, audited.

        Raises VALIDATION for a bad slug, plan, region or name, TENANT_EXISTS for a taken slug.
        """
        name = name.strip()
        if not name or len(name) > 200:
            raise IntelGraphError(VALIDATION, "name must be 1 to 200 characters")
        if not SLUG_PATTERN.match(slug):
            raise IntelGraphError(
                VALIDATION,
                f"slug {slug!r} is not valid: use 2-63 lower-case letters, digits or '-', "
                "starting with a letter or digit",
            )
        self._entitlements.require_plan(plan)
        if not REGION_PATTERN.match(region):
            raise IntelGraphError(VALIDATION, f"region {region!r} is not valid (e.g. eu-west-1)")
        now = self._clock.now()
        tenant = Tenant(
            id=new_id("ten"),
            slug=slug,
            name=name,
            region=region,
            plan=plan,
            status=TenantStatus.ACTIVE.value,
            is_sandbox=is_sandbox,
            created_at=now,
        )
        try:
            with self._engine.begin() as conn:
                if repo.find_tenant(conn, slug) is not None:
                    raise IntelGraphError(TENANT_EXISTS, f"a tenant with slug {slug!r} exists")
                repo.insert_tenant(conn, tenant)
                graph_repo.start_provenance_chain(conn, tenant.id)
                issued = self._issue_key(conn, tenant.id, admin_key_name, [Role.ADMIN.value])
                audit.record(
                    conn,
                    tenant_id=tenant.id,
                    actor=actor,
                    action="tenant.create",
                    target=f"tenant:{tenant.slug}",
                    at=now,
                    new_value=tenant.as_dict(),
                )
        except IntegrityError as exc:  # a concurrent create won the race for the slug
            raise IntelGraphError(TENANT_EXISTS, f"a tenant with slug {slug!r} exists") from exc
        return tenant, issued

    def get_tenant(self, slug_or_id: str) -> Tenant:
        """The tenant with this slug or id. Raises TENANT_NOT_FOUND."""
        with self._engine.connect() as conn:
            tenant = repo.find_tenant(conn, slug_or_id)
        if tenant is None:
            raise IntelGraphError(TENANT_NOT_FOUND, f"no tenant with slug or id {slug_or_id!r}")
        return tenant

    def tenant_for(self, principal: Principal, slug_or_id: str) -> Tenant:
        """The tenant a request path names. A tenant principal naming any tenant but its own
        gets POLICY_DENIED whether or not that tenant exists (no existence oracle).

        Raises TENANT_NOT_FOUND (operator only) or POLICY_DENIED.
        """
        if principal.is_operator:
            return self.get_tenant(slug_or_id)
        with self._engine.connect() as conn:
            tenant = repo.find_tenant(conn, slug_or_id)
        if tenant is None or tenant.id != principal.tenant_id:
            raise IntelGraphError(
                POLICY_DENIED,
                "this key belongs to another tenant: use a key of the tenant you name",
                {"action": "admin.write"},
            )
        return tenant

    def list_tenants(self) -> list[Tenant]:
        """Every tenant, oldest first."""
        with self._engine.connect() as conn:
            return repo.list_tenants(conn)

    def set_status(
        self, slug_or_id: str, status: TenantStatus, *, actor: str, reason: str | None = None
    ) -> Tenant:
        """Suspend or reactivate a tenant, audited. Raises TENANT_NOT_FOUND."""
        tenant = self.get_tenant(slug_or_id)
        with self._engine.begin() as conn:
            repo.set_tenant_status(conn, tenant.id, status.value)
            audit.record(
                conn,
                tenant_id=tenant.id,
                actor=actor,
                action=f"tenant.{'suspend' if status is TenantStatus.SUSPENDED else 'activate'}",
                target=f"tenant:{tenant.slug}",
                at=self._clock.now(),
                reason=reason,
                old_value={"status": tenant.status},
                new_value={"status": status.value},
            )
        return self.get_tenant(tenant.id)

    def create_key(self, slug_or_id: str, *, name: str, roles: list[str], actor: str) -> IssuedKey:
        """Issue an API key for a tenant (plaintext returned once), audited.

        Raises VALIDATION for unknown roles or an empty name, TENANT_NOT_FOUND.
        """
        valid = {role.value for role in Role}
        unknown = sorted(set(roles) - valid)
        if not roles or unknown:
            raise IntelGraphError(
                VALIDATION,
                f"roles must be a non-empty subset of {sorted(valid)}; unknown: {unknown}",
            )
        if not name.strip():
            raise IntelGraphError(VALIDATION, "a key needs a name (who or what uses it)")
        tenant = self.get_tenant(slug_or_id)
        with self._engine.begin() as conn:
            issued = self._issue_key(conn, tenant.id, name.strip(), sorted(set(roles)))
            audit.record(
                conn,
                tenant_id=tenant.id,
                actor=actor,
                action="key.create",
                target=f"key:{issued.key.id}",
                at=self._clock.now(),
                new_value={"name": issued.key.name, "roles": issued.key.roles},
            )
        return issued

    def list_keys(self, slug_or_id: str) -> list[ApiKey]:
        """The tenant's keys (never their secrets)."""
        tenant = self.get_tenant(slug_or_id)
        with self._engine.connect() as conn:
            return repo.list_keys(conn, tenant.id)

    def revoke_key(self, slug_or_id: str, key_id: str, *, actor: str) -> None:
        """Revoke a key at once, audited. Raises KEY_NOT_FOUND for an unknown or revoked key."""
        tenant = self.get_tenant(slug_or_id)
        now = self._clock.now()
        with self._engine.begin() as conn:
            if not repo.revoke_key(conn, tenant.id, key_id, now):
                raise IntelGraphError(
                    KEY_NOT_FOUND, f"no active key {key_id!r} in tenant {tenant.slug!r}"
                )
            audit.record(
                conn,
                tenant_id=tenant.id,
                actor=actor,
                action="key.revoke",
                target=f"key:{key_id}",
                at=now,
            )

    def authenticate(self, presented: str) -> Principal:
        """The principal a bearer key stands for.

        Raises AUTH_INVALID_KEY for an unknown or revoked key, TENANT_SUSPENDED.
        """
        presented_hash = hash_key(presented)
        if hmac.compare_digest(presented_hash, self._operator_hash):
            return Principal(
                tenant_id=None,
                key_id="operator",
                name=OPERATOR_NAME,
                roles=(OperatorRole.PLATFORM_ADMIN.value,),
                is_operator=True,
            )
        with self._engine.connect() as conn:
            found = repo.find_key_owner(conn, presented_hash)
        if found is None or found[0].revoked_at is not None:
            raise IntelGraphError(
                AUTH_INVALID_KEY, "the API key is unknown or revoked; ask your tenant admin for one"
            )
        key, tenant = found
        if tenant.status != TenantStatus.ACTIVE.value:
            raise IntelGraphError(
                TENANT_SUSPENDED, f"tenant {tenant.slug!r} is suspended; contact the operator"
            )
        return Principal(
            tenant_id=tenant.id,
            key_id=key.id,
            name=key.name,
            roles=tuple(key.roles),
            region=tenant.region,
            plan=tenant.plan,
            api_version_default=tenant.default_api_version,
            is_safelisted=tenant.is_safelisted,
            allows_apq=tenant.allows_apq,
            allows_introspection=tenant.allows_introspection,
        )

    def update_api_settings(
        self,
        slug_or_id: str,
        *,
        actor: str,
        default_api_version: str | object | None = ...,
        is_safelisted: bool | None = None,
        allows_apq: bool | None = None,
        allows_introspection: bool | None = None,
        reason: str | None = None,
    ) -> Tenant:
        """Change a tenant's API default version, safelist mode, APQ or introspection, audited.

        ``default_api_version`` None clears the tenant default; leave it out to keep it.
        Raises VALIDATION for an unsupported version, TENANT_NOT_FOUND.
        """
        tenant = self.get_tenant(slug_or_id)
        values: dict[str, object] = {}
        if default_api_version is not ...:
            if default_api_version not in (None, *SUPPORTED_API_VERSIONS):
                raise IntelGraphError(
                    VALIDATION,
                    f"default API version must be one of {', '.join(SUPPORTED_API_VERSIONS)}",
                )
            values["default_api_version"] = default_api_version
        if is_safelisted is not None:
            values["is_safelisted"] = is_safelisted
        if allows_apq is not None:
            values["allows_apq"] = allows_apq
        if allows_introspection is not None:
            values["allows_introspection"] = allows_introspection
        if not values:
            return tenant
        old = {k: getattr(tenant, k) for k in values}
        with self._engine.begin() as conn:
            repo.set_api_settings(conn, tenant.id, values)
            audit.record(
                conn,
                tenant_id=tenant.id,
                actor=actor,
                action="tenant.api_settings",
                target=f"tenant:{tenant.slug}",
                at=self._clock.now(),
                reason=reason,
                old_value=old,
                new_value=values,
            )
        return self.get_tenant(tenant.id)

    def _issue_key(
        self, conn: Connection, tenant_id: str, name: str, roles: list[str]
    ) -> IssuedKey:
        new = generate_key()
        key = ApiKey(
            tenant_id=tenant_id,
            id=new_id("key"),
            name=name,
            prefix=new.prefix,
            roles=roles,
            created_at=self._clock.now(),
            revoked_at=None,
        )
        repo.insert_key(conn, key, new.key_hash)
        return IssuedKey(key=key, plaintext=new.plaintext)
