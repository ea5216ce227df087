"""The tenants area's face: tenants, API keys and authentication.

Every method that acts for someone takes the caller's Principal and asks policy itself:
operators (tenant.admin) create, list, suspend and reactivate tenants; a tenant admin
(admin.write) manages its own tenant's keys and API settings, as an operator may for any.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Sequence

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from intelgraph.audit.unit_of_work import UnitOfWorkFactory
from intelgraph.kernel.clock import Clock
from intelgraph.kernel.errors import (
    AUTH_INVALID_KEY,
    KEY_NOT_FOUND,
    TENANT_EXISTS,
    TENANT_SUSPENDED,
    VALIDATION,
    IntelGraphError,
)
from intelgraph.kernel.ids import new_id
from intelgraph.kernel.tenancy import OperatorRole, Principal, Role
from intelgraph.policy.actions import Action
from intelgraph.policy.engine import PolicyEngine
from intelgraph.tenants import repository as repo
from intelgraph.tenants.addressing import tenant_named, tenant_not_found
from intelgraph.tenants.entitlements import EntitlementService
from intelgraph.tenants.keys import generate_key, hash_key
from intelgraph.tenants.model import SLUG_PATTERN, ApiKey, IssuedKey, Tenant, TenantStatus
from intelgraph.tenants.operator import OperatorKey

REGION_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
OPERATOR_NAME = "operator"
SUPPORTED_API_VERSIONS = ("1.0", "1.1")

TenantCreatedHook = Callable[[Connection, str], None]
"""Run with the create transaction's connection and the new tenant's id, before it commits
(the graph starts the tenant's provenance chain): a hook that raises undoes the create."""


class TenantService:
    """Creates tenants and keys, and turns a presented key into a Principal."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        operator_key: OperatorKey,
        entitlements: EntitlementService,
        policy: PolicyEngine,
        *,
        on_tenant_created: Sequence[TenantCreatedHook],
    ) -> None:
        self._engine = engine
        self._uow = UnitOfWorkFactory(engine, clock)
        self._policy = policy
        self._entitlements = entitlements
        self._clock = clock
        self._operator_hash = operator_key.key_hash
        self._on_tenant_created = tuple(on_tenant_created)

    def create_tenant(
        self,
        principal: Principal,
        *,
        name: str,
        slug: str,
        plan: str = "standard",
        region: str = "local",
        is_sandbox: bool = False,
        admin_key_name: str = "first admin key",
    ) -> tuple[Tenant, IssuedKey]:
        """Create a tenant with its first admin key, in one transaction, audited.

        Raises POLICY_DENIED unless the principal may administer tenants (tenant.admin),
        VALIDATION for a bad slug, plan, region or name, TENANT_EXISTS for a taken slug.
        """
        self._policy.authorize(principal, Action.TENANT_ADMIN, "tenant", None)
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
        tenant = Tenant(
            id=new_id("ten"),
            slug=slug,
            name=name,
            region=region,
            plan=plan,
            status=TenantStatus.ACTIVE.value,
            is_sandbox=is_sandbox,
            created_at=self._clock.now(),
        )
        try:
            with self._uow() as uow:
                if repo.find_tenant(uow.conn, slug) is not None:
                    raise IntelGraphError(TENANT_EXISTS, f"a tenant with slug {slug!r} exists")
                repo.insert_tenant(uow.conn, tenant)
                for hook in self._on_tenant_created:
                    hook(uow.conn, tenant.id)
                issued = self._issue_key(uow.conn, tenant.id, admin_key_name, [Role.ADMIN.value])
                uow.audit(
                    principal,
                    "tenant.create",
                    f"tenant:{tenant.slug}",
                    tenant_id=tenant.id,
                    new_value=tenant.as_dict(),
                )
                uow.commit()
        except IntegrityError as exc:  # a concurrent create won the race for the slug
            raise IntelGraphError(TENANT_EXISTS, f"a tenant with slug {slug!r} exists") from exc
        return tenant, issued

    def get_tenant(self, slug_or_id: str) -> Tenant:
        """The tenant with this slug or id, for callers that already hold the right to know
        (wiring, jobs, the CLI). Raises TENANT_NOT_FOUND."""
        with self._engine.connect() as conn:
            tenant = repo.find_tenant(conn, slug_or_id)
        if tenant is None:
            raise tenant_not_found(slug_or_id)
        return tenant

    def tenant_for(self, principal: Principal, slug_or_id: str) -> Tenant:
        """The tenant a request path names. A tenant principal naming any tenant but its own
        gets POLICY_DENIED whether or not that tenant exists (no existence oracle).

        Raises TENANT_NOT_FOUND (operator only) or POLICY_DENIED.
        """
        with self._engine.connect() as conn:
            return tenant_named(conn, principal, slug_or_id)

    def administered_tenant(self, principal: Principal, slug_or_id: str) -> Tenant:
        """The tenant a request names, if the principal may administer it (its own tenant's
        admin, or an operator); routes ask this before reading a body.

        Raises TENANT_NOT_FOUND (operator only) or POLICY_DENIED without admin.write on it.
        """
        tenant = self.tenant_for(principal, slug_or_id)
        self._policy.authorize(principal, Action.ADMIN_WRITE, "tenant", tenant.id)
        return tenant

    def require_tenant_admin(self, principal: Principal) -> None:
        """Return if the principal may create, list, suspend and reactivate tenants; routes
        ask this before reading a body. Raises POLICY_DENIED (tenant.admin)."""
        self._policy.authorize(principal, Action.TENANT_ADMIN, "tenant", None)

    def list_tenants(self) -> list[Tenant]:
        """Every tenant, oldest first, for the wiring and jobs (asks no policy)."""
        with self._engine.connect() as conn:
            return repo.list_tenants(conn)

    def list_tenants_for(self, principal: Principal) -> list[Tenant]:
        """Every tenant, oldest first, for an operator. Raises POLICY_DENIED (tenant.admin)."""
        self._policy.authorize(principal, Action.TENANT_ADMIN, "tenant", None)
        return self.list_tenants()

    def set_status(
        self,
        principal: Principal,
        slug_or_id: str,
        status: TenantStatus,
        *,
        reason: str | None = None,
    ) -> Tenant:
        """Suspend or reactivate a tenant, audited.

        Raises POLICY_DENIED (tenant.admin), TENANT_NOT_FOUND.
        """
        self._policy.authorize(principal, Action.TENANT_ADMIN, "tenant", None)
        tenant = self.get_tenant(slug_or_id)
        with self._uow() as uow:
            repo.set_tenant_status(uow.conn, tenant.id, status.value)
            uow.audit(
                principal,
                f"tenant.{'suspend' if status is TenantStatus.SUSPENDED else 'activate'}",
                f"tenant:{tenant.slug}",
                tenant_id=tenant.id,
                reason=reason,
                old_value={"status": tenant.status},
                new_value={"status": status.value},
            )
            uow.commit()
        return self.get_tenant(tenant.id)

    def create_key(
        self, principal: Principal, slug_or_id: str, *, name: str, roles: list[str]
    ) -> IssuedKey:
        """Issue an API key for a tenant (plaintext returned once), audited.

        Raises POLICY_DENIED without admin.write on the tenant, VALIDATION for unknown roles
        or an empty name, TENANT_NOT_FOUND (operator only).
        """
        tenant = self.tenant_for(principal, slug_or_id)
        self._policy.authorize(principal, Action.ADMIN_WRITE, "key", tenant.id)
        valid = {role.value for role in Role}
        unknown = sorted(set(roles) - valid)
        if not roles or unknown:
            raise IntelGraphError(
                VALIDATION,
                f"roles must be a non-empty subset of {sorted(valid)}; unknown: {unknown}",
            )
        if not name.strip():
            raise IntelGraphError(VALIDATION, "a key needs a name (who or what uses it)")
        with self._uow() as uow:
            issued = self._issue_key(uow.conn, tenant.id, name.strip(), sorted(set(roles)))
            uow.audit(
                principal,
                "key.create",
                f"key:{issued.key.id}",
                tenant_id=tenant.id,
                new_value={"name": issued.key.name, "roles": issued.key.roles},
            )
            uow.commit()
        return issued

    def list_keys(self, principal: Principal, slug_or_id: str) -> list[ApiKey]:
        """The tenant's keys (never their secrets).

        Raises POLICY_DENIED without admin.write on the tenant, TENANT_NOT_FOUND (operator).
        """
        tenant = self.tenant_for(principal, slug_or_id)
        self._policy.authorize(principal, Action.ADMIN_WRITE, "key", tenant.id)
        with self._engine.connect() as conn:
            return repo.list_keys(conn, tenant.id)

    def revoke_key(self, principal: Principal, slug_or_id: str, key_id: str) -> None:
        """Revoke a key at once, audited.

        Raises POLICY_DENIED without admin.write on the tenant, TENANT_NOT_FOUND (operator),
        KEY_NOT_FOUND for an unknown or revoked key.
        """
        tenant = self.tenant_for(principal, slug_or_id)
        self._policy.authorize(principal, Action.ADMIN_WRITE, "key", tenant.id)
        with self._uow() as uow:
            if not repo.revoke_key(uow.conn, tenant.id, key_id, uow.now):
                raise IntelGraphError(
                    KEY_NOT_FOUND, f"no active key {key_id!r} in tenant {tenant.slug!r}"
                )
            uow.audit(principal, "key.revoke", f"key:{key_id}", tenant_id=tenant.id)
            uow.commit()

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
        from intelgraph.tenants import operators  # named operators' keys (igo_…), ADR 023

        if operators.is_operator_key(presented):
            with self._engine.connect() as conn:
                named = operators.named_operator_principal(conn, presented_hash)
            if named is not None:
                return named
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
        principal: Principal,
        slug_or_id: str,
        *,
        default_api_version: str | object | None = ...,
        is_safelisted: bool | None = None,
        allows_apq: bool | None = None,
        allows_introspection: bool | None = None,
        reason: str | None = None,
    ) -> Tenant:
        """Change a tenant's API default version, safelist mode, APQ or introspection, audited.

        ``default_api_version`` None clears the tenant default; leave it out to keep it.
        Raises POLICY_DENIED without admin.write on the tenant, VALIDATION for an unsupported
        version, TENANT_NOT_FOUND (operator only).
        """
        tenant = self.tenant_for(principal, slug_or_id)
        self._policy.authorize(principal, Action.ADMIN_WRITE, "api_settings", tenant.id)
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
        with self._uow() as uow:
            repo.set_api_settings(uow.conn, tenant.id, values)
            uow.audit(
                principal,
                "tenant.api_settings",
                f"tenant:{tenant.slug}",
                tenant_id=tenant.id,
                reason=reason,
                old_value=old,
                new_value=values,
            )
            uow.commit()
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
