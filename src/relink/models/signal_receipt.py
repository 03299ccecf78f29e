from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from relink.models.base import Base, HasId, utcnow


class SignalReceipt(HasId, Base):
    """One provider signal seen, by its issuer's unique id: a replayed one is refused.

    Provider-wide (a signal names an identity, not an agency), so no agency column.
    """

    __tablename__ = "signal_receipt"
    __table_args__ = (UniqueConstraint("issuer", "jti", name="uq_signal_receipt_issuer_jti"),)

    issuer: Mapped[str] = mapped_column(String(320))
    # The SET's `jti`, or a digest of a signed_request / webhook id for the other kinds.
    jti: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
