"""The ONE place that decides which clients a user may see; every scoped query goes through it.

The rule is written once, as a condition on a (user, client) pair (``_may_see``), used by the
batch form (``visible_client_ids_by_user``: many users' clients in one query, for fan-out). The
single form (``visible_client_ids``: one loaded user's clients, a subquery for joins) applies
the same branches to that user in Python so the database plans a plain list; the tests of
tests/auth check both forms answer alike for every role.

Readers take a ``Scope`` with no default: a signed-in user's (``UserScope``), or the operator's
(``OperatorScope``, every client of every agency) which only the CLI and background jobs build,
by name and with a reason. Nothing reads "everything" because an argument was left out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from relink.errors import NotFound
from relink.models import Client, DataSource, Role, User, UserClientAccess

# Who acts on data sources (reconnect, sync, pause) and is told about incidents; never clients.
TOLD_ROLES = (Role.ADMIN, Role.STAFF)


@dataclass(frozen=True)
class UserScope:
    """What one signed-in user may see: the access rule applies."""

    user: User


@dataclass(frozen=True)
class OperatorScope:
    """Every client of every agency: for the CLI and background jobs, never for a request.

    ``why`` names the job that needs it, so a reader of the call site sees the choice was made.
    """

    why: str


Scope = UserScope | OperatorScope


def scope_of(user: User) -> UserScope:
    """The scope of a signed-in user (requests, pages, the API)."""
    return UserScope(user)


def operator_scope(why: str) -> OperatorScope:
    """The explicit "everything" of an operator's job; ``why`` says which job and why."""
    if not why.strip():
        raise ValueError("an operator scope must say why it needs every client")
    return OperatorScope(why)


def _may_see() -> ColumnElement[bool]:
    """THE rule, as a condition on a ``User`` row and a ``Client`` row of the same query.

    Inside the user's agency only; an inactive user sees nothing; admins and all-clients staff
    see every client; other staff their chosen list; a client login its own client.
    """
    chosen = exists().where(
        UserClientAccess.user_id == User.id,
        UserClientAccess.client_id == Client.id,
        UserClientAccess.agency_id == User.agency_id,
    )
    return and_(
        Client.agency_id == User.agency_id,
        User.is_active.is_(True),
        or_(
            User.role == Role.ADMIN,
            and_(User.role == Role.STAFF, or_(User.all_clients.is_(True), chosen)),
            and_(User.role == Role.CLIENT, Client.id == User.client_id),
        ),
    )


def sees_every_client(user: User) -> bool:
    """``_may_see`` for a user who sees every client of their agency (no list to read)."""
    return user.is_active and (
        user.role is Role.ADMIN or (user.role is Role.STAFF and user.all_clients)
    )


def visible_client_ids(user: User) -> Select[int]:
    """A subquery of the client ids ``user`` may see, always inside the user's agency.

    ``_may_see`` applied to the one user already loaded, branch by branch: the database then
    plans a plain list (all of the agency's clients, or the chosen ones) instead of the whole
    rule, which at 10k clients costs more to plan and run than the page itself.
    """
    if not user.is_active:
        ids = select(Client.id).where(false())
    elif sees_whole_agency(user):
        ids = select(Client.id).where(Client.agency_id == user.agency_id)
    elif user.role is Role.STAFF:
        ids = chosen_client_ids(user.id, user.agency_id)
    elif user.role is Role.CLIENT and user.client_id is not None:
        ids = select(Client.id).where(
            Client.id == user.client_id, Client.agency_id == user.agency_id
        )
    else:
        ids = select(Client.id).where(false())
    # Never correlated into the caller's query: it is a closed list of ids.
    return ids.correlate(None)


def chosen_client_ids(user_id: Any, agency_id: Any) -> Select[int]:
    """The clients chosen for a staff user who does not see the whole agency. The ids are
    values, or bound parameters of a statement built once for any user."""
    return select(UserClientAccess.client_id).where(
        UserClientAccess.user_id == user_id, UserClientAccess.agency_id == agency_id
    )


def sees_whole_agency(user: User) -> bool:
    """Admins and all-clients staff (active): every client of their agency."""
    return user.is_active and (
        user.role is Role.ADMIN or (user.role is Role.STAFF and user.all_clients)
    )


def client_visible(scope: Scope, client_id: Any) -> ColumnElement[bool]:
    """A WHERE condition: ``client_id`` (a column) is a client the scope may see."""
    if isinstance(scope, OperatorScope):
        return true()
    return and_(client_id.in_(visible_client_ids(scope.user)))


def data_source_visible(scope: Scope) -> ColumnElement[bool]:
    """A WHERE condition on ``DataSource`` rows: a data source of a client the scope may see."""
    if isinstance(scope, OperatorScope):
        return true()
    if sees_whole_agency(scope.user):
        # Every client of the agency: the agency is the whole condition (no list to match).
        return and_(DataSource.agency_id == scope.user.agency_id)
    return and_(
        DataSource.agency_id == scope.user.agency_id,
        client_visible(scope, DataSource.client_id),
    )


def visible_clients(scope: Scope) -> Select[Client]:
    """The clients the scope may see, as a query to narrow, order and page."""
    query = select(Client)
    if isinstance(scope, UserScope) and sees_whole_agency(scope.user):
        query = query.where(Client.agency_id == scope.user.agency_id)
    elif isinstance(scope, UserScope):
        query = query.where(
            Client.agency_id == scope.user.agency_id, client_visible(scope, Client.id)
        )
    return query


def visible_data_sources(scope: Scope) -> Select[DataSource]:
    """The data sources (of every status) of the clients the scope may see."""
    return select(DataSource).where(data_source_visible(scope))


async def visible_client_ids_by_user(
    session: AsyncSession,
    *,
    user_ids: Collection[int],
    client_ids: Select[int] | Collection[int],
) -> dict[int, set[int]]:
    """The batch form of ``visible_client_ids``, in one query: for each user, which of
    ``client_ids`` (ids, or a subquery of them) they may see. Users who see none are absent."""
    if not user_ids:
        return {}
    clients = client_ids if isinstance(client_ids, Select) else sorted(client_ids)
    rows = await session.execute(
        select(User.id, Client.id)
        .join(Client, _may_see())
        .where(User.id.in_(sorted(user_ids)), Client.id.in_(clients))
    )
    seen: dict[int, set[int]] = defaultdict(set)
    for user_id, client_id in rows:
        seen[user_id].add(client_id)
    return dict(seen)


async def ensure_client_visible(session: AsyncSession, *, user: User, client_id: int) -> None:
    """Raise ``NotFound`` (never Forbidden: existence must not leak) unless visible."""
    found = await session.scalar(
        select(Client.id).where(Client.id == client_id, Client.id.in_(visible_client_ids(user)))
    )
    if found is None:
        raise NotFound("client")


def is_staff_or_admin(user: User) -> bool:
    """Who may act (reconnect, sync, pause) and be told about incidents; client users never."""
    return user.is_active and user.role in TOLD_ROLES


def told_about_incidents() -> ColumnElement[bool]:
    """``is_staff_or_admin`` as a condition on ``User`` rows: who fan-out may tell."""
    return and_(User.is_active.is_(True), User.role.in_(TOLD_ROLES))


def ensure_staff_or_admin(user: User, *, what: str) -> None:
    """Raise ``NotFound`` for a client login: grants and incidents are the agency's business,
    and a client login is never told they exist (not Forbidden: existence must not leak)."""
    if not is_staff_or_admin(user):
        raise NotFound(what)
