"""This process's HTTP figures: requests by route template and status, and their duration.

Labels use the route's template (``/data-sources/{data_source_id}``), never the raw path: a
path may carry a token (``/r/{token}``) and raw paths would make one series per id.
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED_ROUTE = "unmatched"

HTTP_REQUESTS = Counter(
    "relink_http_requests",
    "HTTP requests answered by this process, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "relink_http_request_duration_seconds",
    "Time from request to the start of the answer, by route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def route_template(scope: Scope) -> str:
    """The template of the route that answered, once routing has run."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class HttpMetricsMiddleware:
    """Counts and times every HTTP request (streams are timed to their first byte)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                HTTP_DURATION.labels(scope["method"], route_template(scope)).observe(
                    time.perf_counter() - started
                )
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            HTTP_REQUESTS.labels(scope["method"], route_template(scope), str(status)).inc()
