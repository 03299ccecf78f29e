"""Security Event Tokens (RFC 8417) pushed by RISC transmitters (RFC 8935), verified strictly.

Order of checks, cheapest first, so a token that cannot be ours costs no outbound call:
size and shape; then, on the token's claims as sent (unverified), the issuer, which names the
provider(s) in the catalog, of which only those with our OAuth client count; ``aud`` naming
one of our client ids there; ``typ``, a recent ``iat``, a ``jti`` and events. Only then are
the issuer's published keys fetched (at most once per pause, see jwks.py) and the signature
verified with joserfc, and every claim check is made again on the verified claims. The replay
guard is the caller's, in the same transaction as what the signal triggers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from relink.config import Settings
from relink.providers.catalog import Catalog
from relink.providers.http import HttpClient
from relink.providers.spec import ProviderSpec
from relink.signals.jwks import JwksCache, KeysUnavailable
from relink.signals.refusal import SignalRefused, refuse

KIND = "risc"
MAX_BYTES = 16 * 1024
ALGORITHMS = ["RS256", "ES256"]
SET_TYPES = frozenset({"secevent+jwt", "application/secevent+jwt"})
# A SET older than this is stale (a transmitter retries within minutes); a little clock skew
# the other way is tolerated.
MAX_AGE = timedelta(minutes=10)
MAX_SKEW = timedelta(seconds=60)

_RISC = "https://schemas.openid.net/secevent/risc/event-type/"
_OAUTH = "https://schemas.openid.net/secevent/oauth/event-type/"
# Events that may mean the grant is gone: each triggers a check of the subject's grants.
CHECK_EVENTS = frozenset(
    {
        _OAUTH + "tokens-revoked",
        _RISC + "sessions-revoked",
        _RISC + "account-disabled",
        _RISC + "account-credential-change-required",
        # Older RISC drafts (and Google's documentation) put tokens-revoked under risc/.
        _RISC + "tokens-revoked",
    }
)
# The transmitter's test event (stream verification): accepted, nothing to do.
VERIFICATION_EVENT = _RISC + "verification"
SUBJECT_TYPES = frozenset({"iss-sub", "iss_sub"})


@dataclass(frozen=True)
class VerifiedSet:
    issuer: str
    jti: str
    issued_at: datetime
    # The providers whose OAuth client the SET is addressed to.
    providers: tuple[str, ...]
    # Subjects (the provider's `sub`) whose grants must be checked now.
    subjects: tuple[str, ...]


async def verify_set(
    token: bytes,
    *,
    catalog: Catalog,
    settings: Settings,
    http: HttpClient,
    cache: JwksCache,
    now: datetime,
) -> VerifiedSet:
    """The verified SET, or ``SignalRefused`` naming why (logged, never with the token)."""
    if not token or len(token) > MAX_BYTES:
        raise refuse(KIND, "invalid_request", "the body is empty or too large")
    try:
        compact = jws.extract_compact(token.strip())
        unverified = json.loads(compact.payload)
        header = compact.headers()
    except (JoseError, ValueError, TypeError):
        raise refuse(KIND, "invalid_request", "the body is not a compact JWS") from None
    if not isinstance(unverified, dict) or header.get("alg") not in ALGORITHMS:
        raise refuse(KIND, "invalid_request", "unexpected SET shape or signing algorithm")
    # Everything the token says about itself is checked before any key is fetched: a forged
    # token naming another app, or an issuer we have no client at, must cost no outbound call.
    specs = _addressed_to_us(unverified, catalog=catalog, settings=settings)
    _check_set(header, unverified, now=now)
    issuer: str = unverified["iss"]
    signal = specs[0].signal(KIND)
    assert signal is not None and signal.jwks_uri is not None
    audiences = [_client_id(settings, spec) for spec in specs]
    header, claims = await _verified(
        token, signal.jwks_uri, http=http, cache=cache, issuer=issuer, audiences=audiences
    )
    # The same checks on what the signature covers: these values, not the unverified ones, act.
    specs = _addressed_to_us(claims, catalog=catalog, settings=settings)
    issued_at, jti, subjects = _check_set(header, claims, now=now)
    return VerifiedSet(
        issuer=issuer,
        jti=jti,
        issued_at=issued_at,
        providers=tuple(s.key for s in specs),
        subjects=subjects,
    )


def _addressed_to_us(
    claims: Mapping[str, Any], *, catalog: Catalog, settings: Settings
) -> list[ProviderSpec]:
    """The providers of the SET's issuer whose OAuth client (ours) its ``aud`` names."""
    specs = _specs_of(catalog, claims.get("iss"))
    if not specs:
        raise refuse(KIND, "invalid_issuer", "no provider in the catalog uses this issuer")
    ours = [spec for spec in specs if settings.oauth_client(spec.key) is not None]
    if not ours:
        raise refuse(
            KIND,
            "invalid_issuer",
            "no OAuth client is configured at this issuer's provider",
            providers=",".join(spec.key for spec in specs),
        )
    aud = claims.get("aud")
    # RFC 7519: one string or a list of strings; anything else names nobody.
    named = aud if isinstance(aud, list) else [aud]
    given = {a for a in named if isinstance(a, str)}
    addressed = [spec for spec in ours if _client_id(settings, spec) in given]
    if not addressed:
        raise refuse(KIND, "invalid_audience", "the SET is not addressed to our client id")
    return addressed


