"""The unit of work: one transaction that owns its connection and the audit writer.

A service method that changes state reads as four lines::

    with self._uow() as uow:
        repository.change(uow.conn, ...)
        uow.audit(principal, "thing.change", f"thing:{id}", tenant_id=..., new_value=...)
        uow.commit()

Nothing is written unless ``commit()`` is called: leaving the block without it (an
exception, an early return) rolls everything back, audit records included, so a change is
never stored without its record nor a record without its change. Repositories stay
modules of functions over ``uow.conn`` (ADR 020): they keep no state a class would hold.
"""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, RootTransaction

from intelgraph.audit.service import record
from intelgraph.kernel.clock import Clock
from intelgraph.kernel.errors import INTERNAL, IntelGraphError
from intelgraph.kernel.tenancy import Principal

# Who acts: a principal (a key, a named operator, the person at the CLI), or a name for
# work nobody asked for at that moment ("job:usage-export", "system").
Actor = Principal | str


def actor_name(actor: Actor) -> str:
    """How audit records name an actor."""
    return actor.actor if isinstance(actor, Principal) else actor


class UnitOfWork:
    """One database transaction with its audit writer; use once, in a ``with`` block."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self._conn: Connection | None = None
        self._transaction: RootTransaction | None = None
        self._is_committed = False

    def __enter__(self) -> UnitOfWork:
        if self._conn is not None:
            raise IntelGraphError(INTERNAL, "a unit of work is used once")
        self._conn = self._engine.connect()
        self._transaction = self._conn.begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if self._transaction is not None and self._transaction.is_active:
                self._transaction.rollback()
        finally:
            if self._conn is not None:
                self._conn.close()

    @property
    def conn(self) -> Connection:
        """The transaction's connection, for the area's repository functions."""
        if self._conn is None:
            raise IntelGraphError(INTERNAL, "a unit of work is used inside its with block")
        return self._conn

    @property
    def now(self) -> datetime:
        """The clock's time, read once per call (what audit records are stamped with)."""
        return self._clock.now()

    @property
    def is_committed(self) -> bool:
        return self._is_committed

    def audit(
        self,
        actor: Actor,
        action: str,
        target: str,
        *,
        tenant_id: str | None,
        reason: str | None = None,
        old_value: Any = None,
        new_value: Any = None,
    ) -> None:
        """Write an audit record in this transaction (kept only if it commits)."""
        record(
            self.conn,
            tenant_id=tenant_id,
            actor=actor_name(actor),
            action=action,
            target=target,
            at=self._clock.now(),
            reason=reason,
            old_value=old_value,
            new_value=new_value,
        )

    def commit(self) -> None:
        """Make every change and record of this unit durable, at once."""
        if self._transaction is None:
            raise IntelGraphError(INTERNAL, "a unit of work is used inside its with block")
        self._transaction.commit()
        self._is_committed = True


class UnitOfWorkFactory:
    """Makes units of work on one engine and clock; services hold one of these."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self.engine, self.clock)
