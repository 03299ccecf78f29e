"""Where the sandbox listens and where its admin API is found: ``RELINK_SANDBOX_HOST/_PORT/_URL``.

The sandbox reads its own settings, so it stays a separate app that imports nothing of Relink's
wiring. Relink's ``Settings`` read the same variables with the same defaults (it imports them
from here), so ``relink serve --with-sandbox`` and ``relink sandbox serve`` agree.
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_HOST = "127.0.0.1"
# One above the app's 8000, so both fit side by side on a laptop.
DEFAULT_PORT = 8001


def base_url(*, host: str, port: int, url: str = "") -> str:
    """The configured URL, or the one the host and port make; never a trailing slash."""
    return (url or f"http://{host}:{port}").rstrip("/")


class SandboxSettings(BaseSettings):
    """The sandbox's part of the environment; read afresh on every call (commands are short)."""

    model_config = SettingsConfigDict(env_prefix="RELINK_SANDBOX_", extra="ignore")

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    url: str = ""

    @property
    def effective_url(self) -> str:
        return base_url(host=self.host, port=self.port, url=self.url)
