"""sync speed: the outbox loses its stamp and row indexes (the last stamp is the last row's; a
pull reads the pending rows once per page) and indexes only rows already in a batch, so a
captured write maintains fewer index entries

Revision ID: 0012_sync_speed
Revises: 0010_sync
Create Date: 2026-11-23 13:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_sync_speed"
down_revision: str | None = "0010_sync"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_outbox_hlc")
        batch_op.drop_index("ix_sync_outbox_row")
        batch_op.drop_index("ix_sync_outbox_batch")
        batch_op.create_index(
            "ix_sync_outbox_batch",
            ["batch_no", "id"],
            unique=False,
            sqlite_where=sa.text("batch_no IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("sync_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_outbox_batch")
        batch_op.create_index("ix_sync_outbox_batch", ["batch_no", "id"], unique=False)
        batch_op.create_index("ix_sync_outbox_hlc", ["hlc"], unique=False)
        batch_op.create_index("ix_sync_outbox_row", ["tbl", "pk"], unique=False)
