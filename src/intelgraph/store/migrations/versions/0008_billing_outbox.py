"""billing outbox and live toggles (billing/outbox.py)

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "billing_outbox",
        sa.Column("delivery_id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("adapter", sa.String(length=16), nullable=False),
        sa.Column("meter", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Numeric(precision=20, scale=6), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("receipt", sa.JSON(), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("delivery_id"),
        sa.UniqueConstraint(
            "tenant_id", "period_start", "adapter", "meter", name="uq_billing_outbox_delivery"
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'sent', 'failed', 'dead')", name="ck_billing_outbox_state"
        ),
    )
    with op.batch_alter_table("billing_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_billing_outbox_due", ["state", "next_attempt_at"], unique=False)

    op.create_table(
        "billing_toggles",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("adapter", sa.String(length=16), nullable=False),
        sa.Column("is_on", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "adapter"),
    )
    op.create_table(
        "billing_customers",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("adapter", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=255), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "adapter"),
    )


def downgrade() -> None:
    op.drop_table("billing_customers")
    op.drop_table("billing_toggles")
    with op.batch_alter_table("billing_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_billing_outbox_due")
    op.drop_table("billing_outbox")
