"""search terms: no entity_id index; on SQLite the table is its primary key (WITHOUT ROWID)

Revision ID: 0012
Revises: 0011

The (tenant_id, entity_id) index served one statement: deleting a re-ingested entity's old
terms. Those are now recomputed from the entity's stored label and attributes and deleted
by the primary key (tenant_id, term, entity_id), so the index was written by every ingest
and read by nothing. On SQLite the table is also rebuilt WITHOUT ROWID: its rows are only
their key, so a rowid table kept them twice (table and key index), and every term insert
paid for both. On a 100,000-entity tenant, per 1,000 new entities: SQLite's own work fell
from 174 to 125 million instructions (valgrind), PostgreSQL's backend CPU from about 58 to
43 ms (bench/bench_ingest.py).
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_COLUMNS = "tenant_id, term, entity_id"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite_terms(with_rowid=False)
    else:
        op.drop_index("ix_entity_terms_entity", table_name="entity_terms")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite_terms(with_rowid=True)
    op.create_index(
        "ix_entity_terms_entity", "entity_terms", ["tenant_id", "entity_id"], unique=False
    )


def _rebuild_sqlite_terms(*, with_rowid: bool) -> None:
    """Copy entity_terms into a table of the other kind (SQLite cannot alter that in
    place), in key order so the new B-tree is filled by appends; drops its indexes."""
    op.create_table(
        "entity_terms_rebuilt",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("term", sa.String(length=128), nullable=False),
        sa.Column("entity_id", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "term", "entity_id"),
        sqlite_with_rowid=with_rowid,
    )
    op.execute(
        f"INSERT INTO entity_terms_rebuilt ({_COLUMNS}) "
        f"SELECT {_COLUMNS} FROM entity_terms ORDER BY {_COLUMNS}"
    )
    op.drop_table("entity_terms")
    op.rename_table("entity_terms_rebuilt", "entity_terms")
