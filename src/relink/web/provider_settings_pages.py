"""Settings, Provider apps: Relink's own app registration at each OAuth provider (admins).

Where the operations alert "Check app settings" leads: which providers have a client id
configured, which redirect URI to register, and what to change. Never a client secret.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from relink.config import Settings
from relink.dependencies import AdminPageUser, DbSession, Jobs
from relink.incidents.service import open_incident, provider_key
from relink.models import Incident
from relink.providers.catalog import Catalog
from relink.providers.taxonomy import AuthKind, ErrorClass
from relink.web.templating import templates

router = APIRouter(prefix="/settings", include_in_schema=False)

# The client id is public (it travels in every authorization URL), but a long one is
# shortened so the table stays readable; the secret is never shown, only whether it is set.
CLIENT_ID_SHOWN = 24


@dataclass(frozen=True)
class AppRegistration:
    """What Relink knows of its own app at one OAuth provider."""

    key: str
    name: str
    client_id: str | None
    secret_set: bool
    built_in: bool
    in_testing: bool
    docs_url: str | None
    alert: Incident | None = None

    @property
    def configured(self) -> bool:
        return self.client_id is not None and self.secret_set

    @property
    def client_id_shown(self) -> str:
        cid = self.client_id or ""
        return cid if len(cid) <= CLIENT_ID_SHOWN else f"{cid[:CLIENT_ID_SHOWN]}…"


def app_registrations(catalog: Catalog, settings: Settings) -> list[AppRegistration]:
    """Every OAuth provider of the catalog with our registration there, if any."""
    found = []
    for spec in catalog:
        if spec.auth is not AuthKind.OAUTH2:
            continue
        client = settings.oauth_client(spec.key)
        found.append(
            AppRegistration(
                key=spec.key,
                name=spec.display_name,
                client_id=client.client_id if client else None,
                secret_set=bool(client and client.client_secret.get_secret_value()),
                built_in=spec.key not in settings.oauth_clients and client is not None,
                in_testing=spec.key in settings.oauth_apps_in_testing,
                docs_url=str(spec.docs_url) if spec.docs_url else None,
            )
        )
    return found


@router.get("/providers", response_class=HTMLResponse)
async def providers_page(
    request: Request, session: DbSession, user: AdminPageUser, jobs: Jobs
) -> Response:
    registrations = []
    for app in app_registrations(jobs.catalog, jobs.settings):
        key = provider_key(app.key, ErrorClass.APP_MISCONFIGURED)
        alert = await open_incident(session, agency_id=user.agency_id, key=key)
        registrations.append(replace(app, alert=alert))
    context = {
        "user": user,
        "is_admin": True,
        "apps": registrations,
        "redirect_uri": jobs.settings.oauth_redirect_uri,
    }
    return templates.TemplateResponse(request, "settings/providers.html", context)
