"""Secrets at rest: JSON objects sealed with MultiFernet (the first key encrypts, all decrypt)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from relink.errors import CredentialsUnreadable, InvalidInput


class SecretBox:
    """Seals and opens credential objects; a tampered or foreign token fails closed."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise InvalidInput("at least one secret key is needed (RELINK_SECRET_KEYS)")
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except (ValueError, TypeError) as exc:
            raise InvalidInput(
                "RELINK_SECRET_KEYS holds a key that is not a Fernet key "
                "(32 url-safe base64-encoded bytes; make one with `relink keys generate`)"
            ) from exc

    def seal(self, payload: Mapping[str, Any]) -> str:
        """Encrypt a JSON-able object under the newest key."""
        return self._fernet.encrypt(json.dumps(dict(payload), sort_keys=True).encode()).decode()

    def open(self, token: str) -> dict[str, Any]:
        """Decrypt a sealed object, or raise ``CredentialsUnreadable``."""
        try:
            data = json.loads(self._fernet.decrypt(token.encode()))
        except (InvalidToken, ValueError) as exc:
            raise CredentialsUnreadable(
                "stored credentials cannot be decrypted: tampered, or sealed under a key "
                "that is no longer configured"
            ) from exc
        if not isinstance(data, dict):
            raise CredentialsUnreadable("stored credentials are not an object")
        return data

    def rotate(self, token: str) -> str:
        """Re-encrypt under the newest key, or raise ``CredentialsUnreadable``."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise CredentialsUnreadable("stored credentials cannot be decrypted") from exc


def generate_key() -> str:
    """A fresh Fernet key."""
    return Fernet.generate_key().decode()
