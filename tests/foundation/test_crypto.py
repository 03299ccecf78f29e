"""Secrets at rest: sealed with MultiFernet, rotated, and failing closed when tampered."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.errors import CredentialsUnreadable, InvalidInput
from relink.grants.service import open_credentials, rotate_keys
from relink.kit.crypto import SecretBox, generate_key
from relink.models import Event, Grant
from tests.fixtures.demo import Demo


def test_a_sealed_object_opens_to_the_same_object() -> None:
    box = SecretBox([generate_key()])

    assert box.open(box.seal({"refresh_token": "r-1", "n": 2})) == {"refresh_token": "r-1", "n": 2}


def test_a_tampered_token_does_not_open() -> None:
    box = SecretBox([generate_key()])
    token = box.seal({"api_key": "k"})
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]

    with pytest.raises(CredentialsUnreadable):
        box.open(tampered)


def test_a_key_that_is_not_a_fernet_key_is_refused_with_how_to_fix() -> None:
    with pytest.raises(InvalidInput, match="relink keys generate"):
        SecretBox(["not-a-key"])


async def test_a_tampered_grant_is_flagged_and_nothing_crashes(
    session: AsyncSession, demo: Demo, box: SecretBox
) -> None:
    grant = demo.shared_grant
    # A different character, whatever the random token held there (1 in 64 it was an "x").
    swapped = "A" if grant.credentials[20] != "A" else "B"
    grant.credentials = grant.credentials[:20] + swapped + grant.credentials[21:]
    await session.commit()

    with pytest.raises(CredentialsUnreadable):
        await open_credentials(session, box=box, grant=grant)
    await session.commit()

    await session.refresh(grant)
    assert grant.credentials_unreadable_at is not None
    event = await session.scalar(select(Event).where(Event.action == "credentials_unreadable"))
    assert event is not None and event.subject_id == grant.id


async def test_after_rotation_and_dropping_the_old_key_every_secret_still_opens(
    session: AsyncSession, demo: Demo, box: SecretBox, secret_key: str
) -> None:
    new_key = generate_key()
    before = {g.id: box.open(g.credentials) for g in await session.scalars(select(Grant))}

    report = await rotate_keys(session, box=SecretBox([new_key, secret_key]))
    await session.commit()

    only_new = SecretBox([new_key])
    after = {g.id: only_new.open(g.credentials) for g in await session.scalars(select(Grant))}
    assert after == before
    assert report.rotated == len(before) and report.unreadable == 0


async def test_rotation_flags_a_grant_no_key_opens_and_rotates_the_rest(
    session: AsyncSession, demo: Demo, secret_key: str
) -> None:
    demo.shared_grant.credentials = SecretBox([generate_key()]).seal({"refresh_token": "lost"})
    await session.commit()

    report = await rotate_keys(session, box=SecretBox([generate_key(), secret_key]))
    await session.commit()

    assert report.unreadable == 1
    await session.refresh(demo.shared_grant)
    assert demo.shared_grant.credentials_unreadable_at is not None
