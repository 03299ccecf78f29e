"""A data source that lost a permission says which one, from a real provider's answer."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from relink.models import DataSource, Incident
from relink.providers.taxonomy import ErrorClass
from relink.sandbox import seed
from relink.status import DataSourceStatus
from relink.worker.context import JobContext
from relink.worker.sweep import sweep
from tests.fixtures.demo import Demo
from tests.fixtures.sandbox import SandboxServer


async def test_a_removed_permission_is_explained_naming_the_permission(
    session: AsyncSession, demo: Demo, ctx: JobContext, sandbox: SandboxServer
) -> None:
    # given: the sandbox stops letting the login read one account; its answer names no scope
    target = seed.MANAGER_SUB_ACCOUNTS[2].id
    sandbox.add_fault("remove_permission", account=target)

    # when
    await sweep(ctx)

    # then: the catalog's data scopes are named wherever the hint is shown
    source = await session.scalar(
        select(DataSource).where(DataSource.external_account_id == target)
    )
    assert source is not None
    assert source.status is DataSourceStatus.DISCONNECTED
    assert source.status_reason is ErrorClass.PERMISSION_DENIED
    assert source.status_detail is not None
    assert "needs the permissions ads.read, ads.manage" in source.status_detail
    incident = await session.scalar(
        select(Incident).where(Incident.error_class == ErrorClass.PERMISSION_DENIED)
    )
    assert incident is not None and incident.hint is not None
    assert "ads.read" in incident.hint
