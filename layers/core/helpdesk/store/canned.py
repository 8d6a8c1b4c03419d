"""Canned replies: a direction's (`CANNED#DIR#<d>`) and each agent's own (`CANNED#USER#<id>`).

The id says which partition holds it (`d-…` a direction's, `u-…` an agent's), so a reply's
`template_id` is found with one read.
"""

from __future__ import annotations

import re

from helpdesk.errors import NotFound
from helpdesk.replies import CannedReply
from helpdesk.store import keys
from helpdesk.store.codec import compact
from helpdesk.store.table import Table, Write, delete, put

LIMIT = 200  # replies read per partition; more than anyone scrolls through
ID = re.compile(r"^[du]-[0-9a-f]{12}$")  # as replies are made (usecases.replies)


def _key(reply: CannedReply) -> dict[str, str]:
    return keys.canned(reply.direction, reply.owner, reply.id)


def new_reply(reply: CannedReply) -> Write:
    item = {**_key(reply), "type": "canned", **compact(reply.model_dump(mode="json"))}
    return put(item, "attribute_not_exists(PK)")


def removed(reply: CannedReply) -> Write:
    return delete(_key(reply))


class CannedReplies:
    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, reply_id: str, direction: str, user_id: str) -> CannedReply:
        """The direction's reply or the user's own one; someone else's is not found."""
        owner = user_id if reply_id.startswith("u-") else None
        item = (
            self.table.get(keys.canned(direction, owner, reply_id)) if ID.match(reply_id) else None
        )
        if item is None or (owner is None and item.get("direction") != direction):
            raise NotFound(f"no canned reply {reply_id!r} for {direction}", template_id=reply_id)
        return CannedReply.model_validate(item)

    def listed(self, direction: str, user_id: str) -> list[CannedReply]:
        """The direction's replies, then the user's own for the direction, by title."""
        found: list[CannedReply] = []
        for owner in (None, user_id):
            items, _ = self.table.query_page(
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": {"S": keys.canned_partition(direction, owner)}},
                Limit=LIMIT,
            )
            replies = [CannedReply.model_validate(item) for item in items]
            found += sorted(
                (r for r in replies if r.direction == direction), key=lambda r: r.title.lower()
            )
        return found
