"""Where providers push their revocation signals. No session, no CSRF: the signature is the
authentication, and nothing here answers with more than "accepted" or why it was refused."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from relink.errors import RelinkError
from relink.signals import meta, reported, risc
from relink.signals.jwks import jwks_cache
from relink.signals.receipts import first_sight
from relink.signals.refusal import SignalRefused, refuse
from relink.signals.subjects import queue_checks
from relink.worker.context import JobContext

router = APIRouter(prefix="/signals", tags=["signals"])

SET_MEDIA_TYPE = "application/secevent+jwt"


class SignalsOff(RelinkError):
    status_code = 404

    def __init__(self) -> None:
        super().__init__("signals are switched off (RELINK_SIGNALS_ENABLED)")


def _context(request: Request) -> JobContext:
    ctx: JobContext = request.app.state.jobs
    if not ctx.settings.signals_enabled:
        raise SignalsOff()
    return ctx


def _refused(exc: SignalRefused) -> JSONResponse:
    # RFC 8935 section 2.3: a JSON error object with "err" and "description".
    return JSONResponse({"err": exc.err, "description": exc.description}, status_code=400)


@router.post("/risc", status_code=202, response_model=None)
async def receive_set(request: Request) -> Response:
    """RFC 8935 push delivery: one SET per request, 202 once verified and acted on."""
    ctx = _context(request)
    if request.headers.get("content-type", "").split(";")[0].strip() != SET_MEDIA_TYPE:
        return _refused(refuse(risc.KIND, "invalid_request", f"expected {SET_MEDIA_TYPE}"))
    body = await request.body()
    try:
        verified = await risc.verify_set(
            body,
            catalog=ctx.catalog,
            settings=ctx.settings,
            http=ctx.http,
            cache=jwks_cache,
            now=ctx.now(),
        )
        async with ctx.database.transaction() as session:
            if not await first_sight(
                session, issuer=verified.issuer, jti=verified.jti, kind=risc.KIND, now=ctx.now()
            ):
                raise refuse(risc.KIND, "invalid_request", "this SET was received before")
            await queue_checks(
                session,
                kind=risc.KIND,
                providers=verified.providers,
                subjects=verified.subjects,
                evidence_at=verified.issued_at,
                reported=reported.from_set(body, verified),
            )
    except SignalRefused as exc:
        return _refused(exc)
    return Response(status_code=202)


@router.post("/meta/{provider}/deauthorize", response_model=None)
async def receive_deauthorize(provider: str, request: Request) -> Response:
    """Meta's Deauthorize Callback for our app at ``provider`` (form field signed_request)."""
    ctx = _context(request)
    try:
        spec = ctx.catalog.specs.get(provider)
        client = ctx.settings.oauth_client(provider)
        if spec is None or spec.signal(meta.KIND) is None or client is None:
            raise refuse(meta.KIND, "invalid_audience", "no app at this provider takes it")
        form = await request.form()
        signed_request = form.get("signed_request")
        verified = meta.verify_signed_request(
            signed_request if isinstance(signed_request, str) else "",
            secret=client.client_secret.get_secret_value(),
            now=ctx.now(),
        )
        async with ctx.database.transaction() as session:
            issuer = f"{meta.KIND}:{provider}"
            if not await first_sight(
                session, issuer=issuer, jti=verified.digest, kind=meta.KIND, now=ctx.now()
            ):
                raise refuse(meta.KIND, "invalid_request", "this callback was received before")
            await queue_checks(
                session,
                kind=meta.KIND,
                providers=[provider],
                subjects=[verified.user_id],
                evidence_at=verified.issued_at,
                reported=reported.from_deauthorize(verified.user_id),
            )
    except SignalRefused as exc:
        return _refused(exc)
    return JSONResponse({"ok": True})
