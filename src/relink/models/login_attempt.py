from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from relink.models.base import Base


class LoginAttempt(Base):
    """One sign-in throttle counter, shared by every app process: a keyed count with an end.

    Keys are keyed hashes of an e-mail and/or an address (``pair:…``, ``addr:…``,
    ``email:…``), never the e-mail itself. Rows past ``expires_at`` mean nothing and are pruned.
    """

    __tablename__ = "login_attempt"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    hits: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[datetime] = mapped_column(index=True)
