"""What the sign-in and session API reads and answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from relink.auth.passwords import MAX_EMAIL_LENGTH, MAX_PASSWORD_LENGTH
from relink.models import User


class SignIn(BaseModel):
    email: str = Field(max_length=MAX_EMAIL_LENGTH)
    password: str = Field(max_length=MAX_PASSWORD_LENGTH)


class Me(BaseModel):
    id: int
    email: str
    name: str
    role: str

    @classmethod
    def of(cls, user: User) -> Me:
        return cls(id=user.id, email=user.email, name=user.name, role=user.role.value)


class CsrfOut(BaseModel):
    csrf_token: str


class SessionOut(BaseModel):
    id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    user_agent: str | None
    address: str | None
    current: bool


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=MAX_PASSWORD_LENGTH)
    new_password: str = Field(max_length=MAX_PASSWORD_LENGTH)


class SessionsEnded(BaseModel):
    ended: int
