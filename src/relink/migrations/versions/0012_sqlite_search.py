"""SQLite: a trigram full-text index (FTS5) of data source names, so a search reads the index
instead of every row (PostgreSQL has its pg_trgm indexes since 0007)

The index is an external-content FTS5 table kept in step by triggers on ``data_source``.
A later migration that rebuilds ``data_source`` in batch mode drops these triggers with the
old table and must create them again (tests/data_sources/test_search_index.py notices).

Revision ID: 0012_sqlite_search
Revises: 0011_pages
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_sqlite_search"
down_revision: str | None = "0011_pages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out whole: each statement reads as what SQLite runs.
_STATEMENTS = (
    "CREATE VIRTUAL TABLE data_source_search USING fts5(client_name, external_account_name, "
    "content='data_source', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER data_source_search_insert AFTER INSERT ON data_source BEGIN "
    "INSERT INTO data_source_search(rowid, client_name, external_account_name) "
    "VALUES (new.id, new.client_name, new.external_account_name); END",
    "CREATE TRIGGER data_source_search_delete AFTER DELETE ON data_source BEGIN "
    "INSERT INTO data_source_search(data_source_search, rowid, client_name, "
    "external_account_name) "
    "VALUES ('delete', old.id, old.client_name, old.external_account_name); END",
    "CREATE TRIGGER data_source_search_update "
    "AFTER UPDATE OF client_name, external_account_name ON data_source BEGIN "
    "INSERT INTO data_source_search(data_source_search, rowid, client_name, "
    "external_account_name) "
    "VALUES ('delete', old.id, old.client_name, old.external_account_name); "
    "INSERT INTO data_source_search(rowid, client_name, external_account_name) "
    "VALUES (new.id, new.client_name, new.external_account_name); END",
    # The rows already there.
    "INSERT INTO data_source_search(data_source_search) VALUES ('rebuild')",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS data_source_search_insert")
    op.execute("DROP TRIGGER IF EXISTS data_source_search_delete")
    op.execute("DROP TRIGGER IF EXISTS data_source_search_update")
    op.execute("DROP TABLE IF EXISTS data_source_search")
