"""The status model of DESIGN.md, in one place: which states exist and which moves are legal."""

from __future__ import annotations

import enum

from relink.errors import IllegalTransition


class DataSourceStatus(enum.StrEnum):
    CONNECTED = "connected"
    # Transient errors, retrying: NOT a disconnect, nobody is asked to reconnect.
    FAILING = "failing"
    # Needs a person; the reason says why.
    DISCONNECTED = "disconnected"
    PAUSED = "paused"
    # A user's Disconnect: the data waits in the trash for the retention window.
    REMOVED = "removed"


class GrantStatus(enum.StrEnum):
    ACTIVE = "active"
    DISCONNECTED = "disconnected"
    # Revoked at the provider by us (last data source removed); never used again.
    REVOKED = "revoked"


_DS = DataSourceStatus
DATA_SOURCE_TRANSITIONS: dict[DataSourceStatus, frozenset[DataSourceStatus]] = {
    _DS.CONNECTED: frozenset({_DS.FAILING, _DS.DISCONNECTED, _DS.PAUSED, _DS.REMOVED}),
    _DS.FAILING: frozenset({_DS.CONNECTED, _DS.DISCONNECTED, _DS.PAUSED, _DS.REMOVED}),
    _DS.DISCONNECTED: frozenset({_DS.CONNECTED, _DS.PAUSED, _DS.REMOVED}),
    # Resuming lands on disconnected when the grant broke while paused.
    _DS.PAUSED: frozenset({_DS.CONNECTED, _DS.DISCONNECTED, _DS.REMOVED}),
    # Restore from the trash: connected when its grant still works, else disconnected.
    _DS.REMOVED: frozenset({_DS.CONNECTED, _DS.DISCONNECTED}),
}

_GS = GrantStatus
GRANT_TRANSITIONS: dict[GrantStatus, frozenset[GrantStatus]] = {
    _GS.ACTIVE: frozenset({_GS.DISCONNECTED, _GS.REVOKED}),
    _GS.DISCONNECTED: frozenset({_GS.ACTIVE, _GS.REVOKED}),
    # A revoked grant can come back only through a new authorization of the same identity.
    _GS.REVOKED: frozenset({_GS.ACTIVE}),
}

# Statuses whose data sources the scheduler imports.
IMPORTABLE_STATUSES = frozenset({_DS.CONNECTED, _DS.FAILING})


def check_data_source_transition(current: DataSourceStatus, target: DataSourceStatus) -> None:
    """Raise ``IllegalTransition`` unless a data source may move from ``current`` to ``target``."""
    if target not in DATA_SOURCE_TRANSITIONS[current]:
        raise IllegalTransition("data source", current, target)


def check_grant_transition(current: GrantStatus, target: GrantStatus) -> None:
    """Raise ``IllegalTransition`` unless a grant may move from ``current`` to ``target``."""
    if target not in GRANT_TRANSITIONS[current]:
        raise IllegalTransition("grant", current, target)
