"""Tokens as the service keeps them: hashed, named, scoped, and every creation and revocation
an event that names the token, never its value."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.api_tokens import service as api_tokens
from relink.api_tokens.values import parse_value
from relink.errors import InvalidInput
from relink.models import ApiToken, Event, TokenScope, User
from relink.models.base import utcnow
from tests.fixtures.demo import Demo


async def _create(
    session: AsyncSession, user: User, name: str = "cron", *, scope: TokenScope = TokenScope.READ
) -> api_tokens.Created:
    return await api_tokens.create_token(
        session,
        user=user,
        name=name,
        scope=scope,
        expires_at=None,
        actor=f"user:{user.id}",
        now=utcnow(),
    )


async def test_a_token_is_kept_as_its_lookup_and_the_digest_of_its_secret(
    session: AsyncSession, demo: Demo
) -> None:
    created = await _create(session, demo.staff)

    row = await session.get_one(ApiToken, created.token.id)
    value = parse_value(created.value.text)
    assert value is not None
    assert created.value.text.startswith("rlk_")
    assert row.lookup == value.lookup
    assert row.secret_hash == hashlib.sha256(value.secret.encode()).hexdigest()
    assert value.secret not in repr(row.__dict__)
    assert value.secret not in repr(created)


async def test_creating_a_token_is_an_event_naming_it_never_its_value(
    session: AsyncSession, demo: Demo
) -> None:
    created = await _create(session, demo.staff, name="Looker Studio")

    event = await session.scalar(select(Event).where(Event.action == "api_token.created"))
    assert event is not None
    assert (event.subject_type, event.subject_id) == ("api_token", created.token.id)
    assert event.actor == f"user:{demo.staff.id}"
    assert event.details["name"] == "Looker Studio"
    assert created.value.secret not in repr(event.details)
    assert created.value.text not in repr(event.details)


async def test_revoking_a_token_is_one_event_however_often_it_is_asked(
    session: AsyncSession, demo: Demo
) -> None:
    created = await _create(session, demo.staff)

    first = await api_tokens.revoke_token(
        session, token=created.token, actor="user:1", now=utcnow()
    )
    again = await api_tokens.revoke_token(
        session, token=created.token, actor="user:1", now=utcnow()
    )

    assert (first, again) == (True, False)
    revoked = list(await session.scalars(select(Event).where(Event.action == "api_token.revoked")))
    assert [(e.subject_id, e.details["name"]) for e in revoked] == [(created.token.id, "cron")]


async def test_a_token_needs_a_name(session: AsyncSession, demo: Demo) -> None:
    with pytest.raises(InvalidInput, match="name"):
        await _create(session, demo.staff, name="   ")


async def test_two_live_tokens_of_one_user_cannot_share_a_name(
    session: AsyncSession, demo: Demo
) -> None:
    await _create(session, demo.staff, name="cron")

    with pytest.raises(InvalidInput, match="already have a token named 'cron'"):
        await _create(session, demo.staff, name="cron")
    # another user may use the name
    await _create(session, demo.admin, name="cron")


async def test_a_client_login_can_only_have_read_only_tokens(
    session: AsyncSession, demo: Demo
) -> None:
    with pytest.raises(InvalidInput, match="read scope"):
        await _create(session, demo.client_user, scope=TokenScope.WRITE)

    assert (await _create(session, demo.client_user)).token.scope is TokenScope.READ


async def test_an_expiry_is_one_day_to_ten_years_away(session: AsyncSession, demo: Demo) -> None:
    now = utcnow()

    assert api_tokens.expiry_after(30, now=now) == now + timedelta(days=30)
    assert api_tokens.expiry_after(None, now=now) is None
    for days in (0, -1, 3651):
        with pytest.raises(InvalidInput, match="1 to 3650 days"):
            api_tokens.expiry_after(days, now=now)


def test_a_scope_is_read_or_write() -> None:
    assert api_tokens.parse_scope("read") is TokenScope.READ
    assert api_tokens.parse_scope("Read-Write") is TokenScope.WRITE
    with pytest.raises(InvalidInput, match="read or write"):
        api_tokens.parse_scope("admin")


def test_only_a_well_formed_value_is_parsed() -> None:
    good = "rlk_0123456789abcdef_" + "a" * 43

    assert parse_value(good) is not None
    for bad in (good + "x", good.replace("rlk_", "rlx_"), "rlk_0123_" + "a" * 43, ""):
        assert parse_value(bad) is None
