"""Every typed dependency of the API and the pages, in one place.

An endpoint or a page names what it needs in its signature and gets it checked: the request's
unit of work (``DbSession``), its clock (``Now``), the job context (``Jobs``), and who is asking.
Who is asking is a signed-in browser (its session cookie) or a script (its API token, sent as
``Authorization: Bearer``; api_tokens/), and either way a ``User``: a token acts as its user,
with the user's role and client access, through the same dependencies. Who is asking comes in
two flavours, because the two audiences want different answers:

- the API (scripts): ``CurrentUser`` is a 401, ``AdminUser`` a 403, ``staff_only(what)`` a 404;
- the pages (people): ``PageUser`` raises ``LoginRequired``, answered once (in app.py) with a
  303 to the sign-in page and back; ``StaffPageUser`` sends a client login to its own view of
  the data sources; ``AdminPageUser`` answers the styled 404 (a page only admins have does not
  exist for others).

A request that only reads (the Data Sources list and its API) asks for one ``Reading`` instead:
``ApiReading`` or ``PageReading``, the same answers for a visitor.

Nothing here renders a page or knows a template: the web layer handles the exceptions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from relink.api_tokens import service as api_tokens
from relink.api_tokens.bearer import bearer_token, ensure_method_allowed, session_cookie
from relink.api_tokens.token_cache import Admitted, TokenCache
from relink.api_tokens.values import TokenValue
from relink.auth.access import UserScope, ensure_staff_or_admin, is_staff_or_admin, scope_of
from relink.auth.csrf import csrf_token
from relink.auth.session_cache import SessionCache, SignedIn, copy_into
from relink.auth.throttle import LoginThrottle
from relink.db import Database
from relink.errors import NotFound, RelinkError
from relink.grants.oauth_flow import SESSION_NONCE_KEY, new_session_nonce
from relink.models import Role, User
from relink.worker.context import JobContext

# The cookie's key for the session token; the user is found through the ``user_session`` row.
SESSION_ID_KEY = "sid"
# Where a client login goes from a page that is about the agency's own work (incidents,
# connecting, one data source's failures): its own read-only view of the data sources.
CLIENT_HOME = "/data-sources"


class NotSignedIn(RelinkError):
    status_code = 401

    def __init__(self) -> None:
        super().__init__("sign in first")


class AdminOnly(RelinkError):
    status_code = 403

    def __init__(self) -> None:
        super().__init__("only an admin can do this")


class PageRedirect(Exception):
    """A page answers with a 303 to ``location`` instead of rendering (handled once)."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


class LoginRequired(PageRedirect):
    """Nobody is signed in: to the sign-in page, and back to this address afterwards."""

    def __init__(self, request: Request) -> None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        super().__init__(f"/login?next={quote(target)}")


# --- The request's unit of work, clock and jobs ------------------------------------------
# Dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` in its thread
# pool, a hand-off that cost a quarter of the bell's poll under load.


async def get_db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the endpoint returns, rolled back on error."""
    database: Database = request.app.state.database
    async with database.transaction() as session:
        yield session


# scope="function": the commit happens when the endpoint returns, BEFORE the response is sent,
# so a client never sees success for a write that then fails to commit.
DbSession = Annotated[AsyncSession, Depends(get_db_session, scope="function")]


async def get_jobs(request: Request) -> JobContext:
    """The app's job context: catalog, secret box, settings, HTTP and the clock."""
    ctx: JobContext = request.app.state.jobs
    return ctx


Jobs = Annotated[JobContext, Depends(get_jobs)]


async def get_now(request: Request) -> datetime:
    """The request's time, read once from the app's clock (tests move it; nothing bypasses it)."""
    # The job context is read here, not asked of ``Jobs``: every signed-in request needs the
    # time, and each dependency of a dependency is solved again wherever it is named.
    jobs: JobContext = request.app.state.jobs
    return jobs.now()


Now = Annotated[datetime, Depends(get_now)]


async def get_throttle(request: Request) -> LoginThrottle:
    """The sign-in throttle shared by the API and the login page."""
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


Throttle = Annotated[LoginThrottle, Depends(get_throttle)]


async def client_address(request: Request) -> str:
    """The peer's address: the proxy's forwarded one only when RELINK_TRUSTED_PROXIES says so.

    The server (uvicorn) rewrites the peer from X-Forwarded-For for trusted proxies alone; no
    header is read here, so a forged one counts for nothing.
    """
    return request.client.host if request.client else "unknown"


