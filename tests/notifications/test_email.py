from __future__ import annotations

import asyncio
import random
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from structlog.testing import capture_logs

from relink.config import Settings
from relink.db import Database
from relink.incidents import service as incidents
from relink.kit.crypto import SecretBox
from relink.models import DataSource, EmailPreference, Notification, OutboxEmail, User
from relink.notifications import email as composition
from relink.notifications.email import DIGEST, SINGLE, EmailItem, render_email
from relink.notifications.email_tasks import compose_due, deliver_outbox
from relink.notifications.smtp import parse_smtp_url
from relink.providers.catalog import load_catalog
from relink.providers.http import HttpClient
from relink.providers.taxonomy import ErrorClass
from relink.worker.context import JobContext
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo
from tests.fixtures.smtp import SmtpServer, free_port, smtp_server

BASE_URL = "https://relink.example"
# A Monday at 10:00 UTC: after the day's 08:00 digest, so daily-digest users wait a night.
START = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
AFTER_BURST = {"minutes": 3}
LINK = re.compile(re.escape(BASE_URL) + r"/notifications/(\d+)")


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


def job_context(
    database: Database, box: SecretBox, clock: Clock, smtp_url: str | None
) -> JobContext:
    settings = Settings(
        smtp_url=SecretStr(smtp_url) if smtp_url else None,
        base_url=BASE_URL,
        mail_from="Relink <relink@relink.example>",
    )
    return JobContext(
        database=database,
        box=box,
        catalog=load_catalog(),
        http=HttpClient(),
        settings=settings,
        clock=clock,
        rng=random.Random(7),
    )


@pytest.fixture
async def ctx(
    database: Database, box: SecretBox, clock: Clock, smtp: SmtpServer
) -> AsyncIterator[JobContext]:
    context = job_context(database, box, clock, smtp.url)
    yield context
    await context.close()


async def shared_grant_sources(session: AsyncSession, demo: Demo) -> list[int]:
    query = select(DataSource.id).where(DataSource.grant_id == demo.shared_grant_id)
    return list(await session.scalars(query.order_by(DataSource.id)))


async def open_incident(
    session: AsyncSession,
    demo: Demo,
    clock: Clock,
    *,
    key: str = "grant:shared:auth",
    data_source_ids: list[int] | None = None,
) -> int:
    """An auth incident on the shared grant (Acme Dental and seven more clients)."""
    ids = data_source_ids or await shared_grant_sources(session, demo)
    opened = await incidents.open_or_extend(
        session,
        agency_id=demo.agency.id,
        key=key,
        error_class=ErrorClass.AUTH_REVOKED,
        provider="sandbox",
        now=clock(),
        grant_id=demo.shared_grant_id,
        data_source_ids=ids,
        hint="Sign in again with the manager account.",
    )
    await session.commit()
    return opened.incident.id


async def set_preference(session: AsyncSession, user: User, preference: EmailPreference) -> None:
    await session.execute(
        update(User).where(User.id == user.id).values(email_preference=preference)
    )
    await session.commit()


async def notification_ids(session: AsyncSession, user: User) -> set[int]:
    query = select(Notification.id).where(Notification.user_id == user.id)
    return set(await session.scalars(query))


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def linked_ids(message: EmailMessage) -> set[int]:
    return {int(i) for i in LINK.findall(text_of(message) + html_of(message))}


async def outbox(session: AsyncSession) -> list[OutboxEmail]:
    query = select(OutboxEmail).order_by(OutboxEmail.id)
    return list(await session.scalars(query.execution_options(populate_existing=True)))


async def test_one_incident_mails_each_recipient_once_with_a_link_to_their_notification(
    session: AsyncSession, demo: Demo, clock: Clock, ctx: JobContext, smtp: SmtpServer
) -> None:
    await open_incident(session, demo, clock)

    clock.advance(**AFTER_BURST)
    report = await compose_due(ctx)

    assert report.sent == 3
    recipients = sorted(str(m["To"]) for m in smtp.messages)
    assert recipients == sorted([demo.admin.email, demo.staff.email, demo.limited.email])
    for user in (demo.admin, demo.staff, demo.limited):
        [message] = smtp.to(user.email)
        assert linked_ids(message) == await notification_ids(session, user)
        assert " disconnected — " in str(message["Subject"])


async def test_a_limited_staff_email_names_only_the_clients_they_may_see(
    session: AsyncSession, demo: Demo, clock: Clock, ctx: JobContext, smtp: SmtpServer
) -> None:
    await open_incident(session, demo, clock)

    clock.advance(**AFTER_BURST)
    await compose_due(ctx)

    [message] = smtp.to(demo.limited.email)
    assert "Acme Dental" in text_of(message)
    assert "Bluebird Bakery" not in text_of(message) + html_of(message)


async def test_nothing_is_mailed_before_the_burst_window_ends(
    session: AsyncSession, demo: Demo, clock: Clock, ctx: JobContext, smtp: SmtpServer
) -> None:
    await open_incident(session, demo, clock)

    clock.advance(minutes=1)
    await compose_due(ctx)

    assert smtp.messages == []


