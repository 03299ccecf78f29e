"""the pages at agency scale: a client-name sort key on data sources, indexes for every sort,
filter and search (trigram on PostgreSQL), and a partial index for the unread count

Revision ID: 0007_scale_read
Revises: 0005_kinds
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_scale_read"
down_revision: str | None = "0005_kinds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGRAM = (
    ("ix_data_source_client_name_trgm", "data_source", "client_name"),
    ("ix_data_source_external_account_name_trgm", "data_source", "external_account_name"),
    ("ix_client_name_trgm", "client", "name"),
)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    # A plain ADD COLUMN on both (SQLite cannot copy the table: it has a generated column).
    op.add_column(
        "data_source",
        sa.Column("client_name", sa.String(length=200), nullable=False, server_default=""),
    )
    op.execute(
        "UPDATE data_source SET client_name = "
        "(SELECT client.name FROM client WHERE client.id = data_source.client_id)"
    )
    if postgres:
        op.alter_column("data_source", "client_name", server_default=None)
    op.create_index(
        "ix_data_source_agency_client_name_id", "data_source", ["agency_id", "client_name", "id"]
    )
    op.create_index(
        "ix_data_source_agency_status_name_id",
        "data_source",
        ["agency_id", "status", "client_name", "id"],
    )
    op.create_index("ix_data_source_agency_provider", "data_source", ["agency_id", "provider"])
    op.create_index(
        "ix_notification_user_unread",
        "notification",
        ["user_id"],
        postgresql_where=sa.text("read_at IS NULL"),
        sqlite_where=sa.text("read_at IS NULL"),
    )
    if postgres:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, table, column in TRIGRAM:
            op.execute(f"CREATE INDEX {name} ON {table} USING gin (lower({column}) gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name, _table, _column in TRIGRAM:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    op.drop_index("ix_notification_user_unread", table_name="notification")
    op.drop_index("ix_data_source_agency_provider", table_name="data_source")
    op.drop_index("ix_data_source_agency_status_name_id", table_name="data_source")
    op.drop_index("ix_data_source_agency_client_name_id", table_name="data_source")
    op.drop_column("data_source", "client_name")
