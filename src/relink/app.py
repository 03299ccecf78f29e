"""The ASGI application: wiring only."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware

from relink import api_v1_resources
from relink.api_tokens.token_cache import TokenCache
from relink.auth import endpoints as auth_endpoints
from relink.auth.csrf import csrf_protect
from relink.auth.session_cache import SessionCache
from relink.auth.throttle import build_throttle
from relink.clients.summary import SummaryCache
from relink.config import EmbeddedWorker, Settings, get_settings
from relink.data_sources import endpoints as data_source_endpoints
from relink.db import DATABASE_ERRORS, Database, default_database
from relink.dependencies import PageRedirect
from relink.errors import RelinkError
from relink.grants import detached
from relink.grants import endpoints as grant_endpoints
from relink.grants.source_counts import GrantCountsCache
from relink.notifications import bell
from relink.notifications import endpoints as notification_endpoints
from relink.notifications.bell_cache import BellCache
from relink.notifications.live import Broker, LocalBroker, RedisBroker, set_broker
from relink.notifications.webhook_events import webhook_docs
from relink.signals import endpoints as signal_endpoints
from relink.signals.registration import register_with_sandbox
from relink.telemetry import endpoints as telemetry_endpoints
from relink.telemetry.collector import DomainCollector
from relink.telemetry.http_metrics import HttpMetricsMiddleware
from relink.telemetry.readiness import Check, database_check, redis_check, redis_client
from relink.telemetry.request_id import RequestIdMiddleware
from relink.web import (
    api_docs,
    clients_pages,
    connect_pages,
    data_source_detail,
    data_source_forms,
    data_sources_pages,
    database_away,
    error_pages,
    inbox_pages,
    pages,
    provider_settings_pages,
    reconnect_pages,
    settings_outbox,
    settings_pages,
    settings_service_tokens,
    settings_tokens,
    settings_users,
    settings_webhooks,
)
from relink.web.nul_characters import RefuseNulMiddleware
from relink.web.openapi_document import v1_openapi
from relink.web.problem_answers import ProblemMiddleware
from relink.web.security_headers import SecurityHeadersMiddleware
from relink.web.templating import STATIC_DIR
from relink.worker import endpoints as worker_endpoints
from relink.worker.context import JobContext, build_context
from relink.worker.embedded import EmbeddedDispatcher
from relink.worker.enqueue import Dispatcher, set_dispatcher
from relink.worker.scheduler import EmbeddedScheduler

# A signed-in session lasts two weeks of inactivity-free use before asking again.
SESSION_MAX_AGE_SECONDS = 14 * 24 * 3600


async def _live_broker(config: Settings, database: Database) -> Broker:
    """Redis pub/sub when configured (every process sees every event), else in-process; each
    renders the bells of every poked user of this process in one query."""
    broker: Broker
    render = functools.partial(bell.render_many, database)
    if config.redis_url:
        redis_broker = RedisBroker(config.redis_url, render)
        await redis_broker.start()
        broker = redis_broker
    else:
        broker = LocalBroker(render)
    set_broker(broker)
    return broker


@asynccontextmanager
async def _operations(app: FastAPI, config: Settings, db: Database) -> AsyncIterator[None]:
    """What /readyz checks and what /metrics reads, for the app's lifetime."""
    checks: dict[str, Check] = {"database": database_check(db)}
    redis = redis_client(config.redis_url) if config.redis_url else None
    if redis is not None:
        checks["redis"] = redis_check(redis)
    app.state.readiness_checks = checks
    app.state.metrics_token = config.metrics_token
    collector = DomainCollector(db)
    app.state.domain_collector = collector
    # Per app, not the process-wide registry: tests run several apps over several databases.
    app.state.domain_registry = CollectorRegistry(auto_describe=False)
    app.state.domain_registry.register(collector)
    try:
        yield
    finally:
        if redis is not None:
            await redis.aclose()


_heap_frozen = False


# Young collections before a full one is considered (Python's default is 10).
FULL_COLLECTION_EVERY = 100


def freeze_startup_heap() -> None:
    """Once per process: what start-up built (modules, mappers, templates, the catalog) lives
    as long as the process, so the collector stops walking it. Full collections then pause
    every request in flight for a few ms instead of 40-170 ms under load.

    They are also made ten times rarer. Python starts one when the objects promoted since the
    last exceed a quarter of the old generation; with the start-up heap frozen that generation
    is small (caches, statements compiled since), so the requests in flight at each young
    collection set one off every few thousand requests: a 5-7 ms pause of everything in
    flight, measured under the bench's load, where a page takes 5-9 ms. Memory did not grow.
    """
    global _heap_frozen
    if not _heap_frozen:
        gc.collect()
        gc.freeze()
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)
        _heap_frozen = True


def _dispatcher(config: Settings, ctx: JobContext) -> Dispatcher:
    """Celery in the scaled mode (unless this process is told to run jobs itself), else here.

    With the embedded worker off and no scaled mode there is nowhere else to send a job: it
    still runs in this process, only the scheduler is off (tests, a second process on SQLite).
    """
    if config.scaled and config.embedded_worker is not EmbeddedWorker.ON:
        from relink.worker.celery_app import create_celery
        from relink.worker.celery_dispatch import CeleryDispatcher

        return CeleryDispatcher(create_celery(config))
    return EmbeddedDispatcher(ctx)


