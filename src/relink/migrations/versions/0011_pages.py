"""the Data Sources page: a provider filter read in either order from one index each, so a
rare provider's page costs its own rows and a common one's stops after a page

Revision ID: 0011_pages
Revises: 0010_detection
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_pages"
down_revision: str | None = "0010_detection"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_data_source_agency_provider_attention_id",
        "data_source",
        ["agency_id", "provider", "attention", "id"],
    )
    op.create_index(
        "ix_data_source_agency_provider_name_id",
        "data_source",
        ["agency_id", "provider", "client_name", "id"],
    )
    # Both start with (agency_id, provider): the old index is their prefix.
    op.drop_index("ix_data_source_agency_provider", table_name="data_source")


def downgrade() -> None:
    op.create_index("ix_data_source_agency_provider", "data_source", ["agency_id", "provider"])
    op.drop_index("ix_data_source_agency_provider_name_id", table_name="data_source")
    op.drop_index("ix_data_source_agency_provider_attention_id", table_name="data_source")
