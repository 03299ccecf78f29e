"""an "expires soon" incident keeps its expiry day in a column of its own, not in ``detail``

Revision ID: 0005_kinds
Revises: 0004_sweep
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_kinds"
down_revision: str | None = "0004_sweep"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_on", sa.Date(), nullable=True))
    # The day used to ride in ``detail`` as an ISO date: moved, and ``detail`` cleared.
    day = "detail" if op.get_bind().dialect.name == "sqlite" else "CAST(detail AS DATE)"
    op.execute(
        f"UPDATE incident SET expires_on = {day}, detail = NULL "  # noqa: S608 (no input)
        "WHERE kind = 'expires_soon' AND detail IS NOT NULL"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE incident SET detail = CAST(expires_on AS VARCHAR(10)) "
        "WHERE kind = 'expires_soon' AND expires_on IS NOT NULL"
    )
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_column("expires_on")
