"""``/healthz``, ``/readyz`` and ``/metrics``: plain routes, outside the pages and the API.

They answer probes and scrapers, not people: no session, no CSRF, nothing about tenants.
"""

from __future__ import annotations

import hmac
import ipaddress

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from relink.telemetry.collector import DomainCollector
from relink.telemetry.readiness import Check, run_checks


async def healthz(_request: Request) -> JSONResponse:
    """Liveness: the process answers. It touches nothing, so a sick database restarts nothing."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Readiness: 200 when every dependency answers, else 503 naming the one that did not."""
    checks: dict[str, Check] = request.app.state.readiness_checks
    results = await run_checks(checks)
    ready = all(result.ok for result in results)
    body = {
        "status": "ok" if ready else "unavailable",
        "checks": {r.name: "ok" if r.ok else f"failed: {r.reason}" for r in results},
    }
    return JSONResponse(body, status_code=200 if ready else 503)


def _may_scrape(request: Request) -> bool:
    """The configured bearer token, or, without one, a scraper on this machine.

    The figures carry no tenant's names, but how many grants fail where is nobody else's
    business; uvicorn has already replaced a trusted proxy's address by its client's.
    """
    token: SecretStr | None = request.app.state.metrics_token
    if token is not None:
        presented = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(presented.encode(), token.get_secret_value().encode())
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def metrics(request: Request) -> Response:
    """Prometheus text: this process's own metrics, then the domain figures of the rows."""
    if not _may_scrape(request):
        return JSONResponse(
            {
                "detail": "Scrape /metrics with the RELINK_METRICS_TOKEN bearer token, "
                "or from this machine when no token is set."
            },
            status_code=403,
        )
    collector: DomainCollector = request.app.state.domain_collector
    registry: CollectorRegistry = request.app.state.domain_registry
    await collector.refresh()
    body = generate_latest(REGISTRY) + generate_latest(registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
