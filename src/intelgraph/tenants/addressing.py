"""Which tenant a caller's request names, without telling a tenant whether others exist."""

from __future__ import annotations

from sqlalchemy import Connection

from intelgraph.kernel.errors import POLICY_DENIED, TENANT_NOT_FOUND, IntelGraphError
from intelgraph.kernel.tenancy import Principal
from intelgraph.tenants import repository as repo
from intelgraph.tenants.model import Tenant


def tenant_not_found(slug_or_id: str) -> IntelGraphError:
    return IntelGraphError(TENANT_NOT_FOUND, f"no tenant with slug or id {slug_or_id!r}")


def tenant_named(conn: Connection, principal: Principal, slug_or_id: str) -> Tenant:
    """The tenant ``slug_or_id`` names, as ``principal`` may address it.

    An operator may name any tenant. A tenant principal naming any tenant but its own gets
    POLICY_DENIED whether or not that tenant exists (no existence oracle).
    Raises TENANT_NOT_FOUND (operator only) or POLICY_DENIED.
    """
    tenant = repo.find_tenant(conn, slug_or_id)
    if principal.is_operator:
        if tenant is None:
            raise tenant_not_found(slug_or_id)
        return tenant
    if tenant is None or tenant.id != principal.tenant_id:
        raise IntelGraphError(
            POLICY_DENIED,
            "this key belongs to another tenant: use a key of the tenant you name",
            {"action": "admin.write"},
        )
    return tenant
