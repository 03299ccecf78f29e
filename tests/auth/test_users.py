"""Accounts: argon2 hashes, sign-in checks and the shape of each role."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from relink.demo import DEMO_PASSWORD
from relink.errors import InvalidInput
from relink.models import Role
from relink.models.base import utcnow
from relink.users.service import authenticate, create_user
from tests.fixtures.demo import Demo


async def test_passwords_are_stored_as_argon2id_hashes(demo: Demo) -> None:
    assert demo.admin.password_hash.startswith("$argon2id$")
    assert DEMO_PASSWORD not in demo.admin.password_hash


async def test_the_right_password_signs_in(session: AsyncSession, demo: Demo) -> None:
    user = await authenticate(session, email="  ADMIN@demo.relink.test ", password=DEMO_PASSWORD)

    assert user is not None and user.id == demo.admin.id


async def test_a_wrong_password_or_unknown_email_does_not_sign_in(
    session: AsyncSession, demo: Demo
) -> None:
    assert await authenticate(session, email=demo.admin.email, password="wrong-password") is None
    assert await authenticate(session, email="nobody@x.test", password=DEMO_PASSWORD) is None


async def test_a_short_password_is_refused_with_the_minimum(
    session: AsyncSession, demo: Demo
) -> None:
    with pytest.raises(InvalidInput, match="at least 10 characters"):
        await create_user(
            session,
            agency_id=demo.agency.id,
            email="new@x.test",
            name="New",
            password="short",
            role=Role.ADMIN,
            now=utcnow(),
        )


async def test_a_client_user_needs_their_client(session: AsyncSession, demo: Demo) -> None:
    with pytest.raises(InvalidInput, match="needs the client"):
        await create_user(
            session,
            agency_id=demo.agency.id,
            email="c2@x.test",
            name="C",
            password=DEMO_PASSWORD,
            role=Role.CLIENT,
            now=utcnow(),
        )


async def test_a_duplicate_email_is_refused(session: AsyncSession, demo: Demo) -> None:
    with pytest.raises(InvalidInput, match="exists already"):
        await create_user(
            session,
            agency_id=demo.agency.id,
            email=demo.staff.email,
            name="Dup",
            password=DEMO_PASSWORD,
            role=Role.STAFF,
            now=utcnow(),
        )


async def test_staff_access_to_a_client_of_another_agency_is_refused(
    session: AsyncSession, demo: Demo
) -> None:
    with pytest.raises(InvalidInput, match="no such client"):
        await create_user(
            session,
            agency_id=demo.agency.id,
            email="s2@x.test",
            name="S",
            password=DEMO_PASSWORD,
            role=Role.STAFF,
            client_ids=[999_999],
            now=utcnow(),
        )
