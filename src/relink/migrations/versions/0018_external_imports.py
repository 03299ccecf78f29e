"""imports by Relink or by the platform (data_source.imports, and which backfill was asked of
the platform), service tokens' permissions, and the failure reports of outside importers, one
per data source and idempotency key

Revision ID: 0018_external_imports
Revises: 0017_api_tokens
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import relink.models.base

revision: str = "0018_external_imports"
down_revision: str | None = "0017_api_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "failure_report",
        sa.Column(
            "agency_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "data_source_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("reported_at", relink.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reported_by", sa.String(length=80), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=True),
        sa.Column("call", sa.String(length=300), nullable=False),
        sa.Column("body_excerpt", sa.Text(), nullable=False),
        sa.Column("error_class", sa.String(length=40), nullable=False),
        sa.Column(
            "advice",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agency.id"],
            name=op.f("fk_failure_report_agency_id_agency"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["data_source_id"],
            ["data_source.id"],
            name=op.f("fk_failure_report_data_source_id_data_source"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_failure_report")),
        sa.UniqueConstraint("data_source_id", "idempotency_key", name="uq_failure_report_key"),
    )
    with op.batch_alter_table("failure_report", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_failure_report_agency_id"), ["agency_id"], unique=False
        )

    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("permissions", sa.String(length=200), nullable=True))

    with op.batch_alter_table("data_source", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "imports",
                sa.Enum("relink", "external", name="importmode", native_enum=False, length=24),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("backfill_requested_from", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("data_source", schema=None) as batch_op:
        batch_op.drop_column("backfill_requested_from")
        batch_op.drop_column("imports")

    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_column("permissions")

    with op.batch_alter_table("failure_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_failure_report_agency_id"))

    op.drop_table("failure_report")
