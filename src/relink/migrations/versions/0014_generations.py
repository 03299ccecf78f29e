"""a grant counts its sets of credentials (a forced refresh happens only while the refused
token is still the current one), and a data source keeps its account's time zone (a day is
complete once it is over there)

Revision ID: 0014_generations
Revises: 0013_auth_filter
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_generations"
down_revision: str | None = "0013_auth_filter"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "grant",
        sa.Column("token_generation", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column("data_source", sa.Column("account_timezone", sa.String(length=64)))


def downgrade() -> None:
    op.drop_column("data_source", "account_timezone")
    op.drop_column("grant", "token_generation")
