"""What of a provider's answer may be shown or logged: short, and with no credential in it."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any, Final

# Keys whose values are credentials wherever they appear in a body.
_SECRET_KEYS: Final = frozenset(
    {
        "access_token",
        "refresh_token",
        "id_token",
        "token",
        "client_secret",
        "password",
        "api_key",
        "apikey",
        "authorization",
        "assertion",
    }
)
# Long opaque strings look like tokens or keys; UUID-shaped ids (trace ids) are kept.
_TOKENISH: Final = re.compile(r"[A-Za-z0-9_\-.~+/=]{24,}")
_UUID: Final = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def redact(text: str, limit: int) -> str:
    """Shorten `text` and blank out anything that looks like a credential."""
    with contextlib.suppress(ValueError):
        text = json.dumps(_scrub(json.loads(text)), separators=(",", ":"))
    cleaned = _TOKENISH.sub(lambda m: m[0] if _UUID.fullmatch(m[0]) else "[redacted]", text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: "[redacted]" if str(key).lower() in _SECRET_KEYS else _scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    return value
