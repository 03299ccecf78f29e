"""time to detection: how each incident was found and its earliest evidence; the probe's
schedule on each grant; the provider signals already seen (replay guard)

Revision ID: 0010_detection
Revises: 0008_jobs
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import relink.models.base

revision: str = "0010_detection"
down_revision: str | None = "0008_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("detected_via", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("evidence_at", relink.models.base.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("grant", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("next_probe_at", relink.models.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "last_probed_at", relink.models.base.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.create_index(
            "ix_grant_status_next_probe", ["status", "next_probe_at"], unique=False
        )
    op.create_table(
        "signal_receipt",
        sa.Column("issuer", sa.String(length=320), nullable=False),
        sa.Column("jti", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("received_at", relink.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signal_receipt")),
        sa.UniqueConstraint("issuer", "jti", name="uq_signal_receipt_issuer_jti"),
    )
    with op.batch_alter_table("signal_receipt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_signal_receipt_received_at"), ["received_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("signal_receipt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signal_receipt_received_at"))
    op.drop_table("signal_receipt")
    with op.batch_alter_table("grant", schema=None) as batch_op:
        batch_op.drop_index("ix_grant_status_next_probe")
        batch_op.drop_column("last_probed_at")
        batch_op.drop_column("next_probe_at")
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_column("evidence_at")
        batch_op.drop_column("detected_via")
