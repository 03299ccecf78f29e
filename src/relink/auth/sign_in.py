"""Signing in and out, and changing one's own password: the rules both the API and the pages call.

Nothing here knows about cookies: the caller puts the returned session token into the
browser's cookie (``relink.dependencies.remember_sign_in``) and clears it on sign-out, hands in
the device cookie the browser presented, and sets the new one returned
(``relink.auth.device_cookie.remember_device``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth import sessions
from relink.auth.throttle import LoginThrottle
from relink.models import User
from relink.users.service import authenticate, change_own_password


@dataclass(frozen=True)
class SignedIn:
    """A successful sign-in: the user, the token for the browser's session cookie (never
    stored), and the value of its new device cookie."""

    user: User
    token: str
    device_cookie: str


async def sign_in(
    session: AsyncSession,
    *,
    throttle: LoginThrottle,
    email: str,
    password: str,
    address: str,
    user_agent: str | None,
    device_cookie: str | None = None,
    now: datetime,
) -> SignedIn | None:
    """Check the password under the throttle; on success start a fresh server-side session.

    ``device_cookie``: the one the browser presented, if any; a genuine one of this account
    lets the attempt past the per-address limit (``relink.auth.throttle``).
    None for a wrong e-mail or password (the same answer for either, so neither is revealed).
    """
    # Read for this very e-mail: another account's cookie, or a forged one, is no cookie.
    device = throttle.devices.read(device_cookie, email=email, now=now)
    # Reserved before the password is checked (and before this request's transaction holds a
    # connection): parallel guesses each take a place in the count, or are refused unchecked.
    reservation = await throttle.reserve(email=email, address=address, device=device)
    user = await authenticate(session, email=email, password=password)
    if user is None:
        return None
    await throttle.succeeded(reservation, session=session)
    user.last_login_at = now
    started = await sessions.start_session(
        session, user=user, now=now, user_agent=user_agent, address=address
    )
    # A fresh cookie each time: its lifetime counts from the last sign-in.
    device_value = throttle.devices.issue(user_id=user.id, email=user.email, now=now)
    return SignedIn(user=user, token=started.token, device_cookie=device_value)


async def sign_out(session: AsyncSession, *, token: str | None, now: datetime) -> None:
    """End the session of ``token`` server-side, so every copy of its cookie is dead too."""
    if token is not None:
        await sessions.end_session(session, token=token, now=now)


async def change_password(
    session: AsyncSession,
    *,
    throttle: LoginThrottle,
    user: User,
    address: str,
    current_password: str,
    new_password: str,
    keep_session_id: int | None,
    device_cookie: str | None = None,
    now: datetime,
) -> int:
    """Change one's own password; every other session of the user ends. Returns how many.

    The current password is checked under the sign-in throttle: a stolen cookie must not be a
    way to guess it without limit. A device cookie of the user's counts as at sign-in.
    """
    device = throttle.devices.read(device_cookie, email=user.email, now=now)
    reservation = await throttle.reserve(email=user.email, address=address, device=device)
    ended = await change_own_password(
        session,
        user=user,
        current_password=current_password,
        new_password=new_password,
        keep_session_id=keep_session_id,
        now=now,
    )
    await throttle.succeeded(reservation, session=session)
    return ended
