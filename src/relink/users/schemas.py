"""What ``/api/v1/users`` says about the agency's people and takes to change their access."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from relink.kit.row_ids import BoundedId
from relink.models import Role, User
from relink.users.listing import NamedClient

# A staff user's chosen list is for a few clients; an agency whose staff see most of them
# gives them every client instead.
MAX_CHOSEN_CLIENTS = 1000


class AgencyRole(StrEnum):
    """The roles a user can be moved between (a client login's is fixed)."""

    ADMIN = "admin"
    STAFF = "staff"


class ClientRefOut(BaseModel):
    id: int = Field(description="The client's id")
    name: str = Field(description="The client's name")


class UserOut(BaseModel):
    """One of the agency's users and what they may see."""

    id: int = Field(description="The user's id")
    email: str = Field(description="The sign-in e-mail")
    name: str = Field(description="The display name")
    role: Role = Field(description="admin, staff, or client (a client's own read-only login)")
    active: bool = Field(description="False once deactivated: no sign-in, no token works")
    sees_all_clients: bool = Field(description="Admins and all-clients staff see every client")
    clients: list[ClientRefOut] = Field(
        description="A limited staff user's chosen clients, or a client login's own client"
    )
    last_login_at: datetime | None = Field(description="The last sign-in")
    created_at: datetime = Field(description="When the user was added")

    @classmethod
    def of(cls, user: User, *, clients: list[NamedClient]) -> UserOut:
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            role=user.role,
            active=user.is_active,
            sees_all_clients=user.role is Role.ADMIN
            or (user.role is Role.STAFF and user.all_clients),
            clients=[ClientRefOut(id=c.id, name=c.name) for c in clients],
            last_login_at=user.last_login_at,
            created_at=user.created_at,
        )


class UserPage(BaseModel):
    """A page of the agency's users, by name."""

    items: list[UserOut] = Field(description="The users of this page")
    next_cursor: str | None = Field(
        description="Pass as cursor for the next page; null on the last page"
    )


class AccessIn(BaseModel):
    """A new role and/or a staff user's clients: give what changes."""

    model_config = ConfigDict(extra="forbid")

    role: AgencyRole | None = Field(
        default=None, description="admin or staff (a client login keeps its role)"
    )
    all_clients: bool | None = Field(
        default=None, description="Staff only: true to see every client of the agency"
    )
    client_ids: list[BoundedId] | None = Field(
        default=None,
        max_length=MAX_CHOSEN_CLIENTS,
        description="Staff only: the clients they see (at least one), instead of all",
    )
