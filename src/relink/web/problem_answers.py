"""The answers of ``/api/v1`` when something fails: RFC 9457 problem details, one shape for
every error class (``kit/problems.Problem``), with its stable ``code``.

web/error_pages.py hands every error of a ``/api/v1`` request here: Relink's own errors (their
class's ``code``), the framework's (no such route, wrong method), a request that fails
validation (422, each field and what to send instead) and, through ``ProblemMiddleware``,
anything unexpected (500, naming nothing of the code or the data).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from relink.errors import RelinkError, snake_case
from relink.kit.problems import PROBLEM_MEDIA_TYPE, FieldProblem, Problem, problem_title
from relink.web.nul_characters import MESSAGE as NUL_MESSAGE

V1_PREFIX = "/api/v1"
# Where FastAPI says a bad value came from: the field's name is the rest of its location.
LOCATIONS = frozenset({"path", "query", "body", "header", "cookie"})
# The framework's errors, by status: a code and a sentence saying what to do.
HTTP_CODES = {400: "unreadable_body", 404: "no_such_route", 405: "method_not_allowed"}
NO_ROUTE = "There is no API operation at this path: /openapi.json lists every one."
CRASH_CODE = "internal_error"
# FastAPI's words for a body it could not decode at all (bytes that are not UTF-8, say).
BODY_NOT_PARSED = "There was an error parsing the body"


class ProblemResponse(JSONResponse):
    """JSON with the problem media type."""

    media_type = PROBLEM_MEDIA_TYPE


def is_v1_path(path: str) -> bool:
    """A path of the versioned API (its root included)."""
    return path == V1_PREFIX or path.startswith(V1_PREFIX + "/")


def is_v1(request: Request) -> bool:
    """Whether this request is answered as the versioned API answers."""
    return is_v1_path(request.url.path)


def problem_body(
    *,
    status: int,
    code: str,
    detail: str,
    instance: str,
    errors: Sequence[FieldProblem] | None = None,
) -> dict[str, Any]:
    """A problem's JSON fields; the absent optional ones left out."""
    problem = Problem(
        title=problem_title(status),
        status=status,
        detail=_sentence(detail),
        code=code,
        instance=instance,
        errors=list(errors) if errors is not None else None,
    )
    return problem.model_dump(exclude_none=True)


def problem(
    request: Request,
    *,
    status: int,
    code: str,
    detail: str,
    errors: Sequence[FieldProblem] | None = None,
    headers: Mapping[str, str] | None = None,
) -> ProblemResponse:
    """The problem answer of ``request``."""
    body = problem_body(
        status=status, code=code, detail=detail, instance=request.url.path, errors=errors
    )
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))


def relink_problem(request: Request, exc: RelinkError) -> ProblemResponse:
    """Relink's own errors: their message, their class's code, their headers."""
    return problem(
        request,
        status=exc.status_code,
        code=exc.code,
        detail=exc.message,
        headers=exc.headers,
    )


def http_problem(request: Request, exc: HTTPException) -> ProblemResponse:
    """The framework's errors: no route at this path, a method the path does not answer."""
    status = exc.status_code
    phrase = problem_title(status)
    detail = str(exc.detail) if exc.detail and exc.detail != phrase else ""
    if status == 400 and detail == BODY_NOT_PARSED:
        detail = "The body could not be read: send JSON, encoded as UTF-8."
    if status == 404 and not detail:
        detail = NO_ROUTE
    elif status == 405 and not detail:
        allowed = (exc.headers or {}).get("allow", (exc.headers or {}).get("Allow", ""))
        detail = f"This path does not answer {request.method}; it answers {allowed}."
    code = HTTP_CODES.get(status) or snake_case(phrase.replace(" ", ""))
    return problem(request, status=status, code=code, detail=detail or phrase, headers=exc.headers)


def validation_problem(request: Request, errors: Sequence[Any]) -> ProblemResponse:
    """A request that failed validation: each field, and what to send instead."""
    fields = [_field_problem(error) for error in errors]
    names = ", ".join(dict.fromkeys(f.field for f in fields))
    return problem(
        request,
        status=422,
        code="invalid_request",
        detail=f"Not valid: {names}. Fix each as its error says and send the request again.",
        errors=fields,
    )


def _field_problem(error: Any) -> FieldProblem:
    location = [str(part) for part in error.get("loc", ())]
    kind = error.get("type", "")
    if location and location[0] in LOCATIONS:
        where, location = location[0], location[1:]
    else:
        where = "body"
    if kind == "json_invalid":
        # Its location is a character offset, not a field.
        reason = error.get("ctx", {}).get("error", "")
        return FieldProblem(
            field="body", message=_sentence(f"The body is not valid JSON ({reason})")
        )
    field = ".".join(location) or where
    if kind == "missing":
        message = f"Required: send {field}" if location else "Required: send a JSON body"
    else:
        message = str(error.get("msg", "not valid"))
    return FieldProblem(field=field, message=_sentence(message))


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


# --- Anything unexpected, and answers made below the handlers --------------------------------

_CRASH_DETAIL = (
    "Something went wrong on Relink's side; nothing you sent caused it. It has been logged: "
    "quote the X-Request-ID header of this answer when you report it."
)
# A middleware's own refusal of text holding NUL (web/nul_characters.py), by its words.
_NUL_REFUSAL = NUL_MESSAGE.split(":", 1)[0]


class ProblemMiddleware:
    """Every error answer of ``/api/v1`` is a problem, even those no handler made.

    - A request that raised what no handler knows is answered as a 500 problem. Nothing of the
      exception reaches the answer (its text may hold a statement, a host or a secret); it is
      raised on, so the server logs its traceback with the request id as for any crash.
    - An error a middleware below answered as ``{"detail": ...}`` JSON (the refusal of NUL
      characters) is given the problem shape, its status and words kept.

    Placed inside the request id and security headers, so those still reach every answer.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_v1_path(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        started = False
        held: Message | None = None
        chunks: list[bytes] = []

        async def watch(message: Message) -> None:
            nonlocal started, held
            if message["type"] == "http.response.start":
                started = True
                if message["status"] >= 400 and _is_plain_json(message):
                    held = message
                    return
            elif message["type"] == "http.response.body" and held is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                await _reshaped(scope, held, b"".join(chunks))(scope, receive, send)
                return
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            if not started:
                body = problem_body(
                    status=500, code=CRASH_CODE, detail=_CRASH_DETAIL, instance=scope["path"]
                )
                await ProblemResponse(body, status_code=500)(scope, receive, send)
            raise


def _is_plain_json(start: Message) -> bool:
    for name, value in start.get("headers", ()):
        if name.lower() == b"content-type":
            return bytes(value).split(b";", 1)[0].strip().lower() == b"application/json"
    return False


def _reshaped(scope: Scope, start: Message, body: bytes) -> ProblemResponse:
    status = int(start["status"])
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        detail = None
    text = detail if isinstance(detail, str) else problem_title(status)
    code = (
        "nul_character"
        if text.startswith(_NUL_REFUSAL)
        else snake_case(problem_title(status).replace(" ", ""))
    )
    kept = {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in start.get("headers", ())
        if name.lower() not in (b"content-type", b"content-length")
    }
    answer = problem_body(status=status, code=code, detail=text, instance=scope["path"])
    return ProblemResponse(answer, status_code=status, headers=kept)