ClientAddress = Annotated[str, Depends(client_address)]


def session_nonce_of(request: Request) -> str | None:
    """This browser session's nonce if it has one (a callback must not invent one)."""
    nonce = request.session.get(SESSION_NONCE_KEY)
    return nonce if isinstance(nonce, str) else None


async def session_nonce(request: Request) -> str:
    """This browser session's nonce; the state of every sign-in it starts is bound to it."""
    nonce = session_nonce_of(request)
    if nonce is None:
        nonce = new_session_nonce()
        request.session[SESSION_NONCE_KEY] = nonce
    return nonce


SessionNonce = Annotated[str, Depends(session_nonce)]


# --- The browser's cookie ------------------------------------------------------------------


def session_token(request: Request) -> str | None:
    """The session token this browser's cookie carries, if any."""
    token = request.session.get(SESSION_ID_KEY)
    return token if isinstance(token, str) else None


def remember_sign_in(request: Request, token: str) -> None:
    """A new cookie on sign-in: a session id planted before sign-in is worth nothing after."""
    request.session.clear()
    request.session[SESSION_ID_KEY] = token
    csrf_token(request)


def forget_sign_in(request: Request) -> None:
    """This browser is signed out: its cookie carries nothing any more."""
    request.session.clear()


# --- Who is asking -------------------------------------------------------------------------


# The two ways in, as the OpenAPI document declares them on every operation that needs a user.
# The bearer's value is read here; the cookie's scheme is only declared (``session_token`` reads
# it through the session middleware).
BearerValue = Annotated[TokenValue | None, Depends(bearer_token)]
SessionCookie = Annotated[str | None, Depends(session_cookie)]


async def optional_user(
    request: Request, session: DbSession, now: Now, bearer: BearerValue, _cookie: SessionCookie
) -> User | None:
    """The user of the request's API token, or of its live session, or None; an ended
    session's cookie is cleared."""
    if bearer is not None:
        return await _bearer_user(request, session, bearer, now)
    token = session_token(request)
    if token is None:
        return None
    cache: SessionCache = request.app.state.session_cache
    return _signed_in_user(request, await cache.resolve(session, token=token, now=now))


async def _bearer_user(
    request: Request, session: AsyncSession, value: TokenValue, now: datetime
) -> User:
    """The user an API token acts as (remembered by the token cache until anything that could
    stop the token is announced); a refusal is raised, never None.

    Its "last used" is set on the row when due, and written with the request's unit of work.
    """
    admitted = await _admitted(request, session, value, now)
    if admitted.use is not None and admitted.row is not None:
        api_tokens.note_use(admitted.row, admitted.use)
    return admitted.user


async def _admitted(
    request: Request, session: AsyncSession, value: TokenValue, now: datetime
) -> Admitted:
    """The token of ``value`` allowed to make this request (a read-only one only reads)."""
    cache: TokenCache = request.app.state.token_cache
    address = await client_address(request)
    admitted = await cache.admit(session, value=value, address=address, now=now)
    ensure_method_allowed(admitted.scope, request.method)
    # Endpoints that need to know how the request came in (never a session of its own).
    request.state.api_token_id = admitted.token_id
    return admitted


def _signed_in_user(request: Request, signed_in: SignedIn | None) -> User | None:
    """The user of a live session; an ended session's cookie is cleared."""
    if signed_in is None:
        request.session.clear()
        return None
    # Endpoints that act on "this session" (sign out, the list of sessions) read its id here.
    request.state.user_session_id = signed_in.session_id
    return signed_in.user


OptionalUser = Annotated[User | None, Depends(optional_user)]


async def current_user(user: OptionalUser) -> User:
    """The API's signed-in user (or token's); a script without either gets a 401."""
    if user is None:
        raise NotSignedIn()
    return user


CurrentUser = Annotated[User, Depends(current_user)]


async def admin_user(user: CurrentUser) -> User:
    """The API's admin; anyone else signed in gets a 403."""
    if user.role is not Role.ADMIN:
        raise AdminOnly()
    return user


AdminUser = Annotated[User, Depends(admin_user)]


