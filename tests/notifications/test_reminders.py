from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.incidents import service as incidents
from relink.models import EmailPreference, Notification, OutboxEmail
from relink.notifications.email import ESCALATION, REMINDER
from relink.notifications.email_tasks import compose_due, remind_and_escalate
from relink.notifications.reminders import send_reminders
from relink.worker.context import JobContext
from tests.fixtures.clock import Clock
from tests.fixtures.demo import Demo
from tests.fixtures.smtp import SmtpServer
from tests.notifications.test_email import (
    AFTER_BURST,
    BASE_URL,
    clock,
    ctx,
    linked_ids,
    notification_ids,
    open_incident,
    set_preference,
    smtp,
)

__all__ = ["clock", "ctx", "smtp"]  # fixtures shared with test_email


async def mailed_kinds(session: AsyncSession) -> list[tuple[str, int | None]]:
    rows = await session.execute(
        select(OutboxEmail.kind, OutboxEmail.user_id).order_by(OutboxEmail.id)
    )
    return [(kind, user_id) for kind, user_id in rows]


async def first_mails_sent(
    session: AsyncSession, demo: Demo, clock: Clock, ctx: JobContext, *, keys: tuple[str, ...]
) -> None:
    for key in keys:
        await open_incident(session, demo, clock, key=key)
    clock.advance(**AFTER_BURST)
    await compose_due(ctx)


async def test_an_incident_open_for_a_day_gets_one_reminder_per_recipient(
    session: AsyncSession, demo: Demo, clock: Clock, ctx: JobContext, smtp: SmtpServer
) -> None:
    await first_mails_sent(session, demo, clock, ctx, keys=("stale",))

    clock.advance(hours=24)
    await remind_and_escalate(ctx)
    clock.advance(hours=1)
    await remind_and_escalate(ctx)

    reminded = [m for m in smtp.messages if str(m["Subject"]).startswith("Still open: ")]
    assert sorted(str(m["To"]) for m in reminded) == sorted(
        [demo.admin.email, demo.staff.email, demo.limited.email]
    )
    [admin_reminder] = smtp.to(demo.admin.email)[1:]
    assert linked_ids(admin_reminder) == await notification_ids(session, demo.admin)


async def test_no_reminder_before_a_day(
    session: AsyncSession, demo: Demo, clock: Clock, ctx: JobContext, smtp: SmtpServer
) -> None:
    await first_mails_sent(session, demo, clock, ctx, keys=("young",))

    clock.advance(hours=23)
    await remind_and_escalate(ctx)

    assert len(smtp.messages) == 3


async def test_a_reminder_marks_the_bell_item_unread_again(
    session: AsyncSession, demo: Demo, clock: Clock, ctx: JobContext
) -> None:
    await first_mails_sent(session, demo, clock, ctx, keys=("seen",))
    await session.execute(update(Notification).values(read_at=clock()))
    await session.commit()

    clock.advance(hours=25)
    await remind_and_escalate(ctx)

    rows = await session.execute(
        select(Notification.read_at, Notification.reminded_at).execution_options(
            populate_existing=True
        )
    )
    assert [(read_at, reminded_at) for read_at, reminded_at in rows] == [(None, clock())] * 3


async def test_several_reminders_of_one_user_come_in_one_email(
    session: AsyncSession, demo: Demo, clock: Clock, ctx: JobContext, smtp: SmtpServer
) -> None:
    await first_mails_sent(session, demo, clock, ctx, keys=("one", "two"))

    clock.advance(hours=24)
    await remind_and_escalate(ctx)

    [_first_mail, reminder] = smtp.to(demo.admin.email)
    assert reminder["Subject"] == "2 data source alerts still open"
    assert linked_ids(reminder) == await notification_ids(session, demo.admin)


async def test_a_resolved_incident_gets_no_reminder(
    session: AsyncSession, demo: Demo, clock: Clock, ctx: JobContext, smtp: SmtpServer
) -> None:
    await first_mails_sent(session, demo, clock, ctx, keys=("repaired",))
    clock.advance(hours=2)
    await incidents.resolve(
        session, agency_id=demo.agency.id, keys=["repaired"], now=clock(), by="test"
    )
    await session.commit()

    clock.advance(days=4)
    await remind_and_escalate(ctx)

    assert len(smtp.messages) == 3


async def test_a_user_with_email_off_is_reminded_in_the_bell_only(
    session: AsyncSession, demo: Demo, clock: Clock, ctx: JobContext, smtp: SmtpServer
) -> None:
    await set_preference(session, demo.limited, EmailPreference.OFF)
    await first_mails_sent(session, demo, clock, ctx, keys=("quiet",))

    clock.advance(hours=24)
    await remind_and_escalate(ctx)

    assert smtp.to(demo.limited.email) == []
    reminded_at = await session.scalar(
        select(Notification.reminded_at).where(Notification.user_id == demo.limited.id)
    )
    assert reminded_at == clock()


async def test_escalation_goes_to_admins_only_after_three_days_once(
    session: AsyncSession, demo: Demo, clock: Clock, ctx: JobContext, smtp: SmtpServer
) -> None:
    await first_mails_sent(session, demo, clock, ctx, keys=("ignored",))
    clock.advance(hours=24)
    await remind_and_escalate(ctx)

    clock.advance(days=2)
    await remind_and_escalate(ctx)
    clock.advance(days=1)
    await remind_and_escalate(ctx)

    escalations = [m for m in smtp.messages if str(m["Subject"]).startswith("Escalation: ")]
    assert [str(m["To"]) for m in escalations] == [demo.admin.email]
    assert (ESCALATION, demo.admin.id) in await mailed_kinds(session)


async def test_an_admin_due_both_a_reminder_and_an_escalation_gets_only_the_escalation(
    session: AsyncSession, demo: Demo, clock: Clock, ctx: JobContext
) -> None:
    await first_mails_sent(session, demo, clock, ctx, keys=("long-forgotten",))

    clock.advance(days=3)
    await remind_and_escalate(ctx)

    admin_mail = [kind for kind, user in await mailed_kinds(session) if user == demo.admin.id]
    staff_mail = [kind for kind, user in await mailed_kinds(session) if user == demo.staff.id]
    assert admin_mail[1:] == [ESCALATION]
    assert staff_mail[1:] == [REMINDER]


async def test_remind_after_can_be_overridden(
    session: AsyncSession, demo: Demo, clock: Clock
) -> None:
    await open_incident(session, demo, clock, key="impatient")

    clock.advance(hours=5)
    report = await send_reminders(
        session, now=clock(), base_url=BASE_URL, remind_after=timedelta(hours=4)
    )

    assert (report.reminded, report.emails) == (3, 3)
