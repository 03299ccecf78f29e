"""Notification kinds, a discriminated union: each knows its label, title, text, action and
e-mail template.

Notifications are written as these models (``build``, then ``model_dump``) and read back with
``parse``: a stored payload is always the dump of a kind, never a hand-made dict.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

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

# Plain words for why, per class; the provider's own hint follows them. A grant the provider
# refused without saying why is auth_revoked too, so its words claim no more than the refusal
# does; the hint says "removed", and by whom, when the evidence does.
REASONS: dict[ErrorClass, str] = {
    ErrorClass.AUTH_REVOKED: "the sign-in no longer works",
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


# Where the e-mail templates of each kind live (``<name>.txt`` and ``<name>.html`` each).
EMAIL_TEMPLATES = "email/kinds"


class _Common(BaseModel):
    # The short name of the kind (inbox filter, client page timeline).
    label: ClassVar[str]

    incident_id: int
    provider: str
    provider_name: str
    opened_at: datetime
    # Only the clients this recipient may see: the first few by name, and how many in all (the
    # notification page lists every one from the database).
    client_names: list[str] = Field(default_factory=list)
    data_source_ids: list[int] = Field(default_factory=list)
    client_count: int | None = None
    grant_id: int | None = None
    error_class: ErrorClass
    hint: str = ""

    @property
    def reason(self) -> str:
        return REASONS.get(self.error_class, self.error_class.value.replace("_", " "))

    @property
    def clients_text(self) -> str:
        names = self.client_names
        total = max(self.client_count or 0, len(names))
        if total <= 3:
            return ", ".join(names)
        return f"{', '.join(names[:3])} and {total - 3} more"

    @property
    def email_template(self) -> str:
        """The template (without ``.txt`` / ``.html``) of this notification in an e-mail."""
        return f"{EMAIL_TEMPLATES}/{self.kind}"  # type: ignore[attr-defined]


class ReconnectNeeded(_Common):
    label: ClassVar[str] = "Reconnect needed"
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
    label: ClassVar[str] = "Data upload failed"
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
    label: ClassVar[str] = "Data delayed"
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
    label: ClassVar[str] = "Expires soon"
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
    label: ClassVar[str] = "Operations alert"
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

# Every kind's model, by its stored name, in the order the inbox offers them.
MODELS: dict[str, type[_Common]] = {
    RECONNECT_NEEDED: ReconnectNeeded,
    UPLOAD_FAILED: UploadFailed,
    DATA_DELAYED: DataDelayed,
    EXPIRES_SOON: ExpiresSoon,
    OPERATIONS_ALERT: OperationsAlert,
}
# The short name of every kind, for the pages (inbox filter, client timeline).
LABELS: dict[str, str] = {name: model.label for name, model in MODELS.items()}


def label_of(kind: str) -> str:
    """The short name of ``kind``; a name no model knows (an old row) reads as plain words."""
    return LABELS.get(kind, kind.replace("_", " ").capitalize())


@dataclass(frozen=True)
class Facts:
    """What an incident says, as every recipient's notification of it shows it."""

    incident_id: int
    provider: str
    provider_name: str
    opened_at: datetime
    error_class: ErrorClass
    grant_id: int | None = None
    hint: str = ""
    auth_kind: AuthKind = AuthKind.OAUTH2
    expires_on: date | None = None


def build(
    kind: str,
    facts: Facts,
    *,
    client_names: list[str],
    data_source_ids: list[int],
    client_count: int | None = None,
) -> NotificationKind:
    """The typed notification of ``kind`` for one recipient (only the clients they may see)."""
    common: dict[str, Any] = {
        "incident_id": facts.incident_id,
        "provider": facts.provider,
        "provider_name": facts.provider_name,
        "opened_at": facts.opened_at,
        "error_class": facts.error_class,
        "grant_id": facts.grant_id,
        "hint": facts.hint,
        "client_names": client_names,
        "data_source_ids": data_source_ids,
        "client_count": client_count,
    }
    if kind == RECONNECT_NEEDED:
        return ReconnectNeeded(**common, auth_kind=facts.auth_kind)
    if kind == UPLOAD_FAILED:
        return UploadFailed(**common)
    if kind == DATA_DELAYED:
        return DataDelayed(**common)
    if kind == EXPIRES_SOON:
        return ExpiresSoon(**common, expires_on=facts.expires_on)
    if kind == OPERATIONS_ALERT:
        return OperationsAlert(**common)
    raise ValueError(f"no notification kind {kind!r}")


def parse(payload: dict[str, object]) -> NotificationKind:
    """The typed view of a stored notification payload."""
    return KINDS.validate_python(payload)
