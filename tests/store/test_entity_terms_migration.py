"""Migration 0012 keeps every search term while it drops the entity_id index of
entity_terms (and, on SQLite, rebuilds the table WITHOUT ROWID); its downgrade brings the
index back with the same rows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect, text

from intelgraph import store
from intelgraph.store.engine import create_store_engine

ROWS = [
    ("ten_a", "ada", "ent_1"),
    ("ten_a", "lovelace", "ent_1"),
    ("ten_a", "ada", "ent_2"),
    ("ten_b", "ada", "ent_3"),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = (
        f"sqlite:///{tmp_path}/migrations.db"
        if request.param == "sqlite"
        else request.getfixturevalue("fresh_postgres_url")
    )
    engine = create_store_engine(url)
    yield engine
    engine.dispose()


def migrate_to(engine: Engine, revision: str, *, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(store.__file__).parent / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def term_indexes(engine: Engine) -> set[str]:
    return {str(index["name"]) for index in inspect(engine).get_indexes("entity_terms")}


def stored_rows(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT tenant_id, term, entity_id FROM entity_terms ORDER BY 1, 2, 3")
        )
        return [(row[0], row[1], row[2]) for row in rows]


def is_without_rowid(engine: Engine) -> bool:
    with engine.connect() as conn:
        sql = conn.execute(
            text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'entity_terms'")
        ).scalar_one()
    return "WITHOUT ROWID" in str(sql).upper()


def test_upgrade_drops_the_entity_index_and_keeps_every_term(engine: Engine) -> None:
    migrate_to(engine, "0011")
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO entity_terms (tenant_id, term, entity_id) VALUES (:t, :term, :e)"),
            [{"t": t, "term": term, "e": e} for t, term, e in ROWS],
        )
    assert "ix_entity_terms_entity" in term_indexes(engine)

    migrate_to(engine, "0012")

    assert "ix_entity_terms_entity" not in term_indexes(engine)
    assert stored_rows(engine) == sorted(ROWS)
    if engine.dialect.name == "sqlite":
        assert is_without_rowid(engine)


def test_downgrade_brings_the_index_back_with_the_same_terms(engine: Engine) -> None:
    migrate_to(engine, "0012")
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO entity_terms (tenant_id, term, entity_id) VALUES (:t, :term, :e)"),
            [{"t": t, "term": term, "e": e} for t, term, e in ROWS],
        )

    migrate_to(engine, "0011", down=True)

    assert "ix_entity_terms_entity" in term_indexes(engine)
    assert stored_rows(engine) == sorted(ROWS)
    if engine.dialect.name == "sqlite":
        assert not is_without_rowid(engine)
    migrate_to(engine, "head")  # and up again
    assert "ix_entity_terms_entity" not in term_indexes(engine)
    assert stored_rows(engine) == sorted(ROWS)
