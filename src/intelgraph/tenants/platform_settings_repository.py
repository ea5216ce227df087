"""SQL for platform-wide settings (``platform_settings``; platform rows, not tenant data)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from intelgraph.store.tables import platform_settings


@dataclass(frozen=True, slots=True)
class StoredSetting:
    """A setting's stored value (JSON)."""

    value: Any


def find_setting(conn: Connection, name: str) -> StoredSetting | None:
    """The stored value of ``name``, or None when it was never set."""
    row = conn.execute(
        select(platform_settings.c.value).where(platform_settings.c.name == name)
    ).first()
    return None if row is None else StoredSetting(row[0])


def insert_setting(conn: Connection, name: str, value: Any, at: datetime) -> None:
    conn.execute(insert(platform_settings).values(name=name, value=value, updated_at=at))


def update_setting(conn: Connection, name: str, value: Any, at: datetime) -> None:
    conn.execute(
        update(platform_settings)
        .where(platform_settings.c.name == name)
        .values(value=value, updated_at=at)
    )
