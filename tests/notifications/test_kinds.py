"""Notification kinds are typed on write: each kind owns its label, text, action and e-mail."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import get_args

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.grants.expiry import watch
from relink.incidents import service as incidents
from relink.models import Grant, Incident, Notification
from relink.notifications import kinds
from relink.notifications.email import (
    DIGEST,
    SINGLE,
    TEMPLATES_DIR,
    ClaimedRow,
    email_item,
    render_email,
)
from relink.providers.catalog import load_catalog
from relink.providers.taxonomy import AuthKind, ErrorClass
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo

BASE_URL = "https://relink.example"
OPENED = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
# Every member of the discriminated union, by the name it is stored under.
UNION = {
    model.model_fields["kind"].default: model
    for model in get_args(get_args(kinds.NotificationKind)[0])
}


def _facts(kind: str) -> kinds.Facts:
    return kinds.Facts(
        incident_id=1,
        provider="sandbox",
        provider_name="Sandbox Ads",
        opened_at=OPENED,
        error_class=ErrorClass.AUTH_REVOKED,
        grant_id=7,
        hint="Sign in again.",
        auth_kind=AuthKind.OAUTH2,
        expires_on=date(2025, 3, 5) if kind == kinds.EXPIRES_SOON else None,
    )


def test_every_kind_of_the_union_has_a_model_and_a_label() -> None:
    assert set(kinds.MODELS) == set(UNION)
    assert {name: model for name, model in kinds.MODELS.items()} == UNION
    assert set(kinds.LABELS) == set(UNION)
    assert all(label.strip() for label in kinds.LABELS.values())
    assert kinds.label_of(kinds.UPLOAD_FAILED) == "Data upload failed"
    assert kinds.label_of("something_else") == "Something else"


@pytest.mark.parametrize("kind", sorted(UNION))
def test_every_kind_builds_itself_and_reads_back_the_same(kind: str) -> None:
    built = kinds.build(kind, _facts(kind), client_names=["Acme"], data_source_ids=[3])

    stored = built.model_dump(mode="json")

    assert type(built) is UNION[kind]
    assert kinds.parse(stored) == built
    assert built.title and built.text and built.action.label and built.action.path


def test_an_unknown_kind_is_refused_when_written() -> None:
    with pytest.raises(ValueError, match="no notification kind"):
        kinds.build("mystery", _facts("mystery"), client_names=[], data_source_ids=[])


@pytest.mark.parametrize("kind", sorted(UNION))
def test_every_kinds_email_template_exists_and_renders(kind: str) -> None:
    built = kinds.build(kind, _facts(kind), client_names=["Acme Dental"], data_source_ids=[3])
    for ext in ("txt", "html"):
        assert (Path(TEMPLATES_DIR) / f"{built.email_template}.{ext}").is_file()
    row = ClaimedRow(41, 1, built.model_dump(mode="json"), resolved=False)
    item = email_item(row, base_url=BASE_URL)
    assert item is not None and item.template == built.email_template

    for layout in (SINGLE, DIGEST):
        rendered = render_email(layout, items=[item, item], base_url=BASE_URL, name="Ann")
        for body in (rendered.text_body, rendered.html_body):
            assert built.title in body
            assert "Acme Dental" in body
            assert f"{BASE_URL}/notifications/41" in body


async def test_fanout_stores_exactly_the_dump_of_the_kind_model(
    session: AsyncSession, demo: Demo, clock: Clock
) -> None:
    opened = await incidents.open_or_extend(
        session,
        agency_id=demo.agency.id,
        key=incidents.grant_key(demo.shared_grant_id, ErrorClass.AUTH_REVOKED),
        error_class=ErrorClass.AUTH_REVOKED,
        provider="sandbox",
        now=clock(),
        grant_id=demo.shared_grant_id,
        detail="invalid_grant: the provider's own words",
    )
    await session.commit()

    payloads = list(
        await session.scalars(
            select(Notification.payload).where(Notification.incident_id == opened.incident.id)
        )
    )

    assert payloads
    for payload in payloads:
        assert payload == kinds.parse(payload).model_dump(mode="json")
        assert "detail" not in payload


async def test_the_expiry_day_is_kept_in_its_own_column_not_in_the_detail(
    session: AsyncSession, demo: Demo, clock: Clock
) -> None:
    # given: the shared grant is a Google Ads login of an app in testing mode, six days old
    await session.execute(
        update(Grant)
        .where(Grant.id == demo.shared_grant_id)
        .values(provider="google_ads", created_at=clock() - timedelta(days=6))
    )
    await session.commit()

    # when
    await watch(
        session, catalog=load_catalog(), now=clock(), testing_apps=frozenset({"google_ads"})
    )
    await session.commit()

    # then
    incident = await session.scalar(
        select(Incident).where(Incident.key == incidents.expires_soon_key(demo.shared_grant_id))
    )
    assert incident is not None
    assert incident.expires_on == (clock() + timedelta(days=1)).date()
    assert incident.detail is None
    payload = await session.scalar(
        select(Notification.payload).where(Notification.incident_id == incident.id).limit(1)
    )
    assert payload is not None and payload["expires_on"] == incident.expires_on.isoformat()
