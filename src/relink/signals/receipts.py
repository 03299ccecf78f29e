"""The replay guard: each signal is acted on once, by its issuer's unique id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from relink.models import SignalReceipt


async def first_sight(
    session: AsyncSession, *, issuer: str, jti: str, kind: str, now: datetime
) -> bool:
    """Record the signal; False when the same issuer sent the same id before (a replay)."""
    try:
        async with session.begin_nested():
            receipt = SignalReceipt(issuer=issuer[:320], jti=jti[:200], kind=kind, received_at=now)
            session.add(receipt)
    except IntegrityError:
        return False
    return True
