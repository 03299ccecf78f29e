"""Device cookies: a browser that signed in to an account before is known to that account.

OWASP's credential-stuffing guidance ("device cookies"): each successful sign-in leaves a
long-lived cookie, signed with the app's session secret, naming the account, a random nonce and
when it was issued. A later sign-in to the same account presenting it comes from a browser
that knew the password once, so the per-address limit (which a visitor behind the same office
NAT can fill) does not apply to it; the per-account limits do, and so does a limit on the
cookie's own failures (``relink.auth.throttle``), so a stolen cookie is no way to guess.

The cookie names the account twice: by its user id, and by a keyed digest of its e-mail. The
digest is what an attempt is compared with, because an attempt names an e-mail and its
password is checked (and its user read) only after the throttle has let it through.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeSerializer

# Not the session cookie's name: signing out or ending every session leaves the browser known.
COOKIE_NAME = "relink_device"
# OWASP's example keeps a device trusted for months; a browser used once a quarter stays known.
LIFETIME = timedelta(days=90)
# Tells this cookie's signatures apart from every other use of the session secret.
_SALT = "relink.auth.device-cookie"
_NONCE_BYTES = 16


@dataclass(frozen=True, slots=True)
class KnownDevice:
    """A genuine, unexpired device cookie of the account an attempt names."""

    user_id: int
    nonce: str


class DeviceCookies:
    """Issues device cookies and reads them back; pure, no I/O."""

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()
        self._serializer = URLSafeSerializer(
            secret, salt=_SALT, signer_kwargs={"digest_method": hashlib.sha256}
        )

    def issue(self, *, user_id: int, email: str, now: datetime) -> str:
        """A new cookie value for ``user_id`` (signed in as ``email``), issued ``now``."""
        payload = {
            "u": user_id,
            "a": self._account(email),
            "n": secrets.token_urlsafe(_NONCE_BYTES),
            "t": int(now.timestamp()),
        }
        return str(self._serializer.dumps(payload))

    def read(self, value: str | None, *, email: str, now: datetime) -> KnownDevice | None:
        """The device ``value`` names, when it is ours, unexpired and for ``email``; else None.

        A forged or altered cookie, another account's, or one past its lifetime: all None,
        and an attempt presenting it is treated like one without a cookie.
        """
        if not value:
            return None
        try:
            payload = self._serializer.loads(value)
        except BadSignature:
            return None
        if not isinstance(payload, dict):
            return None
        user_id, account, nonce, issued = (payload.get(k) for k in ("u", "a", "n", "t"))
        if not (
            isinstance(user_id, int)
            and isinstance(account, str)
            and isinstance(nonce, str)
            and isinstance(issued, int)
        ):
            return None
        if now - datetime.fromtimestamp(issued, UTC) > LIFETIME:
            return None
        if not hmac.compare_digest(account, self._account(email)):
            return None
        return KnownDevice(user_id=user_id, nonce=nonce)

    def _account(self, email: str) -> str:
        # Keyed, so the cookie does not show the e-mail to whoever reads it.
        digest = hmac.new(self._secret, b"device\x00" + _normal(email).encode(), hashlib.sha256)
        return digest.hexdigest()[:32]


def _normal(email: str) -> str:
    """An e-mail as accounts are looked up by (``relink.users.service.authenticate``)."""
    return email.strip().lower()


def presented(request: Request) -> str | None:
    """The device cookie this browser sent, if any (not yet checked)."""
    return request.cookies.get(COOKIE_NAME)


def remember_device(response: Response, value: str, *, secure: bool) -> None:
    """Set the device cookie on ``response``: HttpOnly, SameSite=Lax, Secure over https."""
    response.set_cookie(
        COOKIE_NAME,
        value,
        max_age=int(LIFETIME.total_seconds()),
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )
