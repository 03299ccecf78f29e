"""The schema of a provider catalog entry: endpoints, scopes, key formats and the error mapping.

The field types live in ``spec_fields`` and the error rules in ``error_rules``.

URLs may hold `{placeholders}`. The loader fills the deployment ones (`{sandbox_url}`); the rest
are filled by the client at call time with `fill_url`: `{account_id}`, `{start}`, `{end}` for
metrics, named groups of an API key's pattern (Mailchimp's `{dc}`), `{token}` for revocation
URLs that carry the token, and `api_headers` values such as `{developer_token}` from settings.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from relink.providers.detection_spec import ProbeSpec, SignalSpec
from relink.providers.error_rules import ErrorsSpec
from relink.providers.spec_fields import (
    Citation,
    JsonPath,
    Method,
    Regex,
    Strict,
    Url,
    placeholders,
)
from relink.providers.taxonomy import AuthKind, ImportMode


class IdentityFields(Strict):
    """Where the external identity's id, name and e-mail sit in a JSON document."""

    id: JsonPath
    name: JsonPath | None = None
    email: JsonPath | None = None


# Seconds a rotating provider that documents no reuse grace is assumed to accept a just-spent
# refresh token again: Okta's default (its range is 0-60 s); shorter than the sandbox's 60 s.
DEFAULT_REFRESH_TOKEN_REUSE_GRACE_SECONDS = 30.0


class OAuth2Spec(Strict):
    authorize_url: Url
    token_url: Url
    revoke_url: Url | None = None
    revoke_method: Literal["POST", "DELETE"] = "POST"
    # None: read the identity from the id_token's claims (OpenID Connect).
    identity_url: Url | None = None
    identity: IdentityFields
    scopes: tuple[str, ...] = Field(min_length=1)
    scope_separator: str = " "
    authorize_params: dict[str, str] = Field(default_factory=dict)
    # PKCE with S256 for every provider (RFC 9700 section 2.1.1). Off only where the
    # provider's own documentation says it breaks the flow, cited in pkce_unsupported_source.
    pkce: bool = True
    pkce_unsupported_source: Citation | None = None
    login_hint: bool = False
    token_auth: Literal["client_secret_basic", "client_secret_post"]
    issues_refresh_tokens: bool = True
    rotates_refresh_tokens: bool = False
    # How long the provider accepts a just-rotated refresh token again (RFC 9700 4.14.2): every
    # retry after a lost refresh answer is sent inside it. A documented value cites its source.
    refresh_token_reuse_grace_seconds: float = Field(
        default=DEFAULT_REFRESH_TOKEN_REUSE_GRACE_SECONDS, gt=0
    )
    refresh_token_reuse_grace_source: Citation | None = None

    @model_validator(mode="after")
    def _consistent(self) -> OAuth2Spec:
        if self.identity_url is None and "openid" not in self.scopes:
            raise ValueError("oauth.identity_url: required unless the 'openid' scope is asked")
        if self.rotates_refresh_tokens and not self.issues_refresh_tokens:
            raise ValueError("oauth.rotates_refresh_tokens: needs issues_refresh_tokens")
        if not self.pkce and self.pkce_unsupported_source is None:
            raise ValueError(
                "oauth.pkce: false needs pkce_unsupported_source, the provider's documentation "
                "saying PKCE breaks its flow"
            )
        if self.pkce and self.pkce_unsupported_source is not None:
            raise ValueError("oauth.pkce_unsupported_source: only with pkce: false")
        documented = "refresh_token_reuse_grace_seconds" in self.model_fields_set
        if documented and self.refresh_token_reuse_grace_source is None:
            raise ValueError(
                "oauth.refresh_token_reuse_grace_seconds: needs refresh_token_reuse_grace_source"
            )
        if not documented and self.refresh_token_reuse_grace_source is not None:
            raise ValueError(
                "oauth.refresh_token_reuse_grace_source: only with "
                "refresh_token_reuse_grace_seconds"
            )
        return self


class HeaderKey(Strict):
    """The key goes in a header: `<name>: <prefix><key><suffix>`."""

    via: Literal["header"]
    name: str = "Authorization"
    prefix: str = ""
    suffix: str = ""


class BasicKey(Strict):
    """HTTP Basic: with `username` set the key is the password; without, the key is the user."""

    via: Literal["basic"]
    username: str | None = None


class QueryKey(Strict):
    via: Literal["query"]
    param: str


KeyPlacement = Annotated[HeaderKey | BasicKey | QueryKey, Field(discriminator="via")]


class ApiKeySpec(Strict):
    # Named groups (e.g. `(?P<dc>us\d+)`) fill the same-named URL placeholders.
    key_pattern: Regex
    format_hint: str
    send: KeyPlacement
    verify_url: Url
    verify_method: Method = "GET"
    # Where the verify answer names the account the key opens, if it does.
    identity: IdentityFields | None = None

    def matches(self, key: str) -> bool:
        return re.fullmatch(self.key_pattern, key) is not None

    def url_params(self, key: str) -> dict[str, str]:
        """URL placeholder values carried inside the key itself."""
        match = re.fullmatch(self.key_pattern, key)
        if match is None:
            raise ValueError("key does not match the provider's key format")
        return {name: value for name, value in match.groupdict().items() if value is not None}


