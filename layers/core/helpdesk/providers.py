"""Outbound channel clients built from settings: the one place that picks a client per channel."""

from __future__ import annotations

from functools import cache

from helpdesk.channels import Channel
from helpdesk.models import Channel as ChannelName
from helpdesk.sandbox import SandboxChannel
from helpdesk.settings import get_settings


@cache
def channel_for(name: ChannelName) -> Channel:
    settings = get_settings()
    if name == ChannelName.SANDBOX:
        return SandboxChannel(settings.sandbox_url)
    raise LookupError(f"no outbound client for the {name.value} channel")
