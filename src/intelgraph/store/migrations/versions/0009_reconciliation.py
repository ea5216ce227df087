"""reconciliation results (billing/reconcile.py)

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "billing_reconciliations",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("meter", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=48), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("ledger_value", sa.Numeric(precision=24, scale=6), nullable=False),
        sa.Column("source_value", sa.Numeric(precision=24, scale=6), nullable=True),
        sa.Column("delta_ratio", sa.Float(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "period_start", "period_end", "meter", "source"),
        sa.CheckConstraint(
            "status IN ('ok', 'mismatch', 'unavailable')",
            name="ck_billing_reconciliations_status",
        ),
    )
    op.create_index(
        "ix_billing_reconciliations_checked",
        "billing_reconciliations",
        ["tenant_id", "checked_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_billing_reconciliations_checked", table_name="billing_reconciliations")
    op.drop_table("billing_reconciliations")
