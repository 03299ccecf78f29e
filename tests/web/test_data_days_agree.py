""" "Data complete through" and "may be incomplete since" never contradict each other, and say
the same days on the data source page, the clients pages, the API and the e-mail."""

from __future__ import annotations

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.data_sources.imports import import_data_sources
from relink.models import DataSource, OutboxEmail
from relink.notifications.email_tasks import compose_due
from relink.sandbox import seed
from relink.status import DataSourceStatus
from relink.worker.context import JobContext
from relink.worker.sweep import sweep
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo, data_sources_of
from tests.fixtures.sandbox import SandboxServer

HARBOR = "harbor@sandbox.test"
ADMIN = "admin@demo.relink.test"
BERLIN = "Europe/Berlin"


def _shown(day: date) -> str:
    """How a page prints a day, by its machine-readable form."""
    return f'<time datetime="{day.isoformat()}">'


def _emailed(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


async def test_the_two_labels_agree_on_the_pages_the_api_and_the_email(
    session: AsyncSession,
    demo: Demo,
    ctx: JobContext,
    clock: Clock,
    sandbox: SandboxServer,
    admin: httpx.Client,
) -> None:
    # given: two of the Harbor login's accounts imported just now, one of them in Berlin
    imported, berlin = seed.SECOND_ACCOUNTS[0].id, seed.SECOND_ACCOUNTS[1].id
    await session.execute(
        update(DataSource)
        .where(DataSource.external_account_id == berlin)
        .values(account_timezone=BERLIN)
    )
    await session.commit()
    ids = {
        s.external_account_id: s.id for s in await data_sources_of(session, demo.second_grant_id)
    }
    import_time = clock()
    await import_data_sources(ctx, [ids[imported], ids[berlin]])
    # when: the login is revoked, found by a check, and the people told by e-mail
    sandbox.add_fault("revoke_grant", grant=HARBOR)
    await sweep(ctx, check_every_grant=True)
    clock.advance(minutes=3)
    await compose_due(ctx)

    # then: the API says each source's two days, one after the other, today never complete
    answers = {
        account: admin.get(f"/api/data-sources/{source_id}").json()
        for account, source_id in ids.items()
    }
    assert {a["status"] for a in answers.values()} == {DataSourceStatus.DISCONNECTED.value}
    for account, answer in answers.items():
        through = date.fromisoformat(answer["complete_through"])
        since = date.fromisoformat(answer["missing_since"])
        assert since == through + timedelta(days=1), account
    for account, zone in ((imported, "UTC"), (berlin, BERLIN)):
        # The first day not complete is the account's today at the import.
        their_today = import_time.astimezone(ZoneInfo(zone)).date()
        assert answers[account]["missing_since"] == their_today.isoformat()

    # and the pages say the same days
    for account, source_id in ids.items():
        through = date.fromisoformat(answers[account]["complete_through"])
        since = date.fromisoformat(answers[account]["missing_since"])
        page = admin.get(f"/data-sources/{source_id}").text
        assert f"Data complete through</dt><dd>{_shown(through)}" in page
        assert f"may be incomplete since {_shown(since)}" in page
        client_id = answers[account]["client_id"]
        client_page = admin.get(f"/clients/{client_id}").text
        assert f"may be incomplete since <strong>{_shown(since)}" in client_page
        listing = admin.get("/clients", params={"q": answers[account]["client_name"]}).text
        assert f"May be incomplete since {_shown(since)}" in listing

    # and the admin's e-mail names the hole that starts first, with the same two days
    first = min(answers.values(), key=lambda a: (a["missing_since"], a["complete_through"]))
    body = await session.scalar(
        select(OutboxEmail.text_body).where(OutboxEmail.to_address == ADMIN)
    )
    assert body is not None
    through = date.fromisoformat(first["complete_through"])
    since = date.fromisoformat(first["missing_since"])
    said = f"complete through {_emailed(through)} · may be incomplete since {_emailed(since)}"
    assert said in re.sub(r"\s+", " ", body)
