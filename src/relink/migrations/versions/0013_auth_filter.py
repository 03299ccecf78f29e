"""the Data Sources page's auth filter served by an index: each data source keeps a copy of its
grant's auth kind, read in either order of the page

Revision ID: 0013_auth_filter
Revises: 0012_sqlite_search
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_auth_filter"
down_revision: str | None = "0012_sqlite_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    # A plain ADD COLUMN on both (SQLite cannot copy the table: it has a generated column);
    # the default only fills the rows that exist, each then copied from its grant.
    op.add_column(
        "data_source",
        sa.Column("auth_kind", sa.String(length=24), nullable=False, server_default="oauth2"),
    )
    op.execute(
        'UPDATE data_source SET auth_kind = (SELECT "grant".auth_kind FROM "grant"'
        ' WHERE "grant".id = data_source.grant_id)'
    )
    if postgres:
        op.alter_column("data_source", "auth_kind", server_default=None)
    op.create_index(
        "ix_data_source_agency_auth_attention_id",
        "data_source",
        ["agency_id", "auth_kind", "attention", "id"],
    )
    op.create_index(
        "ix_data_source_agency_auth_name_id",
        "data_source",
        ["agency_id", "auth_kind", "client_name", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_data_source_agency_auth_name_id", table_name="data_source")
    op.drop_index("ix_data_source_agency_auth_attention_id", table_name="data_source")
    op.drop_column("data_source", "auth_kind")
