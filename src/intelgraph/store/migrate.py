"""Alembic migrations, run by `intelgraph db upgrade` and on `serve` start.

Alembic's script machinery is a large import, so it is loaded only when a migration has to
run: `upgrade_if_behind` first compares the stored revision with the head read from the
migration files, which is what almost every start finds.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from intelgraph.kernel.errors import SCHEMA_BEHIND, IntelGraphError
from intelgraph.store.engine import is_postgres

if TYPE_CHECKING:
    from alembic.config import Config

_MIGRATIONS = Path(__file__).parent / "migrations"
_VERSIONS = _MIGRATIONS / "versions"
_UPGRADE_LOCK = 7_291_001  # PostgreSQL advisory lock id: one replica migrates at a time
_REVISION = re.compile(r"^revision(?:\s*:[^=\n]+)?\s*=\s*['\"]([^'\"]+)['\"]\s*$", re.M)
_DOWN_REVISION = re.compile(r"^down_revision(?:\s*:[^=\n]+)?\s*=\s*(.+?)\s*$", re.M)
_QUOTED = re.compile(r"^['\"]([^'\"]+)['\"]$")


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision; safe when replicas start together."""
    from alembic import command

    config = _config()
    with engine.begin() as connection:
        if is_postgres(engine):
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _UPGRADE_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def upgrade_if_behind(engine: Engine) -> None:
    """`upgrade` unless the database is already at the head revision (the cheap check)."""
    if not is_schema_at_head(engine):
        upgrade(engine)


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def require_current(engine: Engine) -> None:
    """Raise SCHEMA_BEHIND unless the database is at this release's newest migration."""
    if is_schema_at_head(engine) or is_current(engine):
        return
    raise IntelGraphError(
        SCHEMA_BEHIND,
        "the database is not at this release's schema (new, or older than this release): "
        "run `intelgraph db upgrade` (or start `intelgraph serve`, which upgrades it)",
    )


def is_current(engine: Engine) -> bool:
    """True when the database is at the newest migration (asks Alembic itself)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return current == head_revision()


def is_schema_at_head(engine: Engine) -> bool:
    """True when the stored Alembic revision is the newest one shipped.

    Reads the revision ids from the migration files instead of loading Alembic's script
    machinery (a third of the CLI's start-up). Answers False whenever it is unsure — no
    version table, several stored revisions, a merge or branch in the files — so that the
    caller falls back to a real `alembic upgrade`, which is always right.
    """
    head = _head_revision_from_files()
    if head is None:
        return False
    try:
        with engine.connect() as connection:
            stored = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError:  # no version table yet: a new database
        return False
    return len(stored) == 1 and stored[0][0] == head


def _head_revision_from_files() -> str | None:
    """The one revision no migration file names as its parent; None when not exactly one."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in _VERSIONS.glob("*.py"):
        if path.name.startswith("__"):
            continue
        source = path.read_text(encoding="utf-8")
        revision = _REVISION.search(source)
        down = _DOWN_REVISION.search(source)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(1))
        if down.group(1) != "None":
            parent = _QUOTED.match(down.group(1))
            if parent is None:  # a merge (tuple of parents) or something computed
                return None
            parents.add(parent.group(1))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None
