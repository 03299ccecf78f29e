"""relink_client's models say what Relink's OpenAPI document says, and its work list pages."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from relink.app import create_app
from relink.db import Database
from relink_client import RelinkClient
from relink_client.models import COMPONENTS
from tests.fixtures.demo import Demo
from tests.fixtures.server import LOOPBACK_TLS
from tests.importers.conftest import make_external, shared_sources


@pytest.fixture(scope="module")
def components() -> dict[str, Any]:
    document = create_app().openapi()
    return dict(document["components"]["schemas"])


@pytest.mark.parametrize("model", list(COMPONENTS), ids=lambda m: m.__name__)
def test_each_model_has_the_fields_of_its_schema_and_requires_the_same(
    model: Any, components: dict[str, Any]
) -> None:
    schema = components[COMPONENTS[model]]

    assert set(model.model_fields) == set(schema["properties"])
    required = {name for name, field in model.model_fields.items() if field.is_required()}
    assert required == set(schema.get("required", []))


async def test_the_work_list_pages_through_the_external_data_sources_only(
    app_url: str, importer_token: str, session: AsyncSession, demo: Demo, database: Database
) -> None:
    sources = await shared_sources(session, demo)
    external = [s.id for s in sources[:3]]
    await make_external(database, external)
    http = httpx.Client(base_url=app_url, timeout=10, verify=LOOPBACK_TLS)

    with RelinkClient(app_url, importer_token, http=http) as relink:
        listed = list(relink.wanted(page_size=2))

    assert [w.data_source_id for w in listed] == external
    # The demo's data is in through yesterday: nothing is due until a day passes.
    assert [(w.account_id, w.first_day) for w in listed] == [
        (s.external_account_id, None) for s in sources[:3]
    ]
