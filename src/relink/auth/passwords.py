"""Passwords are stored as argon2id hashes, never in any readable form."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 10
# Longer than any passphrase a person types; a megabyte of input would make every hash costly.
MAX_PASSWORD_LENGTH = 1024
# RFC 5321 caps an address at 254 characters.
MAX_EMAIL_LENGTH = 254


def hash_password(password: str) -> str:
    return str(_hasher.hash(password))


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; never raises on a wrong or malformed hash."""
    try:
        return bool(_hasher.verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return bool(_hasher.check_needs_rehash(password_hash))
