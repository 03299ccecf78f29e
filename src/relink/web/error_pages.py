"""One rule for every error answer: problem details under ``/api/v1`` (web/problem_answers.py),
``{"detail": ...}`` JSON under the pages' ``/api``, the styled error page everywhere else."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.dependencies.utils import request_params_to_args
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from relink.dependencies import LoginRequired, PageRedirect
from relink.errors import RelinkError
from relink.web import problem_answers
from relink.web.templating import templates

API_PREFIX = "/api"
# What a person reads for the framework's own errors (no route, wrong method).
PAGE_MESSAGES = {
    404: "There is no page at this address. It may have moved, or the link was mistyped.",
    405: "This page cannot be opened that way. Go back and use its buttons.",
}
# Where FastAPI says a bad value came from; a person needs only the field's name.
LOCATIONS = ("path", "query", "body")
TITLES = {404: "Not found", 403: "Not allowed", 401: "Sign in first"}


def is_api(request: Request) -> bool:
    """Scripts call ``/api``; everything else is read by a person in a browser."""
    path = request.url.path
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def error_page(
    request: Request, *, status_code: int, message: str, title: str | None = None
) -> Response:
    """The styled error page, with the status code the error deserves."""
    context = {
        "user": None,
        "title": title or TITLES.get(status_code, "Something needs fixing"),
        "message": message[:1].upper() + message[1:],
    }
    return templates.TemplateResponse(request, "error.html", context, status_code=status_code)


async def relink_error(request: Request, exc: Exception) -> Response:
    """Relink's own errors carry the sentence a person reads."""
    assert isinstance(exc, RelinkError)
    if problem_answers.is_v1(request):
        return problem_answers.relink_problem(request, exc)
    if is_api(request):
        return JSONResponse(
            {"detail": exc.message}, status_code=exc.status_code, headers=exc.headers
        )
    response = error_page(
        request, status_code=exc.status_code, message=exc.message, title=exc.page_title
    )
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def page_redirect(request: Request, exc: Exception) -> Response:
    """A page sends the browser elsewhere: to sign in first, or to the view its user has.

    A malformed address is refused as such first (the styled 422), signed in or not: asking
    someone to sign in only to show them it was never a page helps nobody.
    """
    assert isinstance(exc, PageRedirect)
    if isinstance(exc, LoginRequired) and (errors := _address_errors(request)):
        return await validation_error(request, RequestValidationError(errors))
    return RedirectResponse(exc.location, status_code=303)


def _address_errors(request: Request) -> list[Any]:
    """What is wrong with this request's path and query, by its route's own declarations."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return []
    _, path_errors = request_params_to_args(route.dependant.path_params, request.path_params)
    _, query_errors = request_params_to_args(route.dependant.query_params, request.query_params)
    return [*path_errors, *query_errors]


async def http_error(request: Request, exc: Exception) -> Response:
    """Unknown pages and wrong methods: the framework's JSON for the API, a page otherwise."""
    assert isinstance(exc, HTTPException)
    if problem_answers.is_v1(request):
        return problem_answers.http_problem(request, exc)
    if is_api(request):
        return await http_exception_handler(request, exc)
    message = PAGE_MESSAGES.get(exc.status_code) or str(exc.detail)
    response = error_page(request, status_code=exc.status_code, message=message)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def validation_error(request: Request, exc: Exception) -> Response:
    """A malformed address or form: the API keeps its detailed 422, people get a sentence."""
    assert isinstance(exc, RequestValidationError)
    if problem_answers.is_v1(request):
        return problem_answers.validation_problem(request, exc.errors())
    if is_api(request):
        return await request_validation_exception_handler(request, exc)
    errors = exc.errors()
    where = ""
    if errors:
        field = [
            str(part) for part in errors[0].get("loc", ()) if part not in ("path", "query", "body")
        ]
        where = f" ({' '.join(field)}: {errors[0].get('msg', 'not valid')})" if field else ""
    message = f"Something in this address or form is not valid{where}."
    return error_page(request, status_code=422, message=message)
