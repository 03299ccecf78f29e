"""Settings: my e-mail preference, and the tabs every settings page shares.

The admins' tabs live beside it: webhooks (``settings_webhooks``), users (``settings_users``),
the e-mail outbox (``settings_outbox``) and provider apps (``provider_settings_pages``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from relink.dependencies import DbSession, PageUser
from relink.models import Role, User
from relink.users import preferences
from relink.web.templating import templates

router = APIRouter(prefix="/settings", include_in_schema=False)

EMAIL_CHOICES = (
    (
        "immediately",
        "Immediately",
        "One e-mail as soon as a data source needs attention. Several problems found together "
        "arrive in one message.",
    ),
    (
        "daily_digest",
        "Daily digest",
        "One e-mail a day listing everything that needed attention in the last 24 hours.",
    ),
    (
        "off",
        "Off",
        "No e-mail. You still see every notification under the bell and in Notifications.",
    ),
)


def render_settings(
    request: Request, name: str, user: User, status_code: int = 200, **context: Any
) -> Response:
    """A settings page: its tabs show the admins' tabs to admins only."""
    context = {"user": user, "is_admin": user.role is Role.ADMIN, **context}
    return templates.TemplateResponse(request, f"settings/{name}", context, status_code=status_code)


@router.get("")
async def settings_home() -> RedirectResponse:
    return RedirectResponse("/settings/notifications", status_code=303)


@router.get("/notifications", response_class=HTMLResponse)
async def notifications_page(request: Request, user: PageUser, saved: bool = False) -> Response:
    return render_settings(request, "notifications.html", user, choices=EMAIL_CHOICES, saved=saved)


@router.post("/notifications")
async def save_notifications(
    session: DbSession, user: PageUser, email_preference: Annotated[str, Form()]
) -> Response:
    await preferences.set_email_preference(session, user=user, preference=email_preference)
    return RedirectResponse("/settings/notifications?saved=1", status_code=303)