def create_app(*, database: Database | None = None, settings: Settings | None = None) -> FastAPI:
    """The Relink web app over ``database`` (the configured one by default)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = database or default_database()
        ctx = build_context(settings=config, database=db)
        app.state.database = db
        app.state.jobs = ctx
        # Counts shared by every process: in the database, or Redis when configured.
        throttle = build_throttle(
            database=db, redis_url=config.redis_url, secret=config.session_key()
        )
        app.state.login_throttle = throttle
        dispatcher = _dispatcher(config, ctx)
        set_dispatcher(dispatcher)
        broker = await _live_broker(config, db)
        # The bell's poll answers from memory until the broker says the user changed.
        app.state.bell_cache = bell_cache = BellCache()
        broker.watch(bell_cache)
        # So does who a session is (every signed-in request asks).
        app.state.session_cache = session_cache = SessionCache()
        broker.watch(session_cache)
        # Which token a script's request carries, likewise (api_tokens/token_cache.py).
        app.state.token_cache = token_cache = TokenCache()
        broker.watch(token_cache)
        # Counts over the agency's data sources, kept until a status changes (kept_counts.py).
        app.state.data_source_summaries = SummaryCache(config.page_counts_cache_seconds)
        app.state.grant_counts = GrantCountsCache(config.page_counts_cache_seconds)
        scheduler = EmbeddedScheduler(ctx, interval=config.sweep_interval_seconds)
        if config.runs_embedded_worker:
            scheduler.start()
        app.state.scheduler = scheduler
        # The sandbox pushes its revocation signals to us once told where (in the background:
        # it may start after us).
        registering = asyncio.create_task(register_with_sandbox(ctx))
        freeze_startup_heap()
        try:
            async with _operations(app, config, db):
                yield
        finally:
            registering.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await registering
            await scheduler.stop()
            if isinstance(dispatcher, EmbeddedDispatcher):
                await dispatcher.drain()
            # A token call a page stopped waiting for may carry the only copy of a rotated
            # refresh token: let it land before the process goes.
            await detached.drain()
            set_dispatcher(None)
            set_broker(None)
            if isinstance(broker, RedisBroker):
                await broker.close()
            await throttle.close()
            await ctx.close()

    config = settings or get_settings()
    # /docs is ours (web/api_docs.py: Swagger UI from the package, no CDN); no ReDoc.
    app = FastAPI(title="Relink", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.add_middleware(
        SessionMiddleware,
        secret_key=config.session_key(),
        session_cookie="relink_session",
        same_site="lax",
        https_only=config.https,
        max_age=SESSION_MAX_AGE_SECONDS,
    )
    app.add_middleware(RefuseNulMiddleware)
    # Outside the NUL refusal, whose answer it reshapes; a crash under /api/v1 is a problem.
    app.add_middleware(ProblemMiddleware)
    app.add_middleware(HttpMetricsMiddleware)
    # Every line logged for a request carries its id; a crash's answer too.
    app.add_middleware(RequestIdMiddleware)
    # Added last, so it is outermost: every answer below it carries the headers.
    app.add_middleware(SecurityHeadersMiddleware, https=config.https)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    protected = [Depends(csrf_protect)]
    # Routing tries each router in turn, route by route (passing one costs about a twentieth
    # of all of /healthz), so the most asked come first: the Data Sources page, where
    # agencies live, then the pages' own API (every open page polls the bell's count), the
    # other pages, then /api/v1 for scripts. No two of these routers share a path: the order
    # changes only how soon a request is matched. Only /api/v1 is documented (openapi.json).
    for router in (
        data_sources_pages.router,
        data_source_endpoints.routes.legacy,
        notification_endpoints.routes.legacy,
        auth_endpoints.router,
        grant_endpoints.routes.legacy,
        worker_endpoints.routes.legacy,
        pages.router,
        reconnect_pages.router,
        data_source_forms.router,
        data_source_detail.router,
        clients_pages.router,
        inbox_pages.router,
        connect_pages.router,
        settings_pages.router,
        settings_tokens.router,
        settings_service_tokens.router,
        settings_webhooks.router,
        settings_users.router,
        settings_outbox.router,
        provider_settings_pages.router,
    ):
        app.include_router(router, dependencies=protected, include_in_schema=False)
    # The versioned API: the resources that were under /api, then those added for it.
    for router in (
        data_source_endpoints.routes.v1,
        notification_endpoints.routes.v1,
        grant_endpoints.routes.v1,
        worker_endpoints.routes.v1,
        *api_v1_resources.ROUTERS,
    ):
        app.include_router(router, dependencies=protected)
    # Documented only: what Relink POSTs to an agency's endpoints, one entry per event type.
    app.webhooks.include_router(webhook_docs)
    app.openapi = v1_openapi(app)  # type: ignore[method-assign]

    # Providers' signals authenticate by their signature: no session, no CSRF token.
    app.include_router(signal_endpoints.router)

    # A page's sign-in (and other redirects) handled here once, not in every handler.
    app.add_exception_handler(PageRedirect, error_pages.page_redirect)
    app.add_exception_handler(RelinkError, error_pages.relink_error)
    app.add_exception_handler(HTTPException, error_pages.http_error)
    app.add_exception_handler(RequestValidationError, error_pages.validation_error)
    # The database refusing or dropping connections is a 503 with its reason, not a crash.
    for database_error in DATABASE_ERRORS:
        app.add_exception_handler(database_error, database_away.database_away)

    # Probes and scrapers, and the API's reference: plain routes, neither pages nor the API.
    app.router.routes.extend(telemetry_endpoints.routes)
    app.router.routes.extend(api_docs.routes)

    return app
