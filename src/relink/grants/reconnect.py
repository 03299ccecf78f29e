"""One re-authorization repairs every client of the grant (DESIGN.md, Reconnect).

In ONE transaction: the new tokens are stored, every data source of the grant that was down
for an auth reason and is still reachable is reconnected, the incidents and notifications are
resolved, the events written, and the backfill of each gap queued (sent after the commit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from relink.grants.refresh_schedule import next_refresh_at
from relink.grants.service import store_credentials
from relink.incidents import service as incidents
from relink.kit.id_lists import id_in
from relink.models import DataSource, Grant, Incident
from relink.notifications.outgoing import emit_for_data_sources
from relink.providers.results import ExternalIdentity, TokenSet
from relink.providers.taxonomy import GRANT_LEVEL, ErrorClass
from relink.status import DataSourceStatus, GrantStatus
from relink.status_writer import may_become_grant, transition_many
from relink.worker.context import JobContext
from relink.worker.enqueue import enqueue
from relink.worker.registry import JobName

# Down for one of these, a data source comes back when its grant is re-authorized.
RECONNECTABLE_REASONS = frozenset(
    {*GRANT_LEVEL, ErrorClass.PERMISSION_DENIED, ErrorClass.ACCOUNT_NOT_FOUND}
)
# Ids per IN list: under SQLite's bound-variable limit.
ID_CHUNK = 900
# A data source's own incidents a reconnect repairs.
_REPAIRED = (ErrorClass.PERMISSION_DENIED, ErrorClass.ACCOUNT_NOT_FOUND)
UNREACHABLE_HINT = "The reconnected login no longer reaches this account; ask its owner for access."


@dataclass(frozen=True)
class Repaired:
    grant_id: int
    reconnected_ids: tuple[int, ...]
    unreachable_ids: tuple[int, ...]


def store_tokens(
    ctx: JobContext, *, grant: Grant, tokens: TokenSet, identity: ExternalIdentity, now: datetime
) -> None:
    """New tokens on the grant, with no cause left to show (the caller moves its status)."""
    store_credentials(box=ctx.box, grant=grant, credentials=tokens.as_credentials())
    grant.access_expires_at = tokens.expires_at
    grant.last_refreshed_at = now
    grant.refresh_failures = 0
    grant.refresh_answer_lost_at = None
    grant.next_refresh_at = next_refresh_at(now=now, access_expires_at=tokens.expires_at, ctx=ctx)
    if tokens.scopes:
        grant.scopes = list(tokens.scopes)
    grant.identity_name = identity.email or identity.name or grant.identity_name
    # A new consent restarts the provider's lifetime clocks (see grants/expiry.py).
    grant.extra = {**(grant.extra or {}), "authorized_at": now.isoformat()}
    grant.status_reason = None
    grant.status_detail = None


async def repair_grant(
    session: AsyncSession,
    *,
    ctx: JobContext,
    grant: Grant,
    tokens: TokenSet,
    identity: ExternalIdentity,
    reachable_account_ids: set[str],
    now: datetime,
    actor: str,
    only_data_source_ids: set[int] | None = None,
) -> Repaired:
    """Store the tokens and bring back every reachable data source that was down for auth."""
    store_tokens(ctx, grant=grant, tokens=tokens, identity=identity, now=now)
    # Live again, whatever ended it; a grant that is active already stays as it is.
    await transition_many(
        session,
        [grant.id],
        to=GrantStatus.ACTIVE,
        only_from=may_become_grant(GrantStatus.ACTIVE),
        reason="re-authorized by the same login",
        details={"identity": identity.id},
        actor=actor,
        now=now,
    )
    down = list(
        await session.execute(
            select(DataSource.id, DataSource.external_account_id, DataSource.complete_through)
            .where(
                DataSource.grant_id == grant.id,
                DataSource.status == DataSourceStatus.DISCONNECTED,
                DataSource.status_reason.in_(RECONNECTABLE_REASONS),
            )
            .with_for_update()
        )
    )
    if only_data_source_ids is not None:
        down = [row for row in down if row.id in only_data_source_ids]
    back = [row for row in down if row.external_account_id in reachable_account_ids]
    lost = [row for row in down if row.external_account_id not in reachable_account_ids]
    today = now.date()
    if back:
        await transition_many(
            session,
            [row.id for row in back],
            to=DataSourceStatus.CONNECTED,
            only_from={DataSourceStatus.DISCONNECTED},
            reason="the grant was re-authorized",
            details={"grant_id": grant.id},
            actor=actor,
            now=now,
        )
        # Each comes back importing from the start of its own gap: one UPDATE per gap start
        # (and chunk of ids), not one row at a time; most share their last complete day.
        by_gap: dict[Any, list[int]] = {}
        for row in back:
            by_gap.setdefault(_gap_start(row.complete_through, today), []).append(row.id)
        for gap_start, ids in by_gap.items():
            for start in range(0, len(ids), ID_CHUNK):
                await session.execute(
                    update(DataSource)
                    .where(id_in(session, DataSource.id, ids[start : start + ID_CHUNK]))
                    .values(consecutive_failures=0, next_sync_at=now, backfill_from=gap_start)
                    .execution_options(synchronize_session=False)
                )
    if lost:
        await session.execute(
            update(DataSource),
            [
                {
                    "id": row.id,
                    "status_reason": ErrorClass.ACCOUNT_NOT_FOUND,
                    "status_detail": UNREACHABLE_HINT,
                    "updated_at": now,
                }
                for row in lost
            ],
        )
    await _settle_incidents(session, grant=grant, back=back, lost=lost, now=now, actor=actor)
    back_ids = [row.id for row in back]
    await emit_for_data_sources(
        session,
        agency_id=grant.agency_id,
        event="data_source.reconnected",
        data_source_ids=back_ids,
        error_class=None,
        hint=None,
        now=now,
    )
    if back_ids:
        # One job for the grant, not one per data source: it imports every source the repair
        # made due, in set-based batches (``data_sources/tasks.py``).
        enqueue(session, JobName.BACKFILL_GRANT, grant_id=grant.id)
    return Repaired(grant.id, tuple(back_ids), tuple(row.id for row in lost))


async def _settle_incidents(
    session: AsyncSession,
    *,
    grant: Grant,
    back: list[Any],
    lost: list[Any],
    now: datetime,
    actor: str,
) -> None:
    keys = [
        incidents.grant_key(grant.id, ErrorClass.AUTH_REVOKED),
        incidents.expires_soon_key(grant.id),
    ]
    await incidents.resolve(session, agency_id=grant.agency_id, keys=keys, now=now, by=actor)
    if back:
        # The data sources' own incidents, by a join on the rows just reconnected rather than
        # thousands of keys: every such incident names its data source.
        await incidents.resolve_where(
            session,
            agency_id=grant.agency_id,
            condition=and_(
                Incident.data_source_id.in_(
                    select(DataSource.id).where(
                        DataSource.grant_id == grant.id,
                        DataSource.status == DataSourceStatus.CONNECTED,
                    )
                ),
                Incident.error_class.in_(_REPAIRED),
                Incident.key.like("data_source:%"),
            ),
            now=now,
            by=actor,
        )
    for row in lost:
        # Still needs a person, for a different reason now: its own incident says why.
        await incidents.open_or_extend(
            session,
            agency_id=grant.agency_id,
            key=incidents.data_source_key(row.id, ErrorClass.ACCOUNT_NOT_FOUND),
            error_class=ErrorClass.ACCOUNT_NOT_FOUND,
            provider=grant.provider,
            now=now,
            grant_id=grant.id,
            data_source_id=row.id,
            hint=UNREACHABLE_HINT,
        )


def _gap_start(complete_through: Any, today: Any) -> Any:
    if complete_through is None:
        return None
    start = complete_through + timedelta(days=1)
    return start if start < today else None
