"""Re-verifying an API key: trimmed, shape-checked, tested live, and only then saved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from structlog.testing import capture_logs

from relink.data_sources.credentials import KeyRefused, reverify_api_key
from relink.data_sources.imports import import_data_source
from relink.errors import Forbidden, NotFound
from relink.grants.service import open_credentials
from relink.kit.crypto import SecretBox
from relink.models import Grant
from relink.notifications.service import unread_count
from relink.providers.taxonomy import ErrorClass
from relink.sandbox.seed import API_KEY_ACCOUNTS
from relink.status import DataSourceStatus
from relink.worker.context import JobContext
from relink.worker.sweep import sweep
from tests.fixtures.clock import Clock
from tests.fixtures.data_sources import key_source, recording_jobs, reload
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer

DEMO_KEY = API_KEY_ACCOUNTS[0].demo_api_key
WELL_FORMED_WRONG_KEY = "sbx_live_" + "Zz9" * 10 + "Zz"


async def _stored_key(session: AsyncSession, box: SecretBox, grant_id: int) -> str:
    grant = await session.get(Grant, grant_id, populate_existing=True)
    assert grant is not None
    return str((await open_credentials(session, box=box, grant=grant))["api_key"])


async def _reverify(
    session: AsyncSession, ctx: JobContext, demo: Demo, clock: Clock, raw_key: str
) -> int:
    source = await key_source(session)
    await reverify_api_key(
        session, ctx=ctx, user=demo.admin, data_source_id=source.id, raw_key=raw_key, now=clock()
    )
    await session.commit()
    return source.id


async def test_a_key_with_spaces_around_it_is_accepted_after_trimming(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock, box: SecretBox
) -> None:
    source = await key_source(session)

    await _reverify(session, ctx, demo, clock, f"  {DEMO_KEY}  \n")

    assert await _stored_key(session, box, source.grant_id) == DEMO_KEY


async def test_a_space_inside_the_key_is_refused_with_the_reason(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock, sandbox: SandboxServer
) -> None:
    split = DEMO_KEY[:20] + " " + DEMO_KEY[20:]

    with pytest.raises(KeyRefused) as refused:
        await _reverify(session, ctx, demo, clock, split)

    assert refused.value.reason == "whitespace"
    assert "remove the space inside the key" in refused.value.message
    assert sandbox.state.stats.api_requests["verify"] == 0


async def test_a_key_in_the_wrong_case_is_refused_as_case_sensitive(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    with pytest.raises(KeyRefused) as refused:
        await _reverify(session, ctx, demo, clock, DEMO_KEY.upper())

    assert refused.value.reason == "wrong_case"
    assert "case-sensitive" in refused.value.message


async def test_a_key_with_the_wrong_prefix_is_refused_naming_the_format(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    with pytest.raises(KeyRefused) as refused:
        await _reverify(session, ctx, demo, clock, DEMO_KEY.replace("sbx_live_", "sbx_test_"))

    assert refused.value.reason == "format"
    assert "starts with sbx_live_ then 32 letters or digits" in refused.value.message


async def test_a_rejected_key_is_refused_with_the_providers_reason_and_the_old_key_stays(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock, box: SecretBox
) -> None:
    source = await key_source(session)
    source_id, grant_id = source.id, source.grant_id

    with pytest.raises(KeyRefused) as refused:
        await _reverify(session, ctx, demo, clock, WELL_FORMED_WRONG_KEY)

    assert refused.value.reason == ErrorClass.INVALID_CREDENTIALS.value
    assert "rejected this API key" in refused.value.message
    await session.rollback()
    assert await _stored_key(session, box, grant_id) == DEMO_KEY
    clock.advance(days=2)
    assert (await import_data_source(ctx, data_source_id=source_id)).ok


async def test_a_key_of_another_account_is_refused(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    with pytest.raises(KeyRefused) as refused:
        await _reverify(session, ctx, demo, clock, API_KEY_ACCOUNTS[1].demo_api_key)

    assert refused.value.reason == "wrong_account"


async def test_the_key_never_appears_in_logs(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    with capture_logs() as logs:
        await _reverify(session, ctx, demo, clock, DEMO_KEY)
        with pytest.raises(KeyRefused):
            await _reverify(session, ctx, demo, clock, WELL_FORMED_WRONG_KEY)

    assert logs and DEMO_KEY not in repr(logs) and WELL_FORMED_WRONG_KEY not in repr(logs)


async def test_a_client_user_may_not_change_a_key(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    source = await key_source(session)

    with pytest.raises(Forbidden):
        await reverify_api_key(
            session,
            ctx=ctx,
            user=demo.client_user,
            data_source_id=source.id,
            raw_key=DEMO_KEY,
            now=clock(),
        )


async def test_limited_staff_cannot_see_another_clients_key_source(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    # Juniper Florist (visible to the limited user) holds API-key account 2 of 4; account 1
    # belongs to Indigo Spa, outside their access.
    source = await key_source(session, 0)

    with pytest.raises(NotFound):
        await reverify_api_key(
            session,
            ctx=ctx,
            user=demo.limited,
            data_source_id=source.id,
            raw_key=DEMO_KEY,
            now=clock(),
        )


async def test_after_a_rotation_the_new_key_reconnects_resolves_and_backfills(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock, sandbox: SandboxServer
) -> None:
    # given: three days pass, the key is rotated at the provider, and a sweep finds out
    source = await key_source(session)
    last_complete = source.complete_through
    assert last_complete is not None
    new_key = sandbox.add_fault("rotate_api_key", account=source.external_account_id)["api_key"]
    clock.advance(days=3)
    await sweep(ctx)
    down = await reload(session, source.id)
    assert down is not None and down.status is DataSourceStatus.DISCONNECTED
    assert down.status_reason is ErrorClass.INVALID_CREDENTIALS
    assert await unread_count(session, user=demo.admin) == 1

    # when: a person enters the new key
    with recording_jobs() as jobs:
        await _reverify(session, ctx, demo, clock, new_key)
        back = await reload(session, source.id)
        assert back is not None and back.status is DataSourceStatus.CONNECTED
        assert back.backfill_from == last_complete + timedelta(days=1)
        queued = list(jobs.jobs)
        results = await jobs.run_all(ctx)

    # then: reconnected, the incident resolved for everyone, and the gap imported
    assert [(j.name, j.kwargs["trigger"]) for j in queued] == [("data_sources.import", "backfill")]
    assert results[0].ok
    filled = await reload(session, source.id)
    assert filled is not None and filled.complete_through is not None
    assert filled.complete_through >= clock().date() - timedelta(days=1)
    assert await unread_count(session, user=demo.admin) == 0
    assert await unread_count(session, user=demo.staff) == 0


@pytest.mark.parametrize(
    "raw_key",
    [
        DEMO_KEY.replace("sbx_live_", "sbx_test_"),
        DEMO_KEY.upper(),
        DEMO_KEY[:20] + " " + DEMO_KEY[20:],
    ],
    ids=["format", "wrong_case", "whitespace"],
)
async def test_a_key_that_only_failed_the_format_check_is_headed_as_a_format_problem(
    session: AsyncSession,
    demo: Demo,
    ctx: JobContext,
    clock: Clock,
    raw_key: str,
) -> None:
    with pytest.raises(KeyRefused) as refused:
        await _reverify(session, ctx, demo, clock, raw_key)

    assert not refused.value.checked_live
    assert refused.value.title == "This doesn't look like a Sandbox Call Tracking key"
    assert refused.value.message.startswith("This doesn't look like a Sandbox Call Tracking key")
    assert "refused" not in refused.value.message


async def test_a_key_the_provider_rejects_is_headed_as_the_providers_refusal(
    session: AsyncSession, demo: Demo, ctx: JobContext, clock: Clock
) -> None:
    with pytest.raises(KeyRefused) as refused:
        await _reverify(session, ctx, demo, clock, WELL_FORMED_WRONG_KEY)

    assert refused.value.checked_live
    assert refused.value.title == "Sandbox Call Tracking refused this key"
    assert "doesn't look like" not in refused.value.message
