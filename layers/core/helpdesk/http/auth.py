"""Who is calling the staff API: the subject and roles API Gateway's JWT authorizer saw."""

from __future__ import annotations

import json
from typing import Any

from helpdesk.errors import Forbidden, Unauthorized
from helpdesk.models import Actor
from helpdesk.settings import get_settings

STAFF_ROLES = ("agent", "lead")


def groups_claim(raw: Any) -> list[str]:
    """The groups claim as the identity provider sent it, and nothing else.

    A real list (a custom authorizer, the local stack) is taken as is. HTTP APIs pass an
    array claim to the function as one string, "[agent lead]"; a JSON array string is also
    accepted. A group name is never split on commas or stripped of brackets: a group called
    "x,lead" or "[lead]" is that group, not the role lead.
    """
    if isinstance(raw, list):
        return [item for item in raw if isinstance(item, str)]
    if not isinstance(raw, str) or not raw:
        return []
    if raw.startswith("[") and raw.endswith("]"):
        try:
            parsed = json.loads(raw)
        except ValueError:
            inner = raw[1:-1]
            return inner.split(" ") if inner and "[" not in inner and "]" not in inner else []
        return (
            [item for item in parsed if isinstance(item, str)] if isinstance(parsed, list) else []
        )
    return [raw]


def actor_from_event(event: Any) -> Actor:
    claims = (event.get("requestContext") or {}).get("authorizer", {}).get("jwt", {}).get(
        "claims"
    ) or {}
    subject = claims.get("sub")
    if not subject:
        raise Unauthorized("no authenticated caller (missing JWT claims)")
    raw = claims.get(get_settings().groups_claim, claims.get("groups"))
    return Actor(user_id=str(subject), roles=frozenset(groups_claim(raw)))


def require_role(event: Any, *roles: str) -> Actor:
    actor = actor_from_event(event)
    if not actor.has_any(*roles):
        raise Forbidden(f"this needs one of the roles: {', '.join(roles)}", roles=list(roles))
    return actor