async def test_an_extended_incident_or_a_second_compose_sends_no_second_email(
    session: AsyncSession, demo: Demo, clock: Clock, ctx: JobContext, smtp: SmtpServer
) -> None:
    first, *rest = await shared_grant_sources(session, demo)
    await open_incident(session, demo, clock, data_source_ids=[first])
    clock.advance(**AFTER_BURST)
    await compose_due(ctx)
    assert len(smtp.messages) == 3

    await open_incident(session, demo, clock, data_source_ids=rest)
    clock.advance(**AFTER_BURST)
    await compose_due(ctx)
    await compose_due(ctx)

    assert len(smtp.messages) == 3


async def test_thirty_incidents_in_one_burst_become_one_digest_per_user(
    session: AsyncSession, demo: Demo, clock: Clock, ctx: JobContext, smtp: SmtpServer
) -> None:
    sources = await shared_grant_sources(session, demo)
    for n in range(30):
        await open_incident(session, demo, clock, key=f"burst:{n}", data_source_ids=sources)
        clock.advance(seconds=3)
        if n % 10 == 9:
            await compose_due(ctx)  # the sweep keeps running while the burst arrives

    clock.advance(**AFTER_BURST)
    await compose_due(ctx)

    assert len(smtp.messages) == 3
    [message] = smtp.to(demo.admin.email)
    assert message["Subject"] == "30 data source alerts"
    assert linked_ids(message) == await notification_ids(session, demo.admin)
    assert {row.kind for row in await outbox(session)} == {DIGEST}


async def test_daily_digest_users_get_theirs_at_eight(
    session: AsyncSession, demo: Demo, clock: Clock, ctx: JobContext, smtp: SmtpServer
) -> None:
    await set_preference(session, demo.staff, EmailPreference.DAILY_DIGEST)
    await open_incident(session, demo, clock, key="first")
    await open_incident(session, demo, clock, key="second")

    clock.advance(**AFTER_BURST)
    await compose_due(ctx)
    clock.current = START.replace(hour=7, minute=59) + timedelta(days=1)
    await compose_due(ctx)
    assert smtp.to(demo.staff.email) == []
    assert len(smtp.to(demo.admin.email)) == 1

    clock.current = START.replace(hour=8, minute=0) + timedelta(days=1)
    await compose_due(ctx)

    [digest] = smtp.to(demo.staff.email)
    assert digest["Subject"] == "2 data source alerts"


async def test_users_who_turned_email_off_get_none(
    session: AsyncSession, demo: Demo, clock: Clock, ctx: JobContext, smtp: SmtpServer
) -> None:
    await set_preference(session, demo.limited, EmailPreference.OFF)
    await open_incident(session, demo, clock)

    clock.advance(days=2)
    await compose_due(ctx)

    assert smtp.to(demo.limited.email) == []
    assert await notification_ids(session, demo.limited)  # the bell still has it


async def test_the_client_user_never_gets_mail(
    session: AsyncSession, demo: Demo, clock: Clock, ctx: JobContext, smtp: SmtpServer
) -> None:
    acme_sources = await session.scalars(
        select(DataSource.id).where(DataSource.client_id == demo.client_user.client_id)
    )
    await open_incident(session, demo, clock, data_source_ids=list(acme_sources))

    clock.advance(days=2)
    await compose_due(ctx)

    assert smtp.messages
    assert smtp.to(demo.client_user.email) == []
    assert all(row.user_id != demo.client_user.id for row in await outbox(session))


async def test_every_email_has_a_text_and_an_html_part(
    session: AsyncSession, demo: Demo, clock: Clock, ctx: JobContext, smtp: SmtpServer
) -> None:
    await open_incident(session, demo, clock)

    clock.advance(**AFTER_BURST)
    await compose_due(ctx)

    message = smtp.to(demo.admin.email)[0]
    assert message.get_content_type() == "multipart/alternative"
    assert "Reconnect:" in text_of(message)
    assert f"{BASE_URL}/settings/notifications" in text_of(message)
    assert "max-width:600px" in html_of(message)
    assert f"{BASE_URL}/settings/notifications" in html_of(message)
    assert ">Reconnect</a>" in html_of(message)


def test_the_html_escapes_names_people_typed() -> None:
    item = EmailItem(
        notification_id=7,
        title="Sandbox Ads disconnected",
        date="03 Mar 2025, 10:00 UTC",
        provider_name="Sandbox Ads",
        clients_text="Tom & <b>Jerry</b>",
        reason="Revoked",
        hint="",
        action_label="Reconnect",
        action_url=f"{BASE_URL}/notifications/7",
    )

    rendered = render_email(SINGLE, items=[item], base_url=BASE_URL, name="Ada")

    assert "Tom &amp; &lt;b&gt;Jerry&lt;/b&gt;" in rendered.html_body
    assert "Tom & <b>Jerry</b>" in rendered.text_body
    assert rendered.subject == "Sandbox Ads disconnected — Tom & <b>Jerry</b>"


