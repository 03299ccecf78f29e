"""Each agency's status version: a number that moves, in the same transaction, whenever a
status of its data sources or grants changes (or a data source appears or goes).

What counts an agency's statuses and keeps the count (the Data Sources page's chips, in every
process) keeps the version it read before counting beside it, and serves the count only while
the agency's version is still that: one primary-key read tells it whether any status changed
since, in this process or another, with nothing to send or to miss.

The status writer (and the data source mapper) name the agency in the session; the version is
bumped just before the session commits, not when the status moved. Its row lock then lasts
only as long as the commit: two transactions that each move some of an agency's rows never
wait for each other's version while holding rows the other wants (the deadlock a bump beside
each move would invite), and status changes of one agency do not queue behind each other's
longer work.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, event, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper, Session, SessionTransaction, object_session

from relink.kit.driver_reads import driver_rows
from relink.kit.id_lists import on_postgresql
from relink.models import Agency, DataSource

_CHANGED = "relink.status_changed_agencies"
_VERSION = select(Agency.status_version).where(Agency.id == bindparam("agency_id"))


def note_changed(session: AsyncSession | Session, agency_ids: Iterable[int]) -> None:
    """The statuses of these agencies changed in ``session``: their versions move when it
    commits."""
    sync_session = session.sync_session if isinstance(session, AsyncSession) else session
    changed: set[int] = sync_session.info.setdefault(_CHANGED, set())
    changed.update(agency_ids)


async def status_version(session: AsyncSession, *, agency_id: int) -> int:
    """The agency's status version as ``session`` sees it now (0 for an unknown agency)."""
    values = {"agency_id": agency_id}
    if on_postgresql(session):
        # The page pays this read on every load: run by the driver it took about half the CPU
        # of SQLAlchemy's execution of the same statement (measured in this VM).
        records = await driver_rows(session, _VERSION, values)
        return int(records[0][0]) if records else 0
    found = await session.scalar(_VERSION, values)
    return int(found or 0)


@event.listens_for(Session, "before_commit")
def _bump_before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        # A savepoint released: the outer transaction commits (or not) later.
        return
    # What is still pending reaches the rows first (its data sources are noted as it does).
    session.flush()
    changed: set[int] = session.info.pop(_CHANGED, set())
    # One statement per agency, in id order: two committers lock the same rows in one order.
    for agency_id in sorted(changed):
        session.execute(
            update(Agency)
            .where(Agency.id == agency_id)
            # The agency itself did not change: its updated_at stays.
            .values(status_version=Agency.status_version + 1, updated_at=Agency.updated_at)
            .execution_options(synchronize_session=False)
        )


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous: SessionTransaction) -> None:
    # Only the whole transaction's end: a savepoint rolled back leaves the changes made
    # before it (noting more agencies than changed only costs a count).
    if previous.parent is None:
        session.info.pop(_CHANGED, None)


@event.listens_for(DataSource, "after_insert")
@event.listens_for(DataSource, "after_delete")
def _data_source_came_or_went(_mapper: Mapper[Any], _connection: Any, target: DataSource) -> None:
    # A data source added or deleted changes the counts as much as a move does.
    session = object_session(target)
    if session is not None:
        note_changed(session, [target.agency_id])
