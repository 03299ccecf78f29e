"""an agency counts the transactions that changed a status in it (a cached count of the Data
Sources page's statuses is served only while that count has not moved, in any process)

Revision ID: 0015_status_version
Revises: 0014_generations
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_status_version"
down_revision: str | None = "0014_generations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "agency",
        sa.Column("status_version", sa.BigInteger(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("agency", "status_version")
