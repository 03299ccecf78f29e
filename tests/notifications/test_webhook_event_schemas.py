"""Every webhook event is documented with its payload schema, served as OpenAPI webhooks, and
what Relink sends validates against it."""

from __future__ import annotations

import json

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from relink.kit.crypto import SecretBox
from relink.notifications import webhooks
from relink.notifications.webhook_events import (
    PAYLOADS,
    SUBSCRIBABLE,
    TEST_EVENT,
    DataSourceDisconnected,
    WebhookTest,
    webhook_docs,
)
from relink.notifications.webhook_tasks import deliver_due
from relink.providers.http import HttpClient
from relink.worker.context import JobContext
from relink.worker.sweep import sweep
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer
from tests.fixtures.webhook_receiver import running_receiver


def _document() -> dict[str, object]:
    app = FastAPI()
    app.webhooks.include_router(webhook_docs)
    return app.openapi()


def test_every_event_an_endpoint_can_choose_has_a_payload_model() -> None:
    assert set(PAYLOADS) == {*SUBSCRIBABLE, TEST_EVENT}
    assert webhooks.EVENTS == SUBSCRIBABLE


def test_the_openapi_document_lists_every_event_as_a_webhook_with_its_schema() -> None:
    document = _document()

    hooks = document["webhooks"]
    assert isinstance(hooks, dict)
    assert set(hooks) == set(PAYLOADS)
    schemas = document["components"]["schemas"]  # type: ignore[index]
    for event, model in PAYLOADS.items():
        operation = hooks[event]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{model.__name__}"}
        assert schemas[model.__name__]["properties"]["type"]["const"] == event
        assert operation["operationId"] and operation["summary"]
        # What the receiver answers: any 2xx, or a retry; never FastAPI's 422 of a server.
        assert set(operation["responses"]) == {"204", "default"}


def test_a_data_source_events_fields_are_all_described() -> None:
    schemas = _document()["components"]["schemas"]  # type: ignore[index]

    fields = schemas["DataSourceEventData"]["properties"]
    assert {"data_source_id", "client_name", "provider_name", "reason", "action_url"} <= set(fields)
    assert all(field.get("description") for field in fields.values())


async def test_what_a_revoked_grant_sends_validates_against_the_documented_model(
    session: AsyncSession, demo: Demo, ctx: JobContext, box: SecretBox, sandbox: SandboxServer
) -> None:
    ctx.http = HttpClient()
    async with running_receiver() as receiver:
        await webhooks.create_endpoint(
            session, box=box, agency_id=demo.agency.id, url=receiver.endpoint(), events=[]
        )
        await session.commit()
        sandbox.add_fault("revoke_grant", grant="manager@sandbox.test")

        await sweep(ctx)
        await deliver_due(ctx)

    assert receiver.requests
    for request in receiver.requests:
        event = DataSourceDisconnected.model_validate_json(request.body)
        assert event.data.error_class is not None and event.data.reason
        # Nothing is sent that the model does not describe.
        assert set(json.loads(request.body)["data"]) == set(type(event.data).model_fields)


async def test_a_test_event_validates_against_its_documented_model(
    session: AsyncSession, demo: Demo, ctx: JobContext, box: SecretBox
) -> None:
    async with running_receiver() as receiver:
        endpoint, _ = await webhooks.create_endpoint(
            session, box=box, agency_id=demo.agency.id, url=receiver.endpoint(), events=[]
        )
        await webhooks.send_test(
            session, agency_id=demo.agency.id, endpoint_id=endpoint.id, now=ctx.now()
        )
        await session.commit()
        await deliver_due(ctx)

    [request] = receiver.requests
    event = WebhookTest.model_validate_json(request.body)
    assert event.data.endpoint_id == endpoint.id
