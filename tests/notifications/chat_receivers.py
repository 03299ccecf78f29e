"""Local stand-ins for a Slack incoming webhook and a Teams Workflows webhook, on loopback.

Each checks a message as its product documents it and answers as the product does: Slack
200 ``ok`` or 400 with its error name (``invalid_payload``, ``no_text``, ``invalid_blocks``);
Teams 202 or 400. A message they refuse is recorded with why, so a test can say what broke.

Slack: https://api.slack.com/messaging/webhooks and https://api.slack.com/reference/block-kit
Teams: https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/
add-incoming-webhook (the Workflows "When a Teams webhook request is received" trigger) and
https://adaptivecards.io/explorer/
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

SLACK_BLOCK_TYPES = {"section", "actions", "context", "divider", "header", "image", "rich_text"}
SLACK_TEXT_TYPES = {"mrkdwn", "plain_text"}
SLACK_MAX_BLOCKS = 50
SLACK_MAX_SECTION_TEXT = 3000
SLACK_MAX_ACTION_ELEMENTS = 25
SLACK_MAX_BUTTON_TEXT = 75
SLACK_MAX_URL = 3000
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
CARD_ELEMENTS = {"TextBlock", "FactSet", "ColumnSet", "Container", "Image", "RichTextBlock"}
CARD_ACTIONS = {"Action.OpenUrl", "Action.Submit", "Action.ShowCard", "Action.Execute"}


class Refused(Exception):
    """The product would refuse this message; the text is its error."""


def check_slack(message: Any) -> None:
    """Raise ``Refused`` where Slack's incoming webhook would refuse ``message``."""
    if not isinstance(message, dict):
        raise Refused("invalid_payload")
    blocks = message.get("blocks")
    if not message.get("text") and not blocks:
        raise Refused("no_text")
    if blocks is None:
        return
    if not isinstance(blocks, list) or not 1 <= len(blocks) <= SLACK_MAX_BLOCKS:
        raise Refused("invalid_blocks")
    for block in blocks:
        kind = block.get("type")
        if kind not in SLACK_BLOCK_TYPES:
            raise Refused("invalid_blocks")
        if kind == "section":
            text = block.get("text") or {}
            if text.get("type") not in SLACK_TEXT_TYPES:
                raise Refused("invalid_blocks")
            if not 1 <= len(text.get("text", "")) <= SLACK_MAX_SECTION_TEXT:
                raise Refused("invalid_blocks")
        if kind == "actions":
            elements = block.get("elements")
            if (
                not isinstance(elements, list)
                or not 1 <= len(elements) <= SLACK_MAX_ACTION_ELEMENTS
            ):
                raise Refused("invalid_blocks")
            for element in elements:
                label = element.get("text") or {}
                if element.get("type") != "button" or label.get("type") != "plain_text":
                    raise Refused("invalid_blocks")
                if not 1 <= len(label.get("text", "")) <= SLACK_MAX_BUTTON_TEXT:
                    raise Refused("invalid_blocks")
                if not str(element.get("url", "")).startswith(("https://", "http://")):
                    raise Refused("invalid_blocks")
                if len(element["url"]) > SLACK_MAX_URL:
                    raise Refused("invalid_blocks")


def check_teams(message: Any) -> None:
    """Raise ``Refused`` where a Teams Workflows webhook would not post ``message`` as a card."""
    if not isinstance(message, dict) or message.get("type") != "message":
        raise Refused("not a message")
    attachments = message.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        raise Refused("no attachments")
    for attachment in attachments:
        if attachment.get("contentType") != ADAPTIVE_CARD:
            raise Refused(f"contentType {attachment.get('contentType')!r}")
        card = attachment.get("content") or {}
        if card.get("type") != "AdaptiveCard" or not isinstance(card.get("version"), str):
            raise Refused("content is not an AdaptiveCard with a version")
        for element in card.get("body", []):
            if element.get("type") not in CARD_ELEMENTS:
                raise Refused(f"unknown element {element.get('type')!r}")
            if element["type"] == "TextBlock" and not element.get("text"):
                raise Refused("TextBlock without text")
            if element["type"] == "FactSet":
                for fact in element.get("facts", []):
                    if not (
                        isinstance(fact.get("title"), str) and isinstance(fact.get("value"), str)
                    ):
                        raise Refused("a fact needs a title and a value")
        for action in card.get("actions", []):
            if action.get("type") not in CARD_ACTIONS:
                raise Refused(f"unknown action {action.get('type')!r}")
            if action["type"] == "Action.OpenUrl" and not action.get("url"):
                raise Refused("Action.OpenUrl without url")


@dataclass
class ChatReceivers:
    """Slack under ``/slack/...``, Teams under ``/teams/...``: what each accepted and refused."""

    url: str = ""
    slack: list[dict[str, Any]] = field(default_factory=list)
    teams: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def slack_url(self, channel: str = "alerts") -> str:
        return f"{self.url}/slack/services/T0/B0/{channel}"

    def teams_url(self, channel: str = "alerts") -> str:
        return f"{self.url}/teams/workflows/{channel}"

    async def _slack(self, request: web.Request) -> web.Response:
        try:
            message = json.loads(await request.read())
            check_slack(message)
        except (ValueError, Refused, AttributeError) as exc:
            self.refused.append(f"slack: {exc}")
            return web.Response(status=400, text=str(exc) or "invalid_payload")
        self.slack.append(message | {"_channel": request.path.rsplit("/", 1)[-1]})
        return web.Response(status=200, text="ok")

    async def _teams(self, request: web.Request) -> web.Response:
        try:
            message = json.loads(await request.read())
            check_teams(message)
        except (ValueError, Refused, AttributeError) as exc:
            self.refused.append(f"teams: {exc}")
            return web.Response(status=400, text=str(exc))
        self.teams.append(message | {"_channel": request.path.rsplit("/", 1)[-1]})
        return web.Response(status=202)


@asynccontextmanager
async def running_chat_receivers() -> AsyncIterator[ChatReceivers]:
    receivers = ChatReceivers()
    app = web.Application()
    app.router.add_post("/slack/{tail:.*}", receivers._slack)
    app.router.add_post("/teams/{tail:.*}", receivers._teams)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    receivers.url = f"http://{host}:{port}"
    try:
        yield receivers
    finally:
        await runner.cleanup()