class BasicAuthSpec(Strict):
    """User name + password, or key + secret."""

    username_label: str
    password_label: str
    format_hint: str | None = None
    verify_url: Url
    verify_method: Method = "GET"
    identity: IdentityFields | None = None


class AccountsSpec(Strict):
    """How to list the external accounts a grant can reach."""

    url: Url
    method: Method = "GET"
    body: dict[str, Any] | None = None
    # None: the whole answer is one account (an API key opens exactly one).
    items: JsonPath | None = None
    id: JsonPath
    # Stripped from ids ("customers/1234567890" -> "1234567890").
    id_prefix: str = ""
    name: JsonPath | None = None
    manager_id: JsonPath | None = None
    # The account's IANA time zone, where the listing says it: the provider's days end there.
    time_zone: JsonPath | None = None
    next_page_token: JsonPath | None = None
    page_token_param: str | None = None


class MetricsSpec(Strict):
    """Daily metrics of one account for a date range."""

    url: Url
    method: Method = "GET"
    rows: JsonPath
    date: JsonPath
    # Relink metric name -> path inside one row.
    values: dict[str, JsonPath] = Field(min_length=1)

    @model_validator(mode="after")
    def _placeholders(self) -> MetricsSpec:
        missing = {"account_id", "start", "end"} - placeholders(self.url)
        if missing:
            raise ValueError(f"metrics.url: missing placeholders {sorted(missing)}")
        return self


class ExpiryWarning(Strict):
    """A documented way a grant dies on a clock, so people get an "expires soon" notice."""

    # since_grant: a fixed lifetime from consent; since_last_use: dies after days of idleness.
    clock: Literal["since_grant", "since_last_use"]
    days: int = Field(gt=0)
    warn_days_before: int = Field(ge=0)
    # app_in_testing: only while OUR app registration is in a testing mode (settings say so).
    when: Literal["always", "app_in_testing"] = "always"
    message: str
    # Only grants of these external identities (a provider's trial logins); empty: every grant.
    identities: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _warn_before_death(self) -> ExpiryWarning:
        # Equal is allowed: a lifetime shorter than any useful notice is warned from consent.
        if self.warn_days_before > self.days:
            raise ValueError("warn_days_before: must not exceed days")
        return self


_SECTION_FOR = {AuthKind.OAUTH2: "oauth", AuthKind.API_KEY: "api_key", AuthKind.BASIC: "basic"}


class ProviderSpec(Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    display_name: str
    auth: AuthKind
    docs_url: Url | None = None
    oauth: OAuth2Spec | None = None
    api_key: ApiKeySpec | None = None
    basic: BasicAuthSpec | None = None
    # Sent with every API call (not the token endpoint), e.g. a developer token from settings.
    api_headers: dict[str, str] = Field(default_factory=dict)
    accounts: AccountsSpec | None = None
    metrics: MetricsSpec | None = None
    expiry_warnings: tuple[ExpiryWarning, ...] = ()
    # Hours after a day ends (in the account's time zone) before the provider's figures for it
    # are in: that day counts as complete only then. Unset where the provider documents none;
    # a value cites the documentation it comes from.
    reporting_delay_hours: float | None = Field(default=None, ge=0)
    reporting_delay_source: Citation | None = None
    errors: ErrorsSpec = ErrorsSpec()
    # Revocation signals the provider pushes, and the cheap health probe (detection_spec).
    signals: tuple[SignalSpec, ...] = ()
    probe: ProbeSpec = ProbeSpec()
    # Who imports the days of this provider's data sources unless one says otherwise: Relink,
    # or the platform's own importers (external: Relink never calls the data API for them).
    imports: ImportMode = ImportMode.RELINK

    @property
    def short_name(self) -> str:
        """The display name without its qualifier: "Sandbox Call Tracking (API key)" speaks as
        "Sandbox Call Tracking"."""
        return self.display_name.split(" (")[0]

    def probe_url(self) -> str | None:
        """The probe's call: the catalog's, else the identity or key-verify endpoint."""
        if self.probe.url is not None:
            return self.probe.url
        if self.oauth is not None:
            return self.oauth.identity_url
        if self.api_key is not None:
            return self.api_key.verify_url
        return self.basic.verify_url if self.basic is not None else None

    def signal(self, kind: str) -> SignalSpec | None:
        """The received signal of ``kind`` this provider sends, if any."""
        return next((s for s in self.signals if s.kind == kind and s.receiver == "received"), None)

    @model_validator(mode="after")
    def _cited_reporting_delay(self) -> ProviderSpec:
        if self.reporting_delay_hours is not None and self.reporting_delay_source is None:
            raise ValueError("reporting_delay_hours: needs reporting_delay_source")
        if self.reporting_delay_hours is None and self.reporting_delay_source is not None:
            raise ValueError("reporting_delay_source: only with reporting_delay_hours")
        return self

    @model_validator(mode="after")
    def _one_auth_section(self) -> ProviderSpec:
        wanted = _SECTION_FOR[self.auth]
        if getattr(self, wanted) is None:
            raise ValueError(f"{wanted}: required when auth is {self.auth.value}")
        for section in _SECTION_FOR.values():
            if section != wanted and getattr(self, section) is not None:
                raise ValueError(f"{section}: not allowed when auth is {self.auth.value}")
        return self
