from __future__ import annotations

from collections.abc import Iterator

import pytest

from relink.config import get_settings

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
