"""Roles come from the groups claim exactly as the identity provider sent it."""

from __future__ import annotations

from typing import Any

import pytest

from helpdesk.errors import Forbidden, Unauthorized
from helpdesk.http.auth import actor_from_event, groups_claim, require_role


def event(groups: Any) -> dict[str, Any]:
    return {
        "requestContext": {
            "authorizer": {"jwt": {"claims": {"sub": "u1", "cognito:groups": groups}}}
        }
    }


@pytest.mark.parametrize(
    ("raw", "groups"),
    [
        ("[agent lead]", ["agent", "lead"]),  # API Gateway's string form of an array claim
        (["agent", "lead"], ["agent", "lead"]),  # a real list
        ('["agent","lead"]', ["agent", "lead"]),
        ("lead", ["lead"]),
        ("x,lead", ["x,lead"]),  # one group with a comma in its name: not the role lead
        ("[[lead]]", []),
        ("", []),
        (None, []),
        (42, []),
    ],
)
def test_the_groups_claim_is_read_as_sent(raw: Any, groups: list[str]) -> None:
    assert groups_claim(raw) == groups


@pytest.mark.parametrize("raw", ["x,lead", "[lead]x", ["[lead]"], "lead,agent"])
def test_a_lookalike_group_is_not_a_role(raw: Any) -> None:
    with pytest.raises(Forbidden):
        require_role(event(raw), "lead")


def test_no_subject_is_unauthorized() -> None:
    with pytest.raises(Unauthorized):
        actor_from_event({"requestContext": {}})
