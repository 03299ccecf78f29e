"""Who may act on data sources: agency staff and admins, never a client's own login."""

from __future__ import annotations

from relink.auth.access import is_staff_or_admin
from relink.errors import Forbidden
from relink.models import User


def require_staff(user: User, doing: str) -> None:
    """Client logins are read-only and never told about disconnects."""
    if not is_staff_or_admin(user):
        raise Forbidden(f"only agency staff and admins can {doing}")
