"""What every job gets: the database, the secret box, the catalog, HTTP, settings and a clock."""

from __future__ import annotations

import os
import random
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from relink.config import Settings, get_settings
from relink.db import Database, default_database
from relink.errors import RelinkError
from relink.kit.crypto import SecretBox
from relink.models.base import utcnow
from relink.providers.catalog import Catalog, load_catalog
from relink.providers.http import HttpClient
from relink.providers.results import AppCredentials


class AppNotRegistered(RelinkError):
    status_code = 503


def new_worker_id() -> str:
    """This process, as the owner written on what it holds (host, pid, and a nonce for reuse)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True)
class WorkerId:
    """The parts of a ``new_worker_id`` value."""

    host: str
    pid: int
    nonce: str

    @classmethod
    def parse(cls, value: str) -> WorkerId | None:
        """The parts of ``value``, or None for what ``new_worker_id`` does not write."""
        parts = value.rsplit(":", 2)
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        return cls(parts[0], int(parts[1]), parts[2])


@dataclass
class JobContext:
    database: Database
    box: SecretBox
    catalog: Catalog
    http: HttpClient
    settings: Settings
    clock: Callable[[], datetime] = utcnow
    rng: random.Random = field(default_factory=random.Random)
    worker_id: str = field(default_factory=new_worker_id)

    def now(self) -> datetime:
        return self.clock()

    def app_credentials(self, provider: str) -> AppCredentials:
        """Our OAuth client at ``provider``, or a clear error naming the setting to fill."""
        client = self.settings.oauth_client(provider)
        if client is None:
            raise AppNotRegistered(
                f"no OAuth client configured for {provider}: add it to RELINK_OAUTH_CLIENTS"
            )
        return AppCredentials(
            client_id=client.client_id,
            client_secret=client.client_secret.get_secret_value(),
            redirect_uri=self.settings.oauth_redirect_uri,
        )

    async def close(self) -> None:
        await self.http.close()


def build_context(
    *, settings: Settings | None = None, database: Database | None = None
) -> JobContext:
    """A context from the configuration (the sandbox entries point at the configured sandbox)."""
    settings = settings or get_settings()
    return JobContext(
        database=database or default_database(),
        box=SecretBox(settings.key_list()),
        catalog=load_catalog(base_urls={"sandbox_url": settings.effective_sandbox_url}),
        http=HttpClient(),
        settings=settings,
    )
