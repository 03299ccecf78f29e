"""Structured logs: dotted event names with fields; secrets never reach a log line.

One pipeline for every line a process writes: structlog's own events and everything logged
through the standard library (uvicorn's access and error logs, Alembic, Celery, httpx) pass the
same processors, so with ``json=True`` every line is one JSON object carrying the request id
bound for the request, and every string in it (messages, URLs, tracebacks) is redacted the same
way before it is written.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any, TextIO

import structlog

# Field names whose values are always replaced, wherever a caller puts them by mistake.
REDACTED_FIELDS = frozenset(
    {
        "access_token",
        "refresh_token",
        "id_token",
        "api_key",
        "password",
        "client_secret",
        "code",
        "code_verifier",
        "credentials",
        "secret",
        "authorization",
        "signed_request",
    }
)
REDACTED = "[redacted]"
# Query parameters whose values are secrets: an OAuth callback's code and state, tokens and
# signatures that providers and our own links put in URLs.
SECRET_QUERY_KEYS = (
    "code",
    "state",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "code_verifier",
    "password",
    "api_key",
    "key",
    "secret",
    "signature",
    "sig",
    "signed_request",
)
# Routes whose path segment after the prefix is a secret (a client's reconnect link,
# ``/r/{token}``); tests/ops checks every route with a token-like path parameter is listed.
TOKEN_PATH_PREFIXES = ("/r/",)

_SECRET_QUERY = re.compile(
    r"(?P<key>[?&;](?:" + "|".join(SECRET_QUERY_KEYS) + r")=)[^&;#\s\"'<>]*",
    re.IGNORECASE,
)
_TOKEN_PATH = re.compile(
    r"(?P<prefix>" + "|".join(re.escape(p) for p in TOKEN_PATH_PREFIXES) + r")[^/?#\s\"'<>]+"
)


def redact_text(text: str) -> str:
    """``text`` with secret query values and token path segments replaced."""
    if "=" in text:
        text = _SECRET_QUERY.sub(rf"\g<key>{REDACTED}", text)
    if "/" in text:
        text = _TOKEN_PATH.sub(rf"\g<prefix>{REDACTED}", text)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v) for v in value]
    return value


def _redact(
    _logger: object, _name: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """Secret fields masked by name; every other string scrubbed of secret URL parts."""
    for key, value in event_dict.items():
        if key.startswith("_"):
            continue
        event_dict[key] = REDACTED if key in REDACTED_FIELDS else _redact_value(value)
    return event_dict


def _access_fields(
    _logger: object, _name: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """Uvicorn's access line as fields (method, path, status, client), not only a sentence."""
    args = event_dict.pop("positional_args", None)
    record = event_dict.get("_record")
    if record is None or record.name != "uvicorn.access":
        return event_dict
    if isinstance(args, tuple) and len(args) == 5:
        client, method, path, http_version, status = args
        event_dict.update(
            event="http.access",
            client=client,
            method=method,
            path=path,
            http_version=http_version,
            status=status,
        )
    return event_dict


def _logger_name(
    _logger: object, _name: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    record = event_dict.get("_record")
    if record is not None and not event_dict.get("_from_structlog", False):
        event_dict.setdefault("logger", record.name)
    return event_dict


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to the current ``sys.stderr``: test runners swap the stream between runs."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        """The stream is always the current stderr; whatever is assigned is ignored."""


def _exception_processor(json: bool) -> structlog.types.Processor:
    if json:
        # Structured frames, never the frames' local variables (they may hold tokens).
        transformer = structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        return structlog.processors.ExceptionRenderer(transformer)
    return structlog.processors.format_exc_info


def configure_logging(*, json: bool = False, level: int = logging.INFO) -> None:
    """Route structlog and the standard library through one renderer and one redaction."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # Both chains end the same way: the traceback made a field, then every string redacted.
    finish = [_exception_processor(json), _redact]
    structlog.configure(
        processors=[*shared, *finish, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # Resolve stderr per logger, not once: test runners swap the stream between runs.
        logger_factory=lambda *_args: structlog.PrintLogger(sys.stderr),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, _logger_name, _access_fields],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *finish, renderer],
        pass_foreign_args=True,
    )
    handler = _StderrHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Servers and libraries that bring their own handlers write through the root one instead.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "alembic", "celery"):
        named = logging.getLogger(name)
        for old in list(named.handlers):
            named.removeHandler(old)
        # Whatever an earlier server or dictConfig set (uvicorn's access_log=False, its level)
        # is undone: the root's level and handler decide.
        named.propagate = True
        named.disabled = False
        named.setLevel(logging.NOTSET)


def keep_relink_logging(**_signal_kwargs: object) -> None:
    """A receiver for Celery's ``setup_logging`` signal, so Celery leaves logging to us.

    With any receiver connected Celery configures no handler of its own, and the ``relink``
    command's :func:`configure_logging` (JSON when asked, redacted) writes the worker's and the
    scheduler's lines too: ``celery.signals.setup_logging.connect(keep_relink_logging)``.
    """
