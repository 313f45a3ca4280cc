"""sync conflict share: a device's conflict row knows central's conflict id (resolutions shared by the branch)

Revision ID: 0014_sync_conflict_share
Revises: 0013_sync_window
Create Date: 2026-11-23 16:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_sync_conflict_share"
down_revision: str | None = "0013_sync_window"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_conflicts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("central_id", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_sync_conflicts_central_id", ["central_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("sync_conflicts", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_conflicts_central_id")
        batch_op.drop_column("central_id")
