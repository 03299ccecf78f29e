"""The listing's JSON is written from plain values (schemas.page_json); it must be exactly the
JSON of the DataSourcePage model it documents, for a data source in any status."""

from __future__ import annotations

import pytest

from relink.data_sources.schemas import DataSourceOut, DataSourcePage, page_json
from relink.providers.catalog import default_catalog
from relink.status import DataSourceStatus
from tests.fixtures.source_rows import source_row

RETENTION_DAYS = 30


# A value its serializer did not expect is a warning: here a failure.
@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("cursors", [(None, None), ("next", "previous")])
def test_a_page_is_the_models_json_byte_for_byte(cursors: tuple[str | None, str | None]) -> None:
    catalog = default_catalog()
    rows = [source_row(status, detail="it timed out") for status in DataSourceStatus]
    rows.append(source_row(DataSourceStatus.CONNECTED, text='Zoë "quoted" <tag>'))
    following, previous = cursors

    written = page_json(
        rows,
        next_cursor=following,
        prev_cursor=previous,
        catalog=catalog,
        retention_days=RETENTION_DAYS,
    )

    model = DataSourcePage(
        items=[DataSourceOut.of(r, catalog=catalog, retention_days=RETENTION_DAYS) for r in rows],
        next_cursor=following,
        prev_cursor=previous,
    )
    assert written == model.model_dump_json().encode()
    assert DataSourcePage.model_validate_json(written) == model


def test_a_removed_source_says_when_it_is_purged() -> None:
    removed = source_row(DataSourceStatus.REMOVED)

    written = DataSourcePage.model_validate_json(
        page_json(
            [removed],
            next_cursor=None,
            prev_cursor=None,
            catalog=default_catalog(),
            retention_days=RETENTION_DAYS,
        )
    )

    assert written.items[0].purge_on is not None
    assert written.items[0].status is DataSourceStatus.REMOVED
