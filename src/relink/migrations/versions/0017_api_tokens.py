"""personal API tokens: a public lookup and the SHA-256 of the secret, a name, a read or write
scope, an optional expiry, revocation, and when and from where each was last used

Revision ID: 0017_api_tokens
Revises: 0016_jobs_state
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import relink.models.base

revision: str = "0017_api_tokens"
down_revision: str | None = "0016_jobs_state"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "api_token",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("agency_id", _ID, nullable=False),
        sa.Column(
            "kind",
            sa.Enum("personal", name="tokenkind", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("user_id", _ID, nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "scope",
            sa.Enum("read", "write", name="tokenscope", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("lookup", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", relink.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("expires_at", relink.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", relink.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", relink.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_address", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "(kind = 'personal') = (user_id IS NOT NULL)",
            name=op.f("ck_api_token_personal_token_has_user"),
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agency.id"],
            name=op.f("fk_api_token_agency_id_agency"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_api_token_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("lookup", name=op.f("uq_api_token_lookup")),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_agency_id"), ["agency_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_api_token_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_user_id"))
        batch_op.drop_index(batch_op.f("ix_api_token_agency_id"))
    op.drop_table("api_token")
