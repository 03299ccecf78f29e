"""What a provider's answer means: its catalog rules first, then fallbacks shared by all.

The one rule that matters most (DESIGN.md, Error taxonomy): only a definitive 4xx answer can
disconnect anything. A 5xx, a timeout or a lost answer never does, not even at the token
endpoint, because a refresh whose answer was lost may already have rotated the token.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final, Literal

import structlog

from relink.providers.dead_grant import HINT_LIFETIME, invalid_grant
from relink.providers.error_rules import Between, ErrorRule
from relink.providers.json_path import resolve
from relink.providers.permissions import permission_hint
from relink.providers.redaction import redact
from relink.providers.spec import ProviderSpec
from relink.providers.spec_fields import Scalar
from relink.providers.taxonomy import (
    DATA_SOURCE_LEVEL,
    GRANT_LEVEL,
    TRANSIENT,
    AuthKind,
    ErrorClass,
)

Phase = Literal["token", "api"]
Body = bytes | str | Mapping[str, Any] | list[Any] | int | float | bool | None

log = structlog.get_logger(__name__)

# A provider asking for a longer pause is treated as asking for a day; the scheduler retries then.
MAX_RETRY_AFTER_SECONDS: Final = 24 * 3600.0
# Log lines and detail text stay short: enough to recognise a shape, never a whole payload.
LOG_BODY_CHARS: Final = 200
DETAIL_CHARS: Final = 300
HINT_NO_ANSWER: Final = "The provider did not answer in time; Relink will retry."
HINT_OUTAGE: Final = "The provider is having trouble on its side; Relink will retry."
HINT_UNKNOWN: Final = "The provider gave an answer Relink does not recognise; it will retry."
HINT_RATE: Final = "The provider asked Relink to slow down; it will retry after a pause."
HINT_APP: Final = "Relink's own app registration at this provider was refused; admins are told."
HINT_KEY: Final = "The provider rejected the key or password; please enter it again."
HINT_DENIED: Final = "The credentials work but lack permission for this account."
HINT_REFRESH: Final = "The access token lapsed; Relink will refresh it and retry."
HINT_ANSWER_LOST: Final = (
    "The provider's answer to a token refresh was lost on the way (it timed out or the connection "
    "dropped), and the provider then refused the saved sign-in, most likely because that lost "
    "answer had already replaced it. No one revoked access; reconnect to sign in again."
)
DETAIL_ANSWER_LOST: Final = "A refresh answer from the provider was lost before this refusal."


@dataclass(frozen=True, slots=True)
class Classification:
    error_class: ErrorClass
    # Plain words for the person who has to act (or be told to wait).
    hint: str
    # The provider's Retry-After in seconds, when it sent one.
    retry_after: float | None = None
    # The provider's own error code(s), e.g. "190/460", for logs.
    provider_code: str | None = None
    # The provider's message, shortened and scrubbed of anything token-like.
    detail: str | None = None

    @property
    def disconnects(self) -> bool:
        return self.error_class in GRANT_LEVEL or self.error_class in DATA_SOURCE_LEVEL


def classify(
    spec: ProviderSpec,
    *,
    status: int | None,
    body: Body,
    headers: Mapping[str, str] | None,
    phase: Phase,
) -> Classification:
    """Map one failed answer (or no answer: status None) to an ErrorClass."""
    retry_after = retry_after_seconds(headers)
    if status is None:
        return Classification(ErrorClass.PROVIDER_UNAVAILABLE, HINT_NO_ANSWER, retry_after)
    document, text = _parse(body)
    code = _provider_code(spec, document)
    detail = _detail(spec, document, text)
    for rule in spec.errors.rules:
        if _matches(rule, status=status, document=document, text=text, phase=phase):
            if not _allowed(rule.error_class, status, named=rule.status is not None):
                # A rule matched a body that came with a non-definitive status: stay transient.
                log.warning(
                    "provider.error.not_definitive",
                    provider=spec.key,
                    status=status,
                    phase=phase,
                    provider_code=code,
                    would_be=rule.error_class.value,
                )
                return Classification(
                    ErrorClass.PROVIDER_UNAVAILABLE, HINT_OUTAGE, retry_after, code, detail
                )
            hint = permission_hint(
                spec, rule.error_class, rule.hint, document=document, text=text, headers=headers
            )
            return Classification(rule.error_class, hint, retry_after, code, detail)
    fallback = _fallback(spec, status=status, document=document, phase=phase)
    if fallback is not None:
        error_class, hint = fallback
        hint = permission_hint(
            spec, error_class, hint, document=document, text=text, headers=headers
        )
        return Classification(error_class, hint, retry_after, code, detail)
    log.warning(
        "provider.error.unclassified",
        provider=spec.key,
        status=status,
        phase=phase,
        provider_code=code,
        body=redact(text, LOG_BODY_CHARS),
    )
    return Classification(ErrorClass.PROVIDER_UNAVAILABLE, HINT_UNKNOWN, retry_after, code, detail)


def after_lost_answer(classification: Classification) -> Classification:
    """A definitive refusal that followed a lost refresh answer: the grant may still be dead,
    but the words say the answer was lost, not that someone revoked access."""
    said = f"{DETAIL_ANSWER_LOST} The provider said: {classification.detail}"
    return Classification(
        classification.error_class,
        HINT_ANSWER_LOST,
        classification.retry_after,
        classification.provider_code,
        said if classification.detail else DETAIL_ANSWER_LOST,
    )


def after_revocation(classification: Classification, *, said: str) -> Classification:
    """A definitive refusal that followed the provider's own revocation signal: the signal says
    why (access was removed, by whom when it says), which the refusal's words may not."""
    return Classification(
        ErrorClass.AUTH_REVOKED,
        said,
        classification.retry_after,
        classification.provider_code,
        classification.detail,
    )


