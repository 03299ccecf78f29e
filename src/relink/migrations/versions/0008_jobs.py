"""queued jobs whose loss would lose work (revoking a grant) are kept as rows until they run

Revision ID: 0008_jobs
Revises: 0007_scale_read
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import relink.models.base

revision: str = "0008_jobs"
down_revision: str | None = "0007_scale_read"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pending_job",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "kwargs",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", relink.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", relink.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_job")),
    )
    op.create_index("ix_pending_job_due_at", "pending_job", ["due_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_pending_job_due_at", table_name="pending_job")
    op.drop_table("pending_job")
