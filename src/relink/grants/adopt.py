"""After a different login came back: move the chosen data sources to that login's grant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.auth.access import data_source_visible, scope_of
from relink.errors import InvalidInput, NotFound
from relink.grants.callback import grant_for_identity
from relink.grants.errors import StateUsed
from relink.grants.reconnect import Repaired, repair_grant
from relink.incidents import service as incidents
from relink.models import DataSource, OAuthState, User
from relink.providers.results import ExternalIdentity, TokenSet
from relink.providers.taxonomy import ErrorClass
from relink.status import DataSourceStatus
from relink.worker.context import JobContext


def pending_of(ctx: JobContext, row: OAuthState) -> tuple[TokenSet, ExternalIdentity, set[str]]:
    """The sealed tokens, identity and reachable accounts a mismatched login left behind."""
    if row.pending is None:
        raise StateUsed()
    data = ctx.box.open(row.pending)
    tokens = data["tokens"]
    expires = tokens.get("expires_at")
    token_set = TokenSet(
        access_token=tokens["access_token"],
        refresh_token=tokens.get("refresh_token"),
        expires_at=datetime.fromisoformat(expires) if expires else None,
        scopes=tuple(tokens.get("scopes") or ()),
    )
    identity = ExternalIdentity(**data["identity"])
    return token_set, identity, {a["id"] for a in data["accounts"]}


def pending_time_zones(ctx: JobContext, row: OAuthState) -> dict[str, str]:
    """The time zone of each account the new login reaches, where its provider named one."""
    if row.pending is None:
        raise StateUsed()
    accounts = ctx.box.open(row.pending)["accounts"]
    return {a["id"]: a["time_zone"] for a in accounts if a.get("time_zone")}


async def pending_state(session: AsyncSession, *, user: User, state_id: int) -> OAuthState:
    row = await session.get(OAuthState, state_id)
    if row is None or row.user_id != user.id or row.agency_id != user.agency_id:
        raise NotFound("sign-in")
    if row.pending is None:
        raise StateUsed()
    return row


async def adopt(
    session: AsyncSession,
    *,
    ctx: JobContext,
    user: User,
    state_id: int,
    data_source_ids: set[int],
    now: datetime,
) -> Repaired:
    """Bind the new login to exactly the data sources the person chose, and nothing else."""
    row = await pending_state(session, user=user, state_id=state_id)
    tokens, identity, reachable = pending_of(ctx, row)
    if not data_source_ids:
        raise InvalidInput("choose at least one data source to move to the new login")
    chosen = list(
        await session.scalars(
            select(DataSource).where(
                DataSource.id.in_(data_source_ids),
                DataSource.grant_id == row.grant_id,
                data_source_visible(scope_of(user)),
            )
        )
    )
    if len(chosen) != len(data_source_ids):
        raise NotFound("data source")
    unreachable = [
        s.external_account_name for s in chosen if s.external_account_id not in reachable
    ]
    if unreachable:
        raise InvalidInput(f"the new login cannot reach: {', '.join(unreachable)}")
    target = await grant_for_identity(
        session,
        ctx=ctx,
        agency_id=row.agency_id,
        provider=row.provider,
        identity=identity,
        tokens=tokens,
    )
    ids = [s.id for s in chosen]
    await session.execute(
        update(DataSource)
        .where(DataSource.id.in_(ids))
        .values(grant_id=target.id, auth_kind=target.auth_kind, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    # The accounts' time zones as the new login's listing gave them: their days end there.
    zones = pending_time_zones(ctx, row)
    for source in chosen:
        source.account_timezone = zones.get(source.external_account_id, source.account_timezone)
    row.pending = None
    repaired = await repair_grant(
        session,
        ctx=ctx,
        grant=target,
        tokens=tokens,
        identity=identity,
        reachable_account_ids=reachable,
        now=now,
        actor=f"user:{user.id}",
        only_data_source_ids=set(ids),
    )
    still_down = await session.scalar(
        select(
            exists().where(
                DataSource.grant_id == row.grant_id,
                DataSource.status == DataSourceStatus.DISCONNECTED,
            )
        )
    )
    if not still_down and row.grant_id is not None:
        await incidents.resolve(
            session,
            agency_id=row.agency_id,
            now=now,
            by=f"user:{user.id}",
            keys=[incidents.grant_key(row.grant_id, ErrorClass.AUTH_REVOKED)],
        )
    return repaired
