"""Webhook events as chat messages: Slack (Block Kit) and Microsoft Teams (an Adaptive Card).

Both say the same thing: what happened, at which provider, for which clients, why, and one
button for the action. Missing item keys are skipped, never an error: a message is better than
no message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# event: (Slack emoji, what happened, button label)
EVENTS: dict[str, tuple[str, str, str]] = {
    "data_source.disconnected": (":red_circle:", "disconnected", "Reconnect"),
    "data_source.reconnected": (":large_green_circle:", "reconnected", "Open"),
    "import.failed": (":warning:", "import failed", "Try again"),
    "grant.expires_soon": (":hourglass_flowing_sand:", "sign-in expires soon", "Reconnect"),
    "data_source.backfill_requested": (
        ":arrows_counterclockwise:",
        "missed days to import",
        "Open",
    ),
    "webhook.test": (":wave:", "test message", "Open the delivery log"),
}
# Teams shows a card's emphasis as colour: red for what needs a person, green for a repair.
TEAMS_STYLES = {
    "data_source.disconnected": "attention",
    "data_source.reconnected": "good",
    "import.failed": "warning",
    "grant.expires_soon": "warning",
    "data_source.backfill_requested": "accent",
    "webhook.test": "accent",
}
# A message names this many clients and counts the rest: one grant behind hundreds of clients
# must still fit Slack's 3,000 characters of a section and stay readable in a channel.
MAX_NAMED_CLIENTS = 10
# Adaptive Card 1.4 is what Teams renders in channels posted by a Workflows webhook.
ADAPTIVE_CARD_VERSION = "1.4"


@dataclass(frozen=True)
class Told:
    """One event, in words: ``{provider} {happened} for {clients} — {reason}``."""

    emoji: str
    provider: str
    happened: str
    clients: list[str]
    reason: str | None
    label: str
    action_url: str | None

    @classmethod
    def of(cls, payload: Mapping[str, Any]) -> Told:
        event = str(payload.get("type", ""))
        data: Mapping[str, Any] = payload.get("data") or {}
        emoji, happened, label = EVENTS.get(event, (":bell:", event, "Open"))
        clients = data.get("client_names") or (
            [data["client_name"]] if data.get("client_name") else []
        )
        return cls(
            emoji=emoji,
            provider=str(data.get("provider_name") or data.get("provider") or "A data source"),
            happened=happened,
            clients=[str(c) for c in clients],
            reason=str(data["reason"]) if data.get("reason") else None,
            label=label,
            action_url=str(data["action_url"]) if data.get("action_url") else None,
        )

    def client_list(self) -> str:
        """The clients by name, up to ``MAX_NAMED_CLIENTS``, then how many more."""
        named = ", ".join(self.clients[:MAX_NAMED_CLIENTS])
        more = len(self.clients) - MAX_NAMED_CLIENTS
        return f"{named} and {more} more" if more > 0 else named

    def line(self, escape: Callable[[str], str] = str) -> str:
        text = f"{escape(self.provider)} {self.happened}"
        if self.clients:
            text += f" for {escape(self.client_list())}"
        if self.reason:
            text += f" — {escape(self.reason)}"
        return text


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn treats these three as control characters.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook message (Block Kit) from a Relink payload."""
    told = Told.of(payload)
    line = f"{told.emoji} {told.line(_slack_escape)}"
    text = f"{line}. <{told.action_url}|{told.label}>" if told.action_url else f"{line}."
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    if told.action_url:
        button = {
            "type": "button",
            "text": {"type": "plain_text", "text": told.label},
            "url": told.action_url,
        }
        blocks.append({"type": "actions", "elements": [button]})
    return {"text": text, "blocks": blocks}


def teams_message(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A Microsoft Teams message for a Workflows "when a Teams webhook request is received"
    URL: one Adaptive Card attachment, the shape Microsoft documents for those webhooks."""
    told = Told.of(payload)
    title = f"{told.provider} {told.happened}"
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": title,
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
            "color": TEAMS_STYLES.get(str(payload.get("type", "")), "default"),
        }
    ]
    facts = []
    if told.clients:
        facts.append({"title": "Clients", "value": told.client_list()})
    if told.reason:
        facts.append({"title": "Reason", "value": told.reason})
    if facts:
        body.append({"type": "FactSet", "facts": facts})
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": ADAPTIVE_CARD_VERSION,
        "body": body,
        "msteams": {"width": "Full"},
    }
    if told.action_url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": told.label, "url": told.action_url}]
    return {
        "type": "message",
        "summary": told.line(),
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


# Fields of one data source's event that a chat message about several does not carry.
_PER_DATA_SOURCE = frozenset(
    {"data_source_id", "client_id", "client_name", "external_account_id", "external_account_name"}
)
# Items that share these are one chat message: one broken grant is one message, not fifty.
_CHAT_MESSAGE_KEY = ("grant_id", "provider", "error_class", "reason", "hint", "action_url")


def chat_items(items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The items of one event as chat messages: one per cause, naming all its clients.

    Each carries ``clients`` (id and name, once each) so that a scoped channel can be told
    only of its own, and ``data_source_ids``.
    """
    grouped: dict[tuple[Any, ...], dict[str, Any]] = {}
    for item in items:
        key = tuple(str(item.get(name)) for name in _CHAT_MESSAGE_KEY)
        message = grouped.get(key)
        if message is None:
            message = {k: v for k, v in item.items() if k not in _PER_DATA_SOURCE}
            message |= {"clients": [], "data_source_ids": []}
            grouped[key] = message
        client = {"id": item.get("client_id"), "name": item.get("client_name")}
        if client["name"] is not None and client not in message["clients"]:
            message["clients"].append(client)
        if item.get("data_source_id") is not None:
            message["data_source_ids"].append(item["data_source_id"])
    for message in grouped.values():
        message["client_names"] = [str(c["name"]) for c in message["clients"]]
    return list(grouped.values())
