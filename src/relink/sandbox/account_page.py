"""The account page where a sandbox user removes Relink's access, as on a provider's own site.

Removing access revokes every token family the identity gave our client and announces it to
the receivers registered with the sandbox (signal_push).
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

from relink.sandbox.consent import CLIENT_DISPLAY_NAME, TEMPLATES_DIR
from relink.sandbox.deps import Sandbox
from relink.sandbox.signal_push import push_revocations
from relink.sandbox.world import find_identity

router = APIRouter(prefix="/account")

_templates = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"])
)


def _page(
    *, email: str = "", message: str | None = None, error: str | None = None, status: int = 200
) -> HTMLResponse:
    html = _templates.get_template("connections.html").render(
        action_url="/account/connections",
        client_name=CLIENT_DISPLAY_NAME,
        email=email,
        message=message,
        error=error,
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


@router.get("/connections")
async def connections() -> HTMLResponse:
    return _page()


@router.post("/connections")
async def remove_access(request: Request, state: Sandbox) -> HTMLResponse:
    form = await request.form()
    email = str(form.get("email", ""))
    password = str(form.get("password", ""))
    identity = find_identity(state.world, email)
    if identity is None or not hmac.compare_digest(identity.password, password):
        return _page(email=email, error="Wrong e-mail or password.", status=401)
    families = [
        f.id
        for f in state.families.values()
        if f.subject == identity.subject and f.client_id == state.client.client_id
    ]
    for family_id in families:
        state.revoke_family(family_id, "access removed by the user")
    push_revocations(state, [identity])
    return _page(email=email, message=f"{CLIENT_DISPLAY_NAME} no longer has access.")