async def test_a_notification_resolved_before_sending_is_dropped_from_the_mail(
    session: AsyncSession, demo: Demo, clock: Clock, ctx: JobContext, smtp: SmtpServer
) -> None:
    await open_incident(session, demo, clock, key="fixed-fast")
    await incidents.resolve(
        session, agency_id=demo.agency.id, keys=["fixed-fast"], now=clock(), by="test"
    )
    await session.commit()

    clock.advance(**AFTER_BURST)
    await compose_due(ctx)

    assert smtp.messages == []
    unmailed = select(func.count()).where(Notification.emailed_at.is_(None))
    assert await session.scalar(unmailed) == 0


async def test_without_smtp_the_emails_stay_in_the_outbox_unsent(
    session: AsyncSession,
    demo: Demo,
    clock: Clock,
    database: Database,
    box: SecretBox,
    smtp: SmtpServer,
) -> None:
    context = job_context(database, box, clock, smtp_url=None)
    await open_incident(session, demo, clock)

    clock.advance(**AFTER_BURST)
    report = await compose_due(context)
    await context.close()

    rows = await outbox(session)
    assert report.kept == 3
    assert len(rows) == 3
    assert all(row.sent_at is None and row.attempts == 0 for row in rows)
    assert smtp.messages == []


async def test_a_down_smtp_server_is_retried_later_and_nothing_is_lost(
    session: AsyncSession, demo: Demo, clock: Clock, database: Database, box: SecretBox
) -> None:
    port = free_port()
    context = job_context(database, box, clock, smtp_url=f"smtp://127.0.0.1:{port}")
    await open_incident(session, demo, clock)
    clock.advance(**AFTER_BURST)
    await compose_due(context)
    rows = await outbox(session)
    assert [(r.attempts, r.sent_at, r.last_error) for r in rows] == [
        (1, None, "ConnectionRefusedError")
    ] * 3

    with smtp_server(port=port) as server:
        await deliver_outbox(context)
        assert server.messages == []  # not due again yet: it backs off
        clock.advance(minutes=2)
        await deliver_outbox(context)
    await context.close()

    assert len(server.messages) == 3
    assert all(r.sent_at is not None and r.attempts == 2 for r in await outbox(session))


# Loopback in a test: the fixture allows AUTH without TLS on purpose.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_smtp_credentials_come_from_the_url_and_never_reach_logs_or_rows(
    session: AsyncSession, demo: Demo, clock: Clock, database: Database, box: SecretBox
) -> None:
    with smtp_server(credentials=("relink", "right-pass")) as server:
        wrong = server.url.replace("right-pass", "wrong-pass-123")
        context = job_context(database, box, clock, smtp_url=wrong)
        await open_incident(session, demo, clock)
        clock.advance(**AFTER_BURST)
        with capture_logs() as logs:
            await compose_due(context)
        await context.close()
        assert server.messages == []
        assert "wrong-pass-123" not in repr(logs)
        assert all("wrong-pass-123" not in (r.last_error or "") for r in await outbox(session))

        context = job_context(database, box, clock, smtp_url=server.url)
        clock.advance(minutes=2)
        await deliver_outbox(context)
        await context.close()

    assert len(server.messages) == 3
    assert server.logins == ["relink"] * 3


async def test_a_second_composer_skips_what_the_first_claimed(
    session: AsyncSession, demo: Demo, clock: Clock, database: Database
) -> None:
    if database.is_sqlite:
        pytest.skip("SQLite has one writer; the embedded default runs one composer")
    other = Database(database.url)
    await open_incident(session, demo, clock)
    clock.advance(**AFTER_BURST)

    async def compose_elsewhere() -> int:
        async with other.transaction() as second:
            return (await composition.compose_batch(second, now=clock(), base_url=BASE_URL)).emails

    async with database.transaction() as first:
        first_emails = (
            await composition.compose_batch(first, now=clock(), base_url=BASE_URL)
        ).emails
        racing = asyncio.create_task(compose_elsewhere())
        await asyncio.sleep(0.5)  # it reads the rows, then waits on the first one's row locks
    second_emails = await racing
    await other.dispose()

    assert (first_emails, second_emails) == (3, 0)
    assert len(await outbox(session)) == 3


def test_the_smtp_url_says_how_to_connect() -> None:
    plain = parse_smtp_url("smtp://mail.example:2525")
    tls = parse_smtp_url("smtps://user%40x:p%3Ass@mail.example")
    starttls = parse_smtp_url("smtp://mail.example?starttls=1")

    assert (plain.port, plain.implicit_tls, plain.starttls, plain.username) == (
        2525,
        False,
        False,
        None,
    )
    assert (tls.port, tls.implicit_tls, tls.username, tls.password) == (465, True, "user@x", "p:ss")
    assert (starttls.port, starttls.starttls) == (587, True)
    assert "p:ss" not in repr(tls)
