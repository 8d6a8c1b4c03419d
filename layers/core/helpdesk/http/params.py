"""Query parameters of the staff API: unknown names are refused, not silently ignored."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from helpdesk.errors import Unprocessable
from helpdesk.models import Actor
from helpdesk.settings import Settings
from helpdesk.store import TicketQuery


def known_query(
    given: dict[str, str] | None,
    route: Callable[..., Any],
    aliases: dict[str, str] | None = None,
) -> None:
    """422 naming any query parameter the route does not take (a typo is not a filter);
    `aliases` names parameters whose query name is not their Python name (`from`)."""
    allowed = {(aliases or {}).get(name, name) for name in inspect.signature(route).parameters}
    unknown = sorted(set(given or {}) - allowed)
    if unknown:
        raise Unprocessable(
            f"unknown query parameter {unknown[0]!r}",
            unknown=unknown,
            allowed=sorted(allowed),
        )


def ticket_query(actor: Actor, values: dict[str, Any], settings: Settings) -> TicketQuery:
    """The list query, with `assignee=me` meaning the caller; an unknown direction is 422."""
    fields = {name: values[name] for name in TicketQuery.__dataclass_fields__ if name in values}
    direction = fields.get("direction")
    if direction:
        settings.known_direction(direction)
    if fields.get("assignee") == "me":
        fields["assignee"] = actor.user_id
    return TicketQuery(**fields)
