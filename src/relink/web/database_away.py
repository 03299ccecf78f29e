"""The database going away is answered, not crashed on: 503 with its reason and Retry-After.

Every request reaches the database through SQLAlchemy's sessions and engines or through the
hand-written listing (kit/driver_reads.py, which raises as SQLAlchemy does); whatever it
raised while the database refused, dropped or could not lend a connection ends here, as JSON
under ``/api`` and the styled page elsewhere. Any other database error is a bug: it is
raised on and stays the 500 it was.
"""

from __future__ import annotations

import structlog
from fastapi import Request
from fastapi.responses import Response

from relink.db import database_unavailable
from relink.telemetry.http_metrics import route_template
from relink.web.error_pages import relink_error

log = structlog.get_logger(__name__)


async def database_away(request: Request, exc: Exception) -> Response:
    """The 503 of a database gone away; any other database error is raised on."""
    away = database_unavailable(exc)
    if away is None:
        raise exc
    # The error's own text names the host and the statement: the log keeps the driver's class.
    log.warning(
        "db.unavailable",
        reason=away.reason,
        error=type(getattr(exc, "orig", None) or exc).__name__,
        route=route_template(request.scope),
    )
    return await relink_error(request, away)
