"""Provider signals over real HTTP: the sandbox revokes and pushes, Relink verifies, checks and
decides; a signal that does not verify, or a grant that still works, changes nothing."""

from __future__ import annotations

import time

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.demo import DEMO_PASSWORD
from relink.models import Incident, Notification, SignalReceipt, User
from relink.status import DataSourceStatus, GrantStatus
from tests.fixtures.app_server import signed_in
from tests.fixtures.demo import Demo, data_sources_of
from tests.fixtures.sandbox import SandboxServer
from tests.fixtures.server import Running
from tests.health.conftest import reload_grant, statuses
from tests.signals.conftest import (
    MANAGER_SUBJECT,
    events_for,
    eventually,
    revoke_silently,
    sandbox_set,
)

MANAGER = "manager@sandbox.test"
SET_TYPE = {"Content-Type": "application/secevent+jwt"}


def post_set(app_url: str, token: str) -> httpx.Response:
    with httpx.Client(base_url=app_url, timeout=10) as http:
        return http.post("/signals/risc", content=token, headers=SET_TYPE)


async def nothing_changed(session: AsyncSession, demo: Demo) -> None:
    grant = await reload_grant(session, demo.shared_grant_id)
    assert grant.status is GrantStatus.ACTIVE
    now = await statuses(session)
    assert all(s is not DataSourceStatus.DISCONNECTED for s in now.values())
    assert await session.scalar(select(func.count()).select_from(Incident)) == 0


async def test_a_revocation_at_the_sandbox_disconnects_the_grant_and_lights_every_bell(
    session: AsyncSession, demo: Demo, sandbox: SandboxServer, signal_server: Running
) -> None:
    shared = {s.id for s in await data_sources_of(session, demo.shared_grant_id)}

    sandbox.add_fault("revoke_grant", grant=MANAGER)  # no sweep, no other command

    async def all_down() -> bool:
        now = await statuses(session)
        return all(now[ds] is DataSourceStatus.DISCONNECTED for ds in shared)

    await eventually(all_down)
    session.expire_all()
    incident = await session.scalar(select(Incident))
    assert incident is not None and incident.detected_via == "signal"
    assert incident.evidence_at is not None and incident.evidence_at <= incident.opened_at

    async def notified() -> bool:
        count = await session.scalar(
            select(func.count()).where(Notification.incident_id == incident.id)
        )
        return bool(count)

    await eventually(notified)
    recipients = list(
        await session.scalars(
            select(User.email).join(Notification, Notification.user_id == User.id)
        )
    )
    assert "admin@demo.relink.test" in recipients
    for email in recipients:
        client = signed_in(signal_server.url, email, DEMO_PASSWORD)
        assert client.get("/api/notifications/unread-count").json()["unread"] >= 1


async def test_the_meta_style_identity_pushes_a_deauthorize_callback_that_disconnects(
    session: AsyncSession, demo: Demo, sandbox: SandboxServer, signal_server: Running
) -> None:
    second = {s.id for s in await data_sources_of(session, demo.second_grant_id)}

    sandbox.add_fault("revoke_grant", grant="harbor@sandbox.test")

    async def all_down() -> bool:
        now = await statuses(session)
        return all(now[ds] is DataSourceStatus.DISCONNECTED for ds in second)

    await eventually(all_down)
    grant = await reload_grant(session, demo.shared_grant_id)
    assert grant.status is GrantStatus.ACTIVE


async def test_a_signal_for_a_grant_whose_check_answers_200_disconnects_nothing(
    session: AsyncSession, demo: Demo, sandbox: SandboxServer, signal_server: Running
) -> None:
    answer = post_set(signal_server.url, sandbox_set(sandbox))
    assert answer.status_code == 202

    async def checked() -> bool:
        return sandbox.state.stats.token_requests["refresh_token"] > 0

    await eventually(checked)
    signal_server.stop()  # lets every queued job finish
    await nothing_changed(session, demo)


async def test_a_forged_set_changes_nothing(
    session: AsyncSession, demo: Demo, sandbox: SandboxServer, signal_server: Running
) -> None:
    revoke_silently(sandbox, MANAGER_SUBJECT)
    genuine = jwt.decode(sandbox_set(sandbox), sandbox.state.transmitter.key).claims
    forger = ECKey.generate_key("P-256", parameters={"kid": sandbox.state.transmitter.key.kid})
    header = {"alg": "ES256", "kid": forger.kid, "typ": "secevent+jwt"}

    answer = post_set(signal_server.url, jwt.encode(header, genuine, forger))

    assert answer.status_code == 400
    assert answer.json()["err"] == "invalid_key"
    signal_server.stop()
    await nothing_changed(session, demo)


async def test_a_replayed_set_changes_nothing(
    session: AsyncSession, demo: Demo, sandbox: SandboxServer, signal_server: Running
) -> None:
    token = sandbox_set(sandbox)
    assert post_set(signal_server.url, token).status_code == 202

    async def checked() -> bool:
        return sandbox.state.stats.token_requests["refresh_token"] > 0

    await eventually(checked)
    revoke_silently(sandbox, MANAGER_SUBJECT)

    answer = post_set(signal_server.url, token)

    assert answer.status_code == 400
    assert answer.json() == {"err": "invalid_request", "description": answer.json()["description"]}
    signal_server.stop()
    await nothing_changed(session, demo)
    assert await session.scalar(select(func.count()).select_from(SignalReceipt)) == 1


async def test_an_expired_set_changes_nothing(
    session: AsyncSession, demo: Demo, sandbox: SandboxServer, signal_server: Running
) -> None:
    revoke_silently(sandbox, MANAGER_SUBJECT)

    answer = post_set(signal_server.url, sandbox_set(sandbox, iat=int(time.time()) - 3600))

    assert answer.status_code == 400
    assert answer.json()["err"] == "invalid_request"
    signal_server.stop()
    await nothing_changed(session, demo)


async def test_a_set_for_another_audience_changes_nothing(
    session: AsyncSession, demo: Demo, sandbox: SandboxServer, signal_server: Running
) -> None:
    revoke_silently(sandbox, MANAGER_SUBJECT)

    answer = post_set(signal_server.url, sandbox_set(sandbox, aud="someone-elses-client"))

    assert answer.status_code == 400
    assert answer.json()["err"] == "invalid_audience"
    signal_server.stop()
    await nothing_changed(session, demo)


async def test_a_set_from_an_unknown_issuer_changes_nothing(
    session: AsyncSession, demo: Demo, sandbox: SandboxServer, signal_server: Running
) -> None:
    revoke_silently(sandbox, MANAGER_SUBJECT)
    stranger = "https://issuer.example"
    token = sandbox_set(sandbox, iss=stranger, events=events_for(stranger, MANAGER_SUBJECT))

    answer = post_set(signal_server.url, token)

    assert answer.status_code == 400
    assert answer.json()["err"] == "invalid_issuer"
    signal_server.stop()
    await nothing_changed(session, demo)


async def test_a_set_is_only_taken_as_application_secevent_jwt(
    sandbox: SandboxServer, signal_server: Running
) -> None:
    with httpx.Client(base_url=signal_server.url, timeout=10) as http:
        answer = http.post("/signals/risc", json={"token": sandbox_set(sandbox)})
    assert answer.status_code == 400
    assert answer.json()["err"] == "invalid_request"
