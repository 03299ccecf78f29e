"""Notification kinds, a discriminated union: each knows its title, text, action and e-mail."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter

from relink.providers.taxonomy import (
    DATA_SOURCE_LEVEL,
    GRANT_LEVEL,
    AuthKind,
    ErrorClass,
)

RECONNECT_NEEDED = "reconnect_needed"
UPLOAD_FAILED = "upload_failed"
DATA_DELAYED = "data_delayed"
EXPIRES_SOON = "expires_soon"
OPERATIONS_ALERT = "operations_alert"

# Plain words for why, per class; the provider's own hint follows them.
REASONS: dict[ErrorClass, str] = {
    ErrorClass.AUTH_REVOKED: "access was revoked or the sign-in is no longer valid",
    ErrorClass.AUTH_EXPIRED: "the sign-in expired",
    ErrorClass.INVALID_CREDENTIALS: "the API key or password was rejected",
    ErrorClass.PERMISSION_DENIED: "the login lost a permission this data source needs",
    ErrorClass.ACCOUNT_NOT_FOUND: "the account was closed or unlinked from the manager account",
    ErrorClass.DATA_ERROR: "the provider sent data that could not be imported",
    ErrorClass.PROVIDER_UNAVAILABLE: "the provider is having an outage",
    ErrorClass.RATE_LIMITED: "the provider asked us to slow down",
    ErrorClass.APP_MISCONFIGURED: "Relink's app registration at the provider was refused",
    ErrorClass.ACCESS_TOKEN_EXPIRED: "the access token lapsed",
}


def kind_for(error_class: ErrorClass) -> str:
    """Which notification a failure of ``error_class`` gives."""
    if error_class in GRANT_LEVEL or error_class in DATA_SOURCE_LEVEL:
        return RECONNECT_NEEDED
    if error_class is ErrorClass.DATA_ERROR:
        return UPLOAD_FAILED
    if error_class is ErrorClass.APP_MISCONFIGURED:
        return OPERATIONS_ALERT
    return DATA_DELAYED


class Action(BaseModel):
    label: str
    # Where the button leads inside the app (a signed-in page; never a single-use token).
    path: str
    # Taking the action first starts an import of this data source ("Try again").
    starts_import: int | None = None


# Where an action leads when the notification lacks the id it would need (never a dead page).
FALLBACK_PATH = "/data-sources"


class _Common(BaseModel):
    incident_id: int
    provider: str
    provider_name: str
    opened_at: datetime
    # Only the clients this recipient may see.
    client_names: list[str] = Field(default_factory=list)
    data_source_ids: list[int] = Field(default_factory=list)
    grant_id: int | None = None
    error_class: ErrorClass
    hint: str = ""

    @property
    def reason(self) -> str:
        return REASONS.get(self.error_class, self.error_class.value.replace("_", " "))

    @property
    def clients_text(self) -> str:
        names = self.client_names
        if len(names) <= 3:
            return ", ".join(names)
        return f"{', '.join(names[:3])} and {len(names) - 3} more"

    @property
    def email_template(self) -> str:
        return f"email/{self.kind}"  # type: ignore[attr-defined]


class ReconnectNeeded(_Common):
    kind: Literal["reconnect_needed"] = "reconnect_needed"
    auth_kind: AuthKind = AuthKind.OAUTH2

    @property
    def title(self) -> str:
        return f"{self.provider_name} disconnected"

    @property
    def text(self) -> str:
        where = f" for {self.clients_text}" if self.client_names else ""
        return f"{self.provider_name}{where}: {self.reason}. {self.hint}".strip()

    @property
    def action(self) -> Action:
        if self.auth_kind is AuthKind.OAUTH2 and self.grant_id is not None:
            return Action(label="Reconnect", path=f"/grants/{self.grant_id}/reconnect")
        if not self.data_source_ids:
            return Action(label="Reconnect", path=f"{FALLBACK_PATH}?status=disconnected")
        source = self.data_source_ids[0]
        return Action(label="Re-enter API key", path=f"/data-sources/{source}/credentials")


class UploadFailed(_Common):
    kind: Literal["upload_failed"] = "upload_failed"

    @property
    def title(self) -> str:
        return "Data upload failed"

    @property
    def text(self) -> str:
        return (
            f"{self.provider_name} for {self.clients_text}: {self.reason}. "
            "The data imported before is kept."
        )

    @property
    def action(self) -> Action:
        if not self.data_source_ids:
            return Action(label="View data sources", path=FALLBACK_PATH)
        source = self.data_source_ids[0]
        return Action(label="Try again", path=f"/data-sources/{source}", starts_import=source)


class DataDelayed(_Common):
    kind: Literal["data_delayed"] = "data_delayed"

    @property
    def title(self) -> str:
        return f"{self.provider_name} data delayed"

    @property
    def text(self) -> str:
        return (
            f"{self.reason.capitalize()}; data for {self.clients_text} will arrive late. "
            "Nothing to do: Relink keeps retrying and fills the gap when it is back."
        )

    @property
    def action(self) -> Action:
        return Action(label="View data sources", path="/data-sources?status=failing")


class ExpiresSoon(_Common):
    kind: Literal["expires_soon"] = "expires_soon"
    expires_on: date | None = None

    @property
    def title(self) -> str:
        return f"{self.provider_name} connection expires soon"

    @property
    def text(self) -> str:
        when = f" on {self.expires_on:%d %b %Y}" if self.expires_on else " soon"
        who = f"The {self.provider_name} sign-in for {self.clients_text}"
        return f"{who} expires{when}. {self.hint}"

    @property
    def action(self) -> Action:
        if self.grant_id is None:
            return Action(label="View data sources", path=FALLBACK_PATH)
        return Action(label="Reconnect", path=f"/grants/{self.grant_id}/reconnect")


class OperationsAlert(_Common):
    kind: Literal["operations_alert"] = "operations_alert"

    @property
    def title(self) -> str:
        return f"{self.provider_name}: our app registration was refused"

    @property
    def text(self) -> str:
        return (
            f"{self.provider_name} refused Relink's OAuth client id or secret. No client was "
            "disconnected; imports wait until the app settings are fixed."
        )

    @property
    def action(self) -> Action:
        # The provider's entry on the page that shows our app registrations (admins only:
        # operations alerts go to admins).
        return Action(label="Check app settings", path=f"/settings/providers#{self.provider}")


NotificationKind = Annotated[
    ReconnectNeeded | UploadFailed | DataDelayed | ExpiresSoon | OperationsAlert,
    Field(discriminator="kind"),
]
KINDS: TypeAdapter[NotificationKind] = TypeAdapter(NotificationKind)


def parse(payload: dict[str, object]) -> NotificationKind:
    """The typed view of a stored notification payload."""
    return KINDS.validate_python(payload)
