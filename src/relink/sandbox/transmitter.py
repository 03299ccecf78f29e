"""The sandbox's signal transmitter: its signing key and the receivers registered with it."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

from joserfc import jwt
from joserfc.jwk import ECKey

PUSH = "https://schemas.openid.net/secevent/risc/delivery-method/push"
TOKENS_REVOKED = "https://schemas.openid.net/secevent/oauth/event-type/tokens-revoked"
SUPPORTED_EVENTS = (
    TOKENS_REVOKED,
    "https://schemas.openid.net/secevent/risc/event-type/sessions-revoked",
    "https://schemas.openid.net/secevent/risc/event-type/account-disabled",
    "https://schemas.openid.net/secevent/risc/event-type/account-credential-change-required",
)


def new_signing_key() -> ECKey:
    kid = "sbx-" + secrets.token_hex(4)
    return ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig", "alg": "ES256"})


@dataclass
class Receiver:
    url: str
    issuer: str
    events: tuple[str, ...] = SUPPORTED_EVENTS


@dataclass
class Transmitter:
    """Signing key and registered receivers (in memory: receivers register at their start)."""

    key: ECKey = field(default_factory=new_signing_key)
    streams: dict[str, Receiver] = field(default_factory=dict)
    # Meta-style Deauthorize Callback URLs (set in a Meta app's dashboard; here by API).
    deauthorize_callbacks: set[str] = field(default_factory=set)

    def security_event_token(self, receiver: Receiver, *, subject: str, audience: str) -> str:
        claims = {
            "iss": receiver.issuer,
            "aud": audience,
            "iat": int(time.time()),
            "jti": secrets.token_hex(16),
            "events": {
                TOKENS_REVOKED: {
                    "subject": {"subject_type": "iss-sub", "iss": receiver.issuer, "sub": subject},
                    "reason": "user removed access",
                }
            },
        }
        header = {"alg": "ES256", "kid": self.key.kid, "typ": "secevent+jwt"}
        return jwt.encode(header, claims, self.key)
