"""The importer endpoints' refusals: each says what the importer, or a person, must do."""

from __future__ import annotations

from relink.errors import RelinkError


class ReconnectNeeded(RelinkError):
    """409: the data source cannot be imported until a person reconnects it."""

    status_code = 409
    code = "reconnect_needed"

    def __init__(self, *, what: str, reconnect_url: str) -> None:
        super().__init__(
            f"{what}: stop importing it until someone reconnects it at {reconnect_url}"
        )
        self.reconnect_url = reconnect_url


class NotImportedExternally(RelinkError):
    """409: days confirmed for a data source Relink imports itself."""

    status_code = 409
    code = "imported_by_relink"

    def __init__(self) -> None:
        super().__init__(
            "Relink imports this data source itself, so it takes no confirmations; set its "
            "imports to external (or its provider's) to import it from your platform"
        )


class DaysNotContiguous(RelinkError):
    """409: confirmed days that would leave a day between them and the last complete one."""

    status_code = 409
    code = "days_not_contiguous"

    def __init__(self, first_missing: str) -> None:
        super().__init__(
            f"the first day still missing is {first_missing}: confirm days from it on (a "
            "range that starts later would leave it silently missing)"
        )


class PersonNotStaff(RelinkError):
    """403: a client login at the importer endpoints."""

    status_code = 403
    code = "staff_only"

    def __init__(self) -> None:
        super().__init__(
            "the importer endpoints are for staff and service tokens, not client logins"
        )


class TryAgainSoon(RelinkError):
    """503: nothing is wrong with the data source, but its credentials cannot be had this
    moment (the provider's token endpoint did not answer, another refresh still runs)."""

    status_code = 503
    code = "try_again_soon"

    def __init__(self, why: str, *, retry_after: float) -> None:
        super().__init__(f"{why}; ask again in {round(retry_after)} seconds")
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(max(1, round(self.retry_after)))}