def staff_only(what: str) -> Callable[[User], Awaitable[User]]:
    """A dependency for the agency's own business (grants, incidents): staff and admins.

    For a client login ``what`` does not exist (404, not 403: existence must not leak).
    """

    async def staff_user(user: CurrentUser) -> User:
        ensure_staff_or_admin(user, what=what)
        return user

    return staff_user


async def current_scope(user: CurrentUser) -> UserScope:
    """What the API's signed-in user may see: the one access rule of ``auth/access.py``."""
    return scope_of(user)


Scope = Annotated[UserScope, Depends(current_scope)]


async def page_user(request: Request, user: OptionalUser) -> User:
    """The pages' signed-in user; a visitor is sent to sign in and brought back."""
    if user is None:
        raise LoginRequired(request)
    return user


PageUser = Annotated[User, Depends(page_user)]


async def staff_page_user(user: PageUser) -> User:
    """Staff and admins; a client login is sent to its own read-only view instead."""
    if not is_staff_or_admin(user):
        raise PageRedirect(CLIENT_HOME)
    return user


StaffPageUser = Annotated[User, Depends(staff_page_user)]


async def admin_page_user(user: PageUser) -> User:
    """Admins; for anyone else the page does not exist (the styled 404: no leak, no tease)."""
    if user.role is not Role.ADMIN:
        raise NotFound("page")
    return user


AdminPageUser = Annotated[User, Depends(admin_page_user)]


async def page_scope(user: PageUser) -> UserScope:
    """What the pages' signed-in user may see."""
    return scope_of(user)


PageScope = Annotated[UserScope, Depends(page_scope)]


# --- Requests that only read -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reading:
    """What a request that only reads needs, solved as one dependency: the signed-in user,
    the reading session (``Database.reading``), the job context and the request's time.

    FastAPI solves each dependency of a signature, and each of theirs, on its own: the Data
    Sources list, asked for by every page and script of every user, named five, and solving
    them cost about 60 µs of its 1.1 ms (measured in-process).
    """

    user: User
    session: AsyncSession
    jobs: JobContext
    now: datetime


@asynccontextmanager
async def _reading(request: Request, bearer: TokenValue | None) -> AsyncIterator[Reading | None]:
    """The request's ``Reading``, or None when nobody is signed in (an ended session's cookie
    is cleared). The user joins the reading session; only an answer the session cache does
    not hold opens a transaction, to check the session in the database and keep its "last
    seen" fresh: a unit of work and its commit less per request. An API token is read in the
    reading session (unless the token cache holds it), and its "last used", when due, written
    in a short transaction."""
    state = request.app.state
    database: Database = state.database
    jobs: JobContext = state.jobs
    now = jobs.now()
    async with database.reading() as session:
        if bearer is not None:
            admitted = await _admitted(request, session, bearer, now)
            if admitted.use is not None:
                async with database.transaction() as writing:
                    await api_tokens.record_use(
                        writing, token_id=admitted.token_id, use=admitted.use
                    )
            yield Reading(admitted.user, session, jobs, now)
            return
        token = session_token(request)
        user = None
        if token is not None:
            cache: SessionCache = state.session_cache
            signed_in = cache.recall(session, token=token, now=now)
            if signed_in is None:
                async with database.transaction() as writing:
                    checked_in = await cache.resolve(writing, token=token, now=now)
                signed_in = copy_into(session, checked_in) if checked_in is not None else None
            user = _signed_in_user(request, signed_in)
        yield Reading(user, session, jobs, now) if user is not None else None


async def api_reading(
    request: Request, bearer: BearerValue, _cookie: SessionCookie
) -> AsyncIterator[Reading]:
    """The API's ``Reading``; a script without a session or token gets a 401."""
    async with _reading(request, bearer) as reading:
        if reading is None:
            raise NotSignedIn()
        yield reading


# scope="function": the reading session is closed when the endpoint returns (see DbSession).
ApiReading = Annotated[Reading, Depends(api_reading, scope="function")]


async def page_reading(request: Request, bearer: BearerValue) -> AsyncIterator[Reading]:
    """The pages' ``Reading``; a visitor is sent to sign in and brought back."""
    async with _reading(request, bearer) as reading:
        if reading is None:
            raise LoginRequired(request)
        yield reading


PageReading = Annotated[Reading, Depends(page_reading, scope="function")]
