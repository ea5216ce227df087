"""search terms compare in code-point order on PostgreSQL

Revision ID: 0006
Revises: 0005

Prefix search scans the range [term, term⁺) of entity_terms. Under a linguistic collation
(ICU or glibc en-US) that range is not the set of strings with the prefix, so the column
uses the binary "C" collation. SQLite compares bytes already.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute('ALTER TABLE entity_terms ALTER COLUMN term TYPE VARCHAR(128) COLLATE "C"')


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE entity_terms ALTER COLUMN term TYPE VARCHAR(128)")
