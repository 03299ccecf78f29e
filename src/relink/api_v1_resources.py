"""The ``/api/v1`` routers of the resources added for the public API, in the order app.py
includes them after the ones that existed before.

Wiring beside app.py, not in relink.web: a page module never imports an endpoints module."""

from __future__ import annotations

from fastapi import APIRouter

from relink.clients.endpoints import router as clients
from relink.data_sources.run_endpoints import router as sync_runs
from relink.events.endpoints import router as events
from relink.grants.list_endpoints import router as grants
from relink.importers.endpoints import router as importers
from relink.incidents.endpoints import router as incidents
from relink.notifications.webhook_endpoints import router as webhooks
from relink.users.endpoints import router as users

ROUTERS: tuple[APIRouter, ...] = (
    incidents,
    events,
    sync_runs,
    grants,
    clients,
    users,
    webhooks,
    importers,
)
