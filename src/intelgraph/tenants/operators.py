"""Named operators: a key per person, with one operator role, so the audit log names them.

The shared operator key (tenants/operator.py) stays: it is platform-admin and named
"operator". Every other operator gets a key of their own here; a request made with it is
``Principal(tenant_id=None, key_id=<key id>, name=<name>, roles=(<role>,), is_operator=True)``,
whose actor is ``operator:<name>``. What each role may do is decided in ``policy/authz.rego``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from intelgraph.audit.unit_of_work import UnitOfWorkFactory
from intelgraph.kernel.errors import (
    AUTH_INVALID_KEY,
    CONFLICT,
    OPERATOR_EXISTS,
    OPERATOR_NOT_FOUND,
    VALIDATION,
    IntelGraphError,
)
from intelgraph.kernel.ids import new_id
from intelgraph.kernel.tenancy import OperatorRole, Principal
from intelgraph.policy.actions import Action
from intelgraph.policy.engine import PolicyEngine
from intelgraph.tenants import operators_repository as repo
from intelgraph.tenants.keys import OPERATOR_KEY_PREFIX, generate_key
from intelgraph.tenants.operators_repository import Operator

__all__ = [
    "NAME_PATTERN",
    "RESERVED_NAMES",
    "IssuedOperatorKey",
    "Operator",
    "OperatorService",
    "is_operator_key",
    "named_operator_principal",
]

# A person's handle as audit records show it ("operator:alice"): lower case, no spaces.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{0,63}$")
# The shared operator key is named "operator": nobody else may be, or the log would blur them.
RESERVED_NAMES = frozenset({"operator"})
MAX_REASON = 1000
_ROLES = ", ".join(role.value for role in OperatorRole)


@dataclass(frozen=True, slots=True)
class IssuedOperatorKey:
    """An operator as created: the only time the key's plaintext is visible."""

    operator: Operator
    plaintext: str


class OperatorService:
    """Creates, lists and revokes named operators' keys; every change is audited."""

    def __init__(self, uow: UnitOfWorkFactory, policy: PolicyEngine) -> None:
        self._uow = uow
        self._policy = policy

    def create(self, principal: Principal, *, name: str, role: str) -> IssuedOperatorKey:
        """Create an operator with a new key of ``role`` (plaintext returned once), audited.

        Raises POLICY_DENIED, VALIDATION for a bad name or unknown role, OPERATOR_EXISTS.
        """
        self._policy.authorize(principal, Action.OPERATOR_ADMIN, "operator", None)
        name = _valid_name(name)
        role = _valid_role(role)
        new = generate_key(OPERATOR_KEY_PREFIX)
        try:
            with self._uow() as uow:
                if repo.find_by_name(uow.conn, name) is not None:
                    raise _name_taken(name)
                operator = Operator(
                    key_id=new_id("opk"),
                    name=name,
                    role=role,
                    created_at=uow.now,
                    created_by=principal.actor,
                    revoked_at=None,
                    revoked_by=None,
                    revoke_reason=None,
                )
                repo.insert_operator(uow.conn, operator, new.key_hash)
                uow.audit(
                    principal,
                    "operator.create",
                    f"operator:{name}",
                    tenant_id=None,
                    new_value={"name": name, "role": role, "keyId": operator.key_id},
                )
                uow.commit()
        except IntegrityError as exc:  # a concurrent create won the race for the name
            raise _name_taken(name) from exc
        return IssuedOperatorKey(operator=operator, plaintext=new.plaintext)

    def list_operators(self, principal: Principal) -> list[Operator]:
        """Every named operator, oldest first, revoked ones included (never their keys).

        Raises POLICY_DENIED.
        """
        self._policy.authorize(principal, Action.OPERATOR_ADMIN, "operator", None)
        with self._uow.engine.connect() as conn:
            return repo.list_operators(conn)

    def revoke(self, principal: Principal, name: str, *, reason: str) -> Operator:
        """Revoke an operator's key at once (its name stays taken), audited.

        Raises POLICY_DENIED, VALIDATION without a reason, OPERATOR_NOT_FOUND, CONFLICT if
        the operator is already revoked.
        """
        self._policy.authorize(principal, Action.OPERATOR_ADMIN, "operator", None)
        reason = reason.strip()
        if not reason or len(reason) > MAX_REASON:
            raise IntelGraphError(
                VALIDATION,
                f"say why the key is revoked (--reason, 1 to {MAX_REASON} characters); "
                "it is kept in the audit log",
            )
        with self._uow() as uow:
            found = repo.find_by_name(uow.conn, name)
            if found is None:
                raise IntelGraphError(
                    OPERATOR_NOT_FOUND,
                    f"no operator named {name!r}; `intelgraph operator list` shows them",
                )
            if found.revoked_at is not None:
                raise IntelGraphError(
                    CONFLICT,
                    f"operator {name!r} was already revoked at {found.revoked_at.isoformat()}"
                    f" by {found.revoked_by}; create a new operator under another name",
                )
            at = uow.now
            if not repo.revoke_operator(uow.conn, name, at=at, by=principal.actor, reason=reason):
                raise IntelGraphError(
                    CONFLICT, f"operator {name!r} was revoked meanwhile; nothing to do"
                )
            uow.audit(
                principal,
                "operator.revoke",
                f"operator:{name}",
                tenant_id=None,
                reason=reason,
                old_value={"role": found.role, "revokedAt": None},
                new_value={"role": found.role, "revokedAt": at.isoformat()},
            )
            uow.commit()
        return Operator(
            key_id=found.key_id,
            name=found.name,
            role=found.role,
            created_at=found.created_at,
            created_by=found.created_by,
            revoked_at=at,
            revoked_by=principal.actor,
            revoke_reason=reason,
        )


def is_operator_key(presented: str) -> bool:
    """Whether a presented key could be a named operator's (they are all ``igo_…``), so
    tenant keys cost no lookup in ``operator_keys``."""
    return presented.startswith(OPERATOR_KEY_PREFIX)


def named_operator_principal(conn: Connection, key_hash: str) -> Principal | None:
    """The named operator a key hash belongs to, or None if it is no operator's key.

    Raises AUTH_INVALID_KEY for a revoked operator key.
    """
    found = repo.find_by_hash(conn, key_hash)
    if found is None:
        return None
    if found.revoked_at is not None:
        raise IntelGraphError(
            AUTH_INVALID_KEY,
            "the API key is unknown or revoked; ask a platform-admin for an operator key",
        )
    return Principal(
        tenant_id=None,
        key_id=found.key_id,
        name=found.name,
        roles=(found.role,),
        is_operator=True,
    )


def _valid_name(name: str) -> str:
    name = name.strip()
    if not NAME_PATTERN.match(name):
        raise IntelGraphError(
            VALIDATION,
            f"operator name {name!r} is not valid: use 1-64 lower-case letters, digits, "
            "'.', '_' or '-', starting with a letter (e.g. alice or j.doe)",
        )
    if name in RESERVED_NAMES:
        raise IntelGraphError(
            VALIDATION,
            f"operator name {name!r} is reserved for the shared operator key; choose another",
        )
    return name


def _valid_role(role: str) -> str:
    valid = {item.value for item in OperatorRole}
    if role not in valid:
        raise IntelGraphError(
            VALIDATION, f"role {role!r} is not an operator role: use one of {_ROLES}"
        )
    return role


def _name_taken(name: str) -> IntelGraphError:
    return IntelGraphError(
        OPERATOR_EXISTS,
        f"operator name {name!r} is taken (a revoked operator keeps its name, so audit "
        "records stay unambiguous); choose another name",
    )
