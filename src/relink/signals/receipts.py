"""The replay guard: each signal is acted on once, by its issuer's unique id."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from relink.models import SignalReceipt

# Longer than any signal is accepted after its issue time (risc.MAX_AGE, meta.MAX_AGE, plus
# skew): an older receipt guards nothing, since the signal itself is refused as stale.
KEEP = timedelta(hours=1)


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


async def prune(session: AsyncSession, *, now: datetime) -> None:
    """Forget receipts too old to matter (the probe's periodic run calls this)."""
    await session.execute(delete(SignalReceipt).where(SignalReceipt.received_at < now - KEEP))
