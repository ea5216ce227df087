"""edge cache epochs: a per-tenant generation in the database (edgecache/epochs.py)

Revision ID: 0014
Revises: 0013

An edge cache entry is served only while the tenant's epoch is the one it was filled
under; a write whose Redis purge failed bumps the epoch before it is acknowledged, so no
replica serves pre-write data longer than INTELGRAPH_CACHE_EPOCH_SECONDS (docs/adr/013).
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "edge_cache_epochs",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id"),
    )


def downgrade() -> None:
    op.drop_table("edge_cache_epochs")
