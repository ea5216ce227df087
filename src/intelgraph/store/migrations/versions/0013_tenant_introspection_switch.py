"""tenant introspection switch

Revision ID: 0013
Revises: 0012

Whether a tenant's documents may select __schema and __type (api/limits.py
check_introspection); on for every tenant, as before.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("allows_introspection", sa.Boolean(), server_default="1", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("allows_introspection")
