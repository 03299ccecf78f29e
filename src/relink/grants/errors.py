"""What can go wrong in an authorization round trip, in words a person can act on."""

from __future__ import annotations

from relink.errors import RelinkError


class CallbackRefused(RelinkError):
    """A callback that must change nothing: replayed, forged, expired, or someone else's."""

    status_code = 400


class StateUnknown(CallbackRefused):
    def __init__(self) -> None:
        super().__init__(
            "This sign-in link is not one Relink started. Start again from the Reconnect button."
        )


class StateUsed(CallbackRefused):
    def __init__(self) -> None:
        super().__init__(
            "This sign-in was already completed; a link works once. Nothing was changed."
        )


class StateExpired(CallbackRefused):
    def __init__(self) -> None:
        super().__init__(
            "This sign-in took longer than 10 minutes and expired. Click Reconnect to start again."
        )


class StateNotYours(CallbackRefused):
    def __init__(self) -> None:
        super().__init__(
            "This sign-in was started in another browser session. "
            "Click Reconnect here to start your own."
        )


class ProviderDeclined(CallbackRefused):
    def __init__(self, detail: str) -> None:
        super().__init__(f"The provider did not grant access: {detail}. Nothing was changed.")


class ExchangeFailed(CallbackRefused):
    def __init__(self, detail: str) -> None:
        super().__init__(
            f"The provider refused the sign-in code ({detail}). Nothing was changed; "
            "click Reconnect to try again."
        )


class NotReconnectable(RelinkError):
    status_code = 409
