"""The Data Sources page's read model: its rows in one keyset query, filtered and sorted.

Every order is an index read in order (``attention, id`` or ``client_name, id``, see
models/data_source.py), so a page costs its own rows, not the agency's: the client's name is
copied onto each data source for that reason. Pages go both ways: a cursor points after its
key (next) or before it (previous), as one row comparison the index starts its read at.

The driver prepares a statement it runs often and PostgreSQL may then plan it once for any
value ("generic plan"); a plan good for one status or provider can read every row for another
(the trash, an absent provider). So the few values that pick the plan (status, provider, auth
kind, the search text) are written into the statement, one statement per value; only the
agency, the ids and the cursor's key stay parameters. The page size is written in too: a
generic plan reads ``LIMIT $n`` as a tenth of the table, so PostgreSQL never trusted one and
planned the statement again at every run (0.2-0.3 ms of the database's CPU, where running it
took 0.07 ms). With every value that shapes the plan in the text it plans each statement once
per connection.

A user limited to chosen clients reads their clients' rows by ``client_id`` (their list is
read first, inside the same statement) and sorts those: the page costs their data sources,
not the agency's.

The statement of each shape of listing (which filters, which order, which way from a cursor)
is built once per process with named parameters, and each request brings its values: building
and keying it anew cost more than running it. It runs on the unit of work's connection, and
its rows are read as plain columns into ``SourceLine``s, not as ORM objects: a page only reads
them, and loading 51 objects into the unit of work cost more than the statement. Both answer
the same attributes (``SourceFields``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields
from dataclasses import replace as _replace
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    literal,
    literal_column,
    or_,
    select,
    table,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from relink.auth.access import chosen_client_ids, sees_whole_agency
from relink.data_sources.gaps import DataDays, data_days
from relink.data_sources.staff import require_staff
from relink.errors import InvalidInput, NotFound
from relink.kit.driver_reads import driver_rows
from relink.kit.id_lists import on_postgresql
from relink.kit.pagination import Page, clamp_limit, decode_keyset, encode_before, encode_cursor
from relink.kit.search import contains_pattern, name_like
from relink.models import DataSource, Grant, User
from relink.models.data_source import SQLITE_SEARCH_TABLE, SourceFields
from relink.providers.taxonomy import AuthKind, ErrorClass
from relink.status import DataSourceStatus

_DS = DataSourceStatus
# The shortest text SQLite's trigram index can look up; shorter ones are read row by row.
TRIGRAM = 3
# "Click the status column": what needs a person comes first, the trash last.
STATUS_RANK = {_DS.DISCONNECTED: 0, _DS.FAILING: 1, _DS.PAUSED: 2, _DS.CONNECTED: 3, _DS.REMOVED: 4}
# The same order as the database's computed `attention` column (see models/data_source.py).
_rank = DataSource.attention


_RowSelect = Select[Any]


class Sort(enum.StrEnum):
    STATUS = "status"
    CLIENT = "client"


@dataclass(slots=True)
class SourceLine:
    """A data source's columns as the pages read them, copied out of the result row once: a
    result row answers an attribute by name ten times slower than a slot does, and a page of
    rows reads hundreds of them."""

    id: int
    client_id: int
    grant_id: int
    provider: str
    external_account_id: str
    external_account_name: str
    client_name: str
    status: DataSourceStatus
    status_reason: ErrorClass | None
    status_detail: str | None
    complete_through: date | None
    last_ok_at: datetime | None
    last_failed_at: datetime | None
    paused_at: datetime | None
    removed_at: datetime | None
    backfill_from: date | None
    account_timezone: str | None


# The table's columns of a SourceLine, in its order (the ORM's attributes share the names).
_LINE_COLUMNS = tuple(DataSource.__table__.c[f.name] for f in fields(SourceLine))
_WIDTH = len(_LINE_COLUMNS)


@dataclass(frozen=True)
class Filters:
    status: DataSourceStatus | None = None
    provider: str | None = None
    client_id: int | None = None
    auth_kind: AuthKind | None = None
    q: str | None = None


# Not frozen: a frozen dataclass sets each field through object.__setattr__, and a page
# builds one per row.
@dataclass(slots=True)
class Row:
    """One line of the Data Sources page."""

    source: SourceFields
    client_name: str
    identity_name: str | None
    auth_kind: AuthKind
    # "Complete through" and "may be incomplete since", from the one rule (gaps.py).
    days: DataDays

    @classmethod
    def of(
        cls, source: SourceFields, client_name: str, identity_name: str | None, kind: AuthKind
    ) -> Row:
        return cls(source, client_name, identity_name, kind, data_days(source))

    @property
    def complete_through(self) -> date | None:
        return self.days.complete_through

    @property
    def missing_since(self) -> date | None:
        return self.days.missing_since


class _OneOf(FunctionElement[bool]):
    """``column`` is one of the ids a subquery selects. PostgreSQL reads the ids first (one
    array) and matches them through ``column``'s index; planned as ``IN``, the list would be
    joined to the table, and a plan made once for any user may read every row in order to do
    it. SQLite has no arrays: ``IN``."""

    type = Boolean()
    inherit_cache = True
    name = "one_of"

    def __init__(self, column: InstrumentedAttribute[int], ids: Select[int]) -> None:
        super().__init__(column, ids.scalar_subquery())


@compiles(_OneOf)
def _one_of_in(element: _OneOf, compiler: SQLCompiler, **kw: Any) -> str:
    column, ids = element.clauses
    return f"{compiler.process(column, **kw)} IN {compiler.process(ids, **kw)}"


@compiles(_OneOf, "postgresql")
def _one_of_any(element: _OneOf, compiler: SQLCompiler, **kw: Any) -> str:
    column, ids = element.clauses
    return f"{compiler.process(column, **kw)} = ANY(ARRAY{compiler.process(ids, **kw)})"


def _visible(*, whole_agency: bool, agency_id: Any, user_id: Any) -> ColumnElement[bool]:
    """``data_source_visible`` for the signed-in user, in the form an index serves.

    The same rule (auth/access.py decides which clients): the agency alone for those who see
    all of it; otherwise the user's chosen client ids, read once into an array, matched by the
    ``client_id`` index (``= ANY``) rather than joined to every row. The ids are values, or the
    bound parameters of a cached statement.
    """
    agency: ColumnElement[bool] = DataSource.agency_id == agency_id
    if whole_agency:
        return agency
    return and_(agency, _OneOf(DataSource.client_id, chosen_client_ids(user_id, agency_id)))


def _rows_query(visible: ColumnElement[bool]) -> _RowSelect:
    return (
        select(*_LINE_COLUMNS, Grant.identity_name, Grant.auth_kind)
        .join(Grant, Grant.id == DataSource.grant_id)
        .where(visible)
    )


def _fixed(value: Any) -> Any:
    """``value`` written into the statement (see the module's docstring)."""
    return literal(value, literal_execute=True)


def search_condition(text: str, *, sqlite: bool = False) -> ColumnElement[bool]:
    """Client or account name contains ``text``, any case: trigram-indexed on PostgreSQL, and
    on SQLite through its trigram full-text table when ``text`` has a trigram to look up."""
    if sqlite and len(text) >= TRIGRAM:
        return _fts_match(_fixed(_fts_phrase(text)))
    return _names_like(_fixed(contains_pattern(text)))


def _fts_phrase(text: str) -> str:
    # One quoted phrase: every character is text to FTS5 (a quote is written twice).
    return '"' + text.replace('"', '""') + '"'


def _fts_match(phrase: ColumnElement[str]) -> ColumnElement[bool]:
    matches: Select[Any] = (
        select(literal_column("rowid"))
        .select_from(table(SQLITE_SEARCH_TABLE))
        .where(literal_column(SQLITE_SEARCH_TABLE).op("MATCH")(phrase))
    )
    return DataSource.id.in_(matches)


def _names_like(pattern: ColumnElement[str]) -> ColumnElement[bool]:
    return or_(
        name_like(DataSource.client_name, pattern),
        name_like(DataSource.external_account_name, pattern),
    )


def _sort_key(row: Row, sort: Sort) -> list[Any]:
    key: int | str = STATUS_RANK[row.source.status] if sort is Sort.STATUS else row.client_name
    return [key, row.source.id]


class _Search(enum.Enum):
    NONE = "none"
    LIKE = "like"
    FTS = "fts"


class _Plan(enum.Enum):
    """How the statement of a search over the whole agency reads its rows on PostgreSQL.

    PostgreSQL estimates how many rows a name search matches well, but takes them to be
    spread evenly along the page's order and the test of each row to cost next to nothing, so
    for a text matching one row in a hundred it reads the agency in order and tests each row
    until a page is full: 12,391 rows, 31 ms, for the accounts numbered "12..." at 100k
    (EXPLAIN ANALYZE), where the trigram indexes find their 1,111 rows and sorting them takes
    4 ms. For a common word it is right: a page fills after a few hundred rows. So a search
    reads at most ``WINDOW`` rows in order first (``WINDOW``), which serves a common text;
    when those do not fill the page it asks the indexes for the matches and sorts them
    (``MATCHES``: fenced off from the page's order, so the planner chooses how to find them
    alone); a text too short for a trigram is read in order (``PLANNER``), no index serving it.

    A user limited to chosen clients always reads their rows by ``client_id`` and sorts them
    (``MATCHES``): PostgreSQL cannot know how few rows their list of clients selects (an array
    read at run time), and took them to be many, walking the agency's order after a cursor and
    testing each row: 4,006 rows read for a page of 6 of a user's 33, and at 100k data sources
    a limited staff member's later pages read 31 ms from outside.
    """

    # The statement as it is, the planner choosing.
    PLANNER = "planner"
    # The first WINDOW rows of the page's order, tested.
    WINDOW = "window"
    # Every match, found without the page's order, then sorted.
    MATCHES = "matches"


# Rows of the page's order a search reads before it asks the indexes (twenty pages' worth): a
# text matching one row in twenty fills a page from them.
WINDOW_PAGES = 20


@dataclass(frozen=True)
class _Shape:
    """What a listing's statement is made of; its values are parameters (``_values``)."""

    whole_agency: bool
    sort: Sort
    status: bool
    provider: bool
    client: bool
    auth_kind: bool
    search: _Search
    # None: the first page; True: after a cursor's key; False: before it.
    forward: bool | None
    # How a search reaches its rows on PostgreSQL (``_Plan``); NONE without a search.
    plan: _Plan = _Plan.PLANNER


def _value(name: str, *, fixed: bool = False, type_: Any = None) -> Any:
    """A named parameter of a cached statement; ``fixed``: written into the statement at each
    execution (see the module's docstring)."""
    return bindparam(name, literal_execute=fixed, type_=type_)


@cache
def _statement(shape: _Shape) -> _RowSelect:
    """The listing of one shape, built once per process: building and keying it cost more
    than running it (the shapes are a few hundred at most)."""
    conditions = _conditions(shape)
    searched = _search(shape, DataSource.client_name, DataSource.external_account_name)
    if shape.plan is _Plan.PLANNER:
        query = _rows_query(and_(*conditions, *searched))
        first_key = _rank if shape.sort is Sort.STATUS else DataSource.client_name
        query = _ordered(query, first_key, DataSource.id, forward=shape.forward)
        return query.limit(_value("size", fixed=True, type_=Integer()))
    # The rows read first (a subquery), then joined to their grants, tested and sorted.
    inner: _RowSelect = select(*_LINE_COLUMNS, DataSource.attention)
    if shape.plan is _Plan.WINDOW:
        first_key = _rank if shape.sort is Sort.STATUS else DataSource.client_name
        inner = _ordered(inner.where(*conditions), first_key, DataSource.id, forward=shape.forward)
        inner = inner.limit(_value("window", fixed=True, type_=Integer()))
    else:
        # OFFSET 0: the subquery is not merged into the outer one, so its plan is chosen for
        # finding the matches alone, never by reading the page's order.
        inner = inner.where(*conditions, *searched).offset(literal_column("0"))
    listed = inner.subquery("listed")
    columns = (listed.c[c.name] for c in _LINE_COLUMNS)
    outer: _RowSelect = select(*columns, Grant.identity_name, Grant.auth_kind)
    outer = outer.join(Grant, Grant.id == listed.c.grant_id)
    if shape.plan is _Plan.WINDOW:
        outer = outer.where(*_search(shape, listed.c.client_name, listed.c.external_account_name))
    first = listed.c.attention if shape.sort is Sort.STATUS else listed.c.client_name
    outer = _ordered(outer, first, listed.c.id, forward=shape.forward)
    return outer.limit(_value("size", fixed=True, type_=Integer()))


def _conditions(shape: _Shape) -> list[ColumnElement[bool]]:
    """What a listing of ``shape`` keeps, its search aside: who sees it, its filters, and
    where its cursor starts."""
    found = [
        _visible(
            whole_agency=shape.whole_agency,
            agency_id=_value("agency_id"),
            user_id=_value("user_id"),
        )
    ]
    if shape.status and shape.sort is Sort.STATUS:
        # One status is one ``attention``: the status order's index answers it in order.
        found.append(DataSource.attention == _value("rank", fixed=True))
    elif shape.status:
        found.append(DataSource.status == _value("status", fixed=True))
    elif shape.sort is Sort.STATUS:
        # The trash is shown only when asked for (it is the last ``attention``).
        found.append(DataSource.attention < _value("rank", fixed=True))
    else:
        found.append(DataSource.status != _value("status", fixed=True))
    if shape.provider:
        found.append(DataSource.provider == _value("provider", fixed=True))
    if shape.client:
        found.append(DataSource.client_id == _value("client_id"))
    if shape.auth_kind:
        # The data source's copy of its grant's kind: an index of its own (see the model).
        found.append(DataSource.auth_kind == _value("auth_kind", fixed=True))
    if shape.forward is not None:
        # One row comparison: where the index read starts (an OR of two would be a filter).
        # Written inclusive of the next id (ids are whole numbers: the same rows): PostgreSQL
        # estimates a row comparison by its first column alone, and `(attention, id) > (3, i)`
        # reads as `attention > 3`, next to no rows when the cursor is among the connected,
        # most rows, where `>= (3, i + 1)` reads as `attention >= 3`.
        first_key = _rank if shape.sort is Sort.STATUS else DataSource.client_name
        key_type = Integer() if shape.sort is Sort.STATUS else String()
        keyset = tuple_(first_key, DataSource.id)
        at_id = _value("at_id", type_=BigInteger())
        at_key = _value("at_key", type_=key_type)
        if shape.forward:
            found.append(keyset >= tuple_(at_key, at_id + 1))
        else:
            found.append(keyset <= tuple_(at_key, at_id - 1))
    return found


def _search(shape: _Shape, client_name: Any, account_name: Any) -> list[ColumnElement[bool]]:
    """The search of ``shape`` on these name columns (none without a search)."""
    if shape.search is _Search.LIKE:
        pattern = _value("pattern", fixed=True, type_=String())
        return [or_(name_like(client_name, pattern), name_like(account_name, pattern))]
    if shape.search is _Search.FTS:
        return [_fts_match(_value("phrase", fixed=True, type_=String()))]
    return []


def _ordered(query: _RowSelect, first_key: Any, id_: Any, *, forward: bool | None) -> _RowSelect:
    """``query`` in the page's order, or its reverse to read back from a cursor."""
    if forward is False:
        return query.order_by(first_key.desc(), id_.desc())
    return query.order_by(first_key, id_)


def _values(user: User, filters: Filters, sort: Sort, text: str) -> dict[str, Any]:
    """The parameters of a listing's statement (its shape is ``_Shape``)."""
    values: dict[str, Any] = {"agency_id": user.agency_id, "user_id": user.id}
    if filters.status is not None and sort is Sort.STATUS:
        values["rank"] = STATUS_RANK[filters.status]
    elif filters.status is not None:
        values["status"] = filters.status
    elif sort is Sort.STATUS:
        values["rank"] = STATUS_RANK[DataSourceStatus.REMOVED]
    else:
        values["status"] = DataSourceStatus.REMOVED
    if filters.provider:
        values["provider"] = filters.provider
    if filters.client_id is not None:
        values["client_id"] = filters.client_id
    if filters.auth_kind is not None:
        values["auth_kind"] = filters.auth_kind
    if text:
        values["pattern"] = contains_pattern(text)
        values["phrase"] = _fts_phrase(text)
    return values


async def list_rows(
    session: AsyncSession,
    *,
    user: User,
    filters: Filters | None = None,
    sort: Sort = Sort.STATUS,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[Row]:
    """The rows ``user`` may see, one keyset page at a time: one query, no OFFSET.

    ``cursor`` is a page's ``next_cursor`` (the rows after it) or ``prev_cursor`` (the rows
    before it, still answered in the page's own order).
    """
    require_staff(user, "see the data sources page")
    if not user.is_active:
        return Page(items=[])
    size = clamp_limit(limit)
    filters = filters or Filters()
    text = (filters.q or "").strip()
    sqlite = not on_postgresql(session)
    search = _Search.NONE
    if text:
        search = _Search.FTS if sqlite and len(text) >= TRIGRAM else _Search.LIKE
    values = _values(user, filters, sort, text)
    forward: bool | None = None
    if cursor:
        forward, (at_key, at_id) = decode_keyset(cursor, length=2)
        key_type = int if sort is Sort.STATUS else str
        if not isinstance(at_id, int) or not isinstance(at_key, key_type):
            raise InvalidInput("the page cursor is malformed: start again from the first page")
        values.update(at_key=at_key, at_id=at_id)
    shape = _Shape(
        whole_agency=sees_whole_agency(user),
        sort=sort,
        status=filters.status is not None,
        provider=bool(filters.provider),
        client=filters.client_id is not None,
        auth_kind=filters.auth_kind is not None,
        search=search,
        forward=forward,
    )
    values["size"] = size + 1
    if sqlite:
        statement = _statement(shape)

        def fetch(units: Session) -> list[Row]:
            # The unit of work's connection (plain columns need nothing of the ORM on the
            # way), checked out and read in one hop into SQLAlchemy's sync world, not two.
            return [_row(r) for r in units.connection().execute(statement, values)]

        found = await session.run_sync(fetch)
    elif search is _Search.LIKE and shape.whole_agency:
        found = await _searched(session, shape, values, size=size, indexed=len(text) >= TRIGRAM)
    elif not shape.whole_agency:
        # Their rows, found by their clients and sorted (see ``_Plan``).
        limited = _replace(shape, plan=_Plan.MATCHES)
        found = [_row(r) for r in await driver_rows(session, _statement(limited), values)]
    else:
        found = [_row(r) for r in await driver_rows(session, _statement(shape), values)]
    ahead = forward is not False
    more = len(found) > size
    rows = found[:size] if ahead else list(reversed(found[:size]))
    if not rows:
        return Page(items=[])
    # Forward: more rows follow when one more was found; rows precede when we came from a
    # cursor. Backward: the mirror image.
    has_next = more if ahead else True
    has_prev = bool(cursor) if ahead else more
    return Page(
        items=rows,
        next_cursor=encode_cursor(_sort_key(rows[-1], sort)) if has_next else None,
        prev_cursor=encode_before(_sort_key(rows[0], sort)) if has_prev else None,
    )


async def _searched(
    session: AsyncSession, shape: _Shape, values: dict[str, Any], *, size: int, indexed: bool
) -> list[Row]:
    """A search over the whole agency on PostgreSQL (see ``_Plan``): the first rows of the
    page's order, and when they do not fill the page, the matches the indexes find (or, for a
    text no index serves, the order read on)."""
    window = _replace(shape, plan=_Plan.WINDOW)
    found = await driver_rows(
        session, _statement(window), {**values, "window": size * WINDOW_PAGES}
    )
    if len(found) <= size:
        rest = _replace(shape, plan=_Plan.MATCHES if indexed else _Plan.PLANNER)
        found = await driver_rows(session, _statement(rest), values)
    return [_row(r) for r in found]


async def get_row(session: AsyncSession, *, user: User, data_source_id: int) -> Row:
    """One visible row (the trash included), or ``NotFound``."""
    require_staff(user, "see the data sources page")
    visible = _visible(
        whole_agency=sees_whole_agency(user), agency_id=user.agency_id, user_id=user.id
    )
    query = _rows_query(visible).where(DataSource.id == data_source_id)
    found = (await session.execute(query)).first() if user.is_active else None
    if found is None:
        raise NotFound("data source")
    return _row(found)


def _row(result: Any) -> Row:
    # The data source's columns first, then the grant's two.
    source = SourceLine(*result[:_WIDTH])
    identity_name, auth_kind = result[_WIDTH], result[_WIDTH + 1]
    return Row.of(source, source.client_name, identity_name, auth_kind)
