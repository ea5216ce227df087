"""scheduled jobs: catch-up runs per day and per-job pauses (jobs/catch_up.py, jobs/service.py)

Revision ID: 0015
Revises: 0014

``job_runs`` records each attempt of a daily job at the day it covers, so a replica that
starts after an outage runs every day missed since the last success; ``job_state`` keeps the
first day a job covers and whether an operator paused it (read by every replica).
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_state",
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=True),
        sa.Column("is_paused", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("paused_by", sa.String(length=200), nullable=True),
        sa.Column("pause_reason", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job"),
    )
    op.create_table(
        "job_runs",
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("job", "day"),
        sa.CheckConstraint(
            "status IN ('running', 'succeeded', 'failed')", name="ck_job_runs_status"
        ),
    )


def downgrade() -> None:
    op.drop_table("job_runs")
    op.drop_table("job_state")