def after_lifetime(classification: Classification, *, ended: date) -> Classification:
    """A refusal that says "revoked or expired" of a grant past the end of the lifetime its
    provider documents (Relink warned "expires soon"): it expired."""
    return Classification(
        ErrorClass.AUTH_EXPIRED,
        HINT_LIFETIME.format(ended=ended),
        classification.retry_after,
        classification.provider_code,
        classification.detail,
    )


def retry_after_seconds(
    headers: Mapping[str, str] | None, *, now: datetime | None = None
) -> float | None:
    """Read Retry-After as delta-seconds or an HTTP date; None when absent or unreadable."""
    if not headers:
        return None
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def _allowed(error_class: ErrorClass, status: int, *, named: bool) -> bool:
    if error_class in TRANSIENT:
        return True
    if status >= 500:
        return False
    if status >= 400:
        return True
    # A 1xx-3xx carries an error only when the rule names that status (errors in a 200 body).
    return named


def _fallback(
    spec: ProviderSpec, *, status: int, document: Any, phase: Phase
) -> tuple[ErrorClass, str] | None:
    """Shapes every provider shares: RFC 6749 token errors, 429, 5xx, API-key 401/403."""
    oauth_error = _top_level_error(document)
    if status == 429:
        return ErrorClass.RATE_LIMITED, HINT_RATE
    if status >= 500 or status == 408:
        return ErrorClass.PROVIDER_UNAVAILABLE, HINT_OUTAGE
    if not 400 <= status < 500:
        return None
    if oauth_error in ("invalid_client", "unauthorized_client"):
        return ErrorClass.APP_MISCONFIGURED, HINT_APP
    if phase == "token" and oauth_error == "invalid_grant":
        return invalid_grant(document.get("error_description"))
    if spec.auth in (AuthKind.API_KEY, AuthKind.BASIC):
        if status == 401:
            return ErrorClass.INVALID_CREDENTIALS, HINT_KEY
        if status == 403:
            return ErrorClass.PERMISSION_DENIED, HINT_DENIED
    if spec.auth is AuthKind.OAUTH2 and phase == "api" and status == 401:
        return ErrorClass.ACCESS_TOKEN_EXPIRED, HINT_REFRESH
    return None


def _matches(rule: ErrorRule, *, status: int, document: Any, text: str, phase: Phase) -> bool:
    if rule.phase not in ("any", phase):
        return False
    if rule.status is not None and not any(low <= status <= high for low, high in rule.status):
        return False
    if rule.body_contains is not None and rule.body_contains.casefold() not in text.casefold():
        return False
    return all(
        any(_satisfies(value, condition) for value in _find(document, path))
        for path, condition in rule.match_json.items()
    )


def _satisfies(value: Any, condition: Any) -> bool:
    if isinstance(condition, list):
        return any(_same(value, accepted) for accepted in condition)
    if isinstance(condition, Between):
        low, high = condition.between
        return _is_number(value) and low <= value <= high
    return _same(value, condition)


def _same(value: Any, expected: Scalar) -> bool:
    # JSON true must not equal 1, nor 1 equal true.
    if isinstance(value, bool) or isinstance(expected, bool):
        return type(value) is type(expected) and value == expected
    return bool(value == expected)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _find(document: Any, path: str) -> list[Any]:
    # A streamed answer (Google Ads searchStream) is a JSON array of objects: look in each.
    if isinstance(document, list):
        return [value for item in document for value in resolve(item, path)]
    return resolve(document, path)


def _parse(body: Body) -> tuple[Any, str]:
    """The body as JSON (None if it is not JSON) and as text."""
    if body is None:
        return None, ""
    if not isinstance(body, bytes | str):
        # Already parsed (by an HTTP client): any JSON value, not only objects.
        return body, json.dumps(body, default=str)
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    try:
        return json.loads(text), text
    except ValueError:
        return None, text


def _top_level_error(document: Any) -> str | None:
    error = document.get("error") if isinstance(document, Mapping) else None
    return error if isinstance(error, str) else None


def _provider_code(spec: ProviderSpec, document: Any) -> str | None:
    codes = []
    for path in spec.errors.code_paths:
        found = [value for value in _find(document, path) if isinstance(value, str | int)]
        if found:
            codes.append(str(found[0]))
    return "/".join(codes) or None


def _detail(spec: ProviderSpec, document: Any, text: str) -> str | None:
    for path in spec.errors.message_paths:
        found = [value for value in _find(document, path) if isinstance(value, str)]
        if found:
            return redact(found[0], DETAIL_CHARS)
    return redact(text, DETAIL_CHARS) if text and document is None else None
