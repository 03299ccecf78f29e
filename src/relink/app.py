"""The ASGI application: wiring only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, select

from relink.config import Settings, get_settings
from relink.db import Database, default_database
from relink.errors import RelinkError
from relink.models import Agency, DataSource
from relink.worker.context import build_context
from relink.worker.embedded import EmbeddedDispatcher
from relink.worker.enqueue import set_dispatcher
from relink.worker.scheduler import EmbeddedScheduler


def create_app(*, database: Database | None = None, settings: Settings | None = None) -> FastAPI:
    """The Relink web app over ``database`` (the configured one by default)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        config = settings or get_settings()
        db = database or default_database()
        ctx = build_context(settings=config, database=db)
        app.state.database = db
        app.state.jobs = ctx
        dispatcher = EmbeddedDispatcher(ctx)
        set_dispatcher(dispatcher)
        scheduler = EmbeddedScheduler(ctx, interval=config.sweep_interval_seconds)
        if config.embedded_worker:
            scheduler.start()
        app.state.scheduler = scheduler
        try:
            yield
        finally:
            await scheduler.stop()
            await dispatcher.drain()
            set_dispatcher(None)
            await ctx.close()

    app = FastAPI(title="Relink", version="0.1.0", lifespan=lifespan)

    @app.exception_handler(RelinkError)
    async def _relink_error(_request: Request, exc: RelinkError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status_code)

    @app.get("/healthz", tags=["health"])
    async def healthz(request: Request) -> dict[str, object]:
        """Liveness plus the size of what the database holds."""
        db: Database = request.app.state.database
        async with db.sessions() as session:
            agencies = await session.scalar(select(func.count()).select_from(Agency))
            sources = await session.scalar(select(func.count()).select_from(DataSource))
        return {
            "status": "ok",
            "database": db.engine.dialect.name,
            "agencies": agencies,
            "data_sources": sources,
        }

    return app
