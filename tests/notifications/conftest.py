from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator

import pytest

from relink.config import get_settings
from relink.db import Database
from relink.kit.crypto import SecretBox
from relink.providers.catalog import load_catalog
from relink.providers.http import HttpClient
from relink.worker.context import JobContext
from tests.fixtures.clock import Clock
from tests.fixtures.webhook_receiver import WebhookReceiver, running_receiver

# A down receiver must read as "no answer" quickly, without making the suite slow.
WEBHOOK_HTTP_TIMEOUT = 2.0
# The test receivers (tests/fixtures/webhook_receiver.py) listen on this loopback address,
# which webhooks may not reach unless the operator allows it by name.
LOCAL_RECEIVER_HOST = "127.0.0.1"


@pytest.fixture(autouse=True)
def webhook_receivers_allowed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Allow the local test receivers, as an operator would with RELINK_WEBHOOK_ALLOWED_HOSTS.

    Tests of the refusal itself pass their own policy or settings.
    """
    monkeypatch.setenv("RELINK_WEBHOOK_ALLOWED_HOSTS", LOCAL_RECEIVER_HOST)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
async def webhooks_ctx(
    database: Database, box: SecretBox, clock: Clock
) -> AsyncIterator[JobContext]:
    """A job context for webhook deliveries alone: no sandbox provider, the test's clock."""
    context = JobContext(
        database=database,
        box=box,
        catalog=load_catalog(),
        http=HttpClient(timeout=WEBHOOK_HTTP_TIMEOUT),
        settings=get_settings(),
        clock=clock,
        rng=random.Random(7),
    )
    yield context
    await context.close()


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    """A Standard Webhooks receiver on a loopback port, recording what it is sent."""
    async with running_receiver() as running:
        yield running
