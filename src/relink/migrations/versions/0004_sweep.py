"""sync runs carry their worker and a lease, so a run whose worker died can be closed

Revision ID: 0004_sweep
Revises: 0003_auth
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import relink.models.base

revision: str = "0004_sweep"
down_revision: str | None = "0003_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=120), nullable=True))
        batch_op.add_column(
            sa.Column(
                "lease_expires_at", relink.models.base.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.create_index(
            "ix_sync_run_running_lease",
            ["lease_expires_at"],
            unique=False,
            postgresql_where=sa.text("outcome = 'running'"),
            sqlite_where=sa.text("outcome = 'running'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("sync_run", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_sync_run_running_lease",
            postgresql_where=sa.text("outcome = 'running'"),
            sqlite_where=sa.text("outcome = 'running'"),
        )
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("owner")
