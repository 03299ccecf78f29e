"""a job someone asked for (an admin's sweep now) is a row whose state its agency can read:
queued, running, done or failed

Revision ID: 0016_jobs_state
Revises: 0015_status_version
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import relink.models.base

revision: str = "0016_jobs_state"
down_revision: str | None = "0015_status_version"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_state",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column(
            "agency_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "queued",
                "running",
                "done",
                "failed",
                name="jobstatename",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("queued_at", relink.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", relink.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("taken_by", sa.String(length=32), nullable=True),
        sa.Column("finished_at", relink.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agency.id"],
            name=op.f("fk_job_state_agency_id_agency"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_state")),
    )
    with op.batch_alter_table("job_state", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_state_agency_id"), ["agency_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_job_state_finished_at"), ["finished_at"], unique=False)
        batch_op.create_index("ix_job_state_name_state", ["name", "state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("job_state", schema=None) as batch_op:
        batch_op.drop_index("ix_job_state_name_state")
        batch_op.drop_index(batch_op.f("ix_job_state_finished_at"))
        batch_op.drop_index(batch_op.f("ix_job_state_agency_id"))
    op.drop_table("job_state")
