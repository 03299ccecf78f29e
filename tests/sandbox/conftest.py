from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.sandbox import SandboxServer, run_sandbox


@pytest.fixture(scope="session")
def _shared_sandbox() -> Iterator[SandboxServer]:
    with run_sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(_shared_sandbox: SandboxServer) -> Iterator[SandboxServer]:
    """One server for the session, reset to the seeded world before each test."""
    _shared_sandbox.reset()
    yield _shared_sandbox
