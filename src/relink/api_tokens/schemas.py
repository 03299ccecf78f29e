"""A token as scripts and the command line read it: everything but its secret."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from relink.models import ApiToken, TokenKind, TokenScope


class TokenOut(BaseModel):
    """One token, without its value (never shown again after its creation)."""

    id: int
    name: str
    kind: TokenKind = Field(description="personal (acts as its user) or service (the agency's)")
    scope: TokenScope
    permissions: list[str] = Field(
        description="A service token's permissions (credentials:read, …); empty for a personal one"
    )
    user_email: str | None = Field(description="Whose token it is (it acts as them)")
    prefix: str = Field(description="The token's public start, to recognise it: rlk_<lookup>_")
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    last_used_address: str | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, token: ApiToken, *, user_email: str | None) -> TokenOut:
        return cls(
            id=token.id,
            name=token.name,
            kind=token.kind,
            scope=token.scope,
            permissions=(token.permissions or "").split(),
            user_email=user_email,
            prefix=f"rlk_{token.lookup}_",
            created_at=token.created_at,
            expires_at=token.expires_at,
            last_used_at=token.last_used_at,
            last_used_address=token.last_used_address,
            revoked_at=token.revoked_at,
        )


class TokenCreated(TokenOut):
    """The creation's answer: the only one that carries the value."""

    value: str = Field(description="The token itself; shown only this once")
