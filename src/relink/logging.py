"""Structured logs: dotted event names with fields; secrets never reach a log line."""

from __future__ import annotations

import logging
import sys

import structlog

# Field names whose values are always replaced, wherever a caller puts them by mistake.
REDACTED_FIELDS = frozenset(
    {
        "access_token",
        "refresh_token",
        "api_key",
        "password",
        "client_secret",
        "code",
        "code_verifier",
        "credentials",
        "secret",
        "authorization",
    }
)


def _redact(
    _logger: object, _name: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    for key in event_dict.keys() & REDACTED_FIELDS:
        event_dict[key] = "[redacted]"
    return event_dict


def configure_logging(*, json: bool = False, level: int = logging.INFO) -> None:
    """Route structlog and the standard library through one renderer."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # Resolve stderr per logger, not once: test runners swap the stream between runs.
        logger_factory=lambda *_args: structlog.PrintLogger(sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
