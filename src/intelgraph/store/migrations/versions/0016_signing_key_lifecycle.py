"""signing key lifecycle: a rotated key verifies until it is retired (crypto/keyring.py)

Revision ID: 0016
Revises: 0015

Before, a rotated key was ``verify-only`` until ``verify_until`` (rotation + grace days) and
then stopped verifying what it had signed. Now it is ``rotated`` from ``rotated_at`` on and
verifies forever; only ``retired`` (with a ``retire_reason``, e.g. compromised) stops it.
Keys past their old grace period verify again: that is the point of the change.
"""

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

OLD_GRACE_DAYS = 30  # the former default, used only to rebuild verify_until on downgrade

# When a key was rotated: when the key after it was created (that is what rotation does).
_NEXT_CREATED = (
    "(SELECT MIN(later.created_at) FROM signing_keys AS later "
    "WHERE later.created_at > signing_keys.created_at)"
)


def upgrade() -> None:
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("retire_reason", sa.String(length=200), nullable=True))
    op.execute(
        f"UPDATE signing_keys SET rotated_at = COALESCE({_NEXT_CREATED}, created_at) "
        "WHERE state IN ('verify-only', 'retired')"
    )
    # A rotated key never signs again: its private half is no longer kept.
    op.execute(
        "UPDATE signing_keys SET state = 'rotated', private_key_sealed = NULL "
        "WHERE state = 'verify-only'"
    )
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.drop_column("verify_until")


def downgrade() -> None:
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verify_until", sa.DateTime(timezone=True), nullable=True))
    keys = sa.table(
        "signing_keys",
        sa.column("kid", sa.String),
        sa.column("state", sa.String),
        sa.column("rotated_at", sa.DateTime(timezone=True)),
        sa.column("verify_until", sa.DateTime(timezone=True)),
    )
    bind = op.get_bind()
    rotated = bind.execute(
        sa.select(keys.c.kid, keys.c.rotated_at).where(keys.c.state == "rotated")
    )
    for kid, rotated_at in rotated.all():
        bind.execute(
            sa.update(keys)
            .where(keys.c.kid == kid)
            .values(state="verify-only", verify_until=rotated_at + timedelta(days=OLD_GRACE_DAYS))
        )
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.drop_column("retire_reason")
        batch_op.drop_column("rotated_at")