def _client_id(settings: Settings, spec: ProviderSpec) -> str:
    client = settings.oauth_client(spec.key)
    assert client is not None
    return client.client_id


def _check_set(
    header: Mapping[str, Any], claims: Mapping[str, Any], *, now: datetime
) -> tuple[datetime, str, tuple[str, ...]]:
    """A SET's type, age, id and events: (issued at, jti, subjects to check)."""
    typ = header.get("typ")
    if typ is not None and str(typ).lower() not in SET_TYPES:
        raise refuse(KIND, "invalid_request", "the token is not a Security Event Token")
    issued_at = _issued_at(claims.get("iat"), now=now)
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise refuse(KIND, "invalid_request", "the SET has no jti")
    events = claims.get("events")
    if not isinstance(events, dict) or not events:
        raise refuse(KIND, "invalid_request", "the SET carries no events")
    return issued_at, jti, _subjects(events, issuer=str(claims["iss"]))


def _specs_of(catalog: Catalog, issuer: Any) -> list[ProviderSpec]:
    if not isinstance(issuer, str):
        return []
    found = []
    for spec in catalog:
        signal = spec.signal(KIND)
        known = signal.issuer if signal is not None else None
        if known is not None and known.rstrip("/") == issuer.rstrip("/"):
            found.append(spec)
    return found


async def _verified(
    token: bytes,
    jwks_uri: str,
    *,
    http: HttpClient,
    cache: JwksCache,
    issuer: str,
    audiences: list[str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The signed header and claims, verified against the issuer's published keys."""
    try:
        keys = await cache.keys(http, jwks_uri)
        try:
            return _decode(token, keys, issuer=issuer, audiences=audiences)
        except InvalidKeyIdError:
            # The transmitter may have rotated its keys since we cached them.
            keys = await cache.keys(http, jwks_uri, refresh=True)
            return _decode(token, keys, issuer=issuer, audiences=audiences)
    except KeysUnavailable as exc:
        raise refuse(KIND, "invalid_key", f"the issuer's keys are unavailable ({exc})") from None
    except SignalRefused:
        raise
    except JoseError as exc:
        raise refuse(KIND, "invalid_key", f"signature not verified ({exc.error})") from None


def _decode(
    token: bytes, keys: KeySet, *, issuer: str, audiences: list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    decoded = jwt.decode(token, keys, algorithms=ALGORITHMS)
    claims = jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "values": audiences},
        jti={"essential": True},
        iat={"essential": True},
    )
    try:
        claims.validate(decoded.claims)
    except JoseError as exc:
        raise refuse(KIND, "invalid_request", f"claims refused ({exc.error})") from None
    return dict(decoded.header), dict(decoded.claims)


def _issued_at(value: Any, *, now: datetime) -> datetime:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise refuse(KIND, "invalid_request", "the SET has no numeric iat")
    issued = datetime.fromtimestamp(value, UTC)
    if issued < now - MAX_AGE or issued > now + MAX_SKEW:
        raise refuse(KIND, "invalid_request", "the SET is stale or from the future")
    return issued


def _subjects(events: dict[str, Any], *, issuer: str) -> tuple[str, ...]:
    subjects: list[str] = []
    for event_type, body in events.items():
        if event_type == VERIFICATION_EVENT or event_type not in CHECK_EVENTS:
            continue
        subject = body.get("subject") if isinstance(body, dict) else None
        if not isinstance(subject, dict) or subject.get("subject_type") not in SUBJECT_TYPES:
            continue
        if str(subject.get("iss", "")).rstrip("/") != issuer.rstrip("/"):
            continue
        sub = subject.get("sub")
        if isinstance(sub, str) and sub and sub not in subjects:
            subjects.append(sub)
    return tuple(subjects)


def known_event_types() -> Sequence[str]:
    """What the receiver asks transmitters for (stream configuration)."""
    return sorted(CHECK_EVENTS - {_RISC + "tokens-revoked"})
