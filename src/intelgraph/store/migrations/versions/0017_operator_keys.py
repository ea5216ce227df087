"""named operators: one key per person, with a role (tenants/operators.py)

Revision ID: 0017
Revises: 0016

Before, every REST admin change was made with the one shared operator key, so the audit log
named "operator:operator" for all of them. ``operator_keys`` holds a key per person (its
sha256 only), the operator role it carries, and who created and revoked it. These are
platform rows, not tenant data: no ``tenant_id``. The shared key stays as it was
(INTELGRAPH_OPERATOR_KEY or DATA_DIR/operator.key) and is not stored here.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operator_keys",
        sa.Column("key_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=200), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("key_id"),
        sa.UniqueConstraint("name", name="uq_operator_keys_name"),
        sa.UniqueConstraint("key_hash", name="uq_operator_keys_hash"),
    )


def downgrade() -> None:
    op.drop_table("operator_keys")
