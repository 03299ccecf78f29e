"""Webhook events as chat messages: Slack (Block Kit) and Microsoft Teams (an Adaptive Card).

Both say the same thing: what happened, at which provider, for which clients, why, and one
button for the action. Missing item keys are skipped, never an error: a message is better than
no message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# event: (Slack emoji, what happened, button label)
EVENTS: dict[str, tuple[str, str, str]] = {
    "data_source.disconnected": (":red_circle:", "disconnected", "Reconnect"),
    "data_source.reconnected": (":large_green_circle:", "reconnected", "Open"),
    "import.failed": (":warning:", "import failed", "Try again"),
    "grant.expires_soon": (":hourglass_flowing_sand:", "sign-in expires soon", "Reconnect"),
}
# Teams shows a card's emphasis as colour: red for what needs a person, green for a repair.
TEAMS_STYLES = {
    "data_source.disconnected": "attention",
    "data_source.reconnected": "good",
    "import.failed": "warning",
    "grant.expires_soon": "warning",
}
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

    def line(self, escape: Callable[[str], str] = str) -> str:
        text = f"{escape(self.provider)} {self.happened}"
        if self.clients:
            text += f" for {escape(', '.join(self.clients))}"
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
        facts.append({"title": "Clients", "value": ", ".join(told.clients)})
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
