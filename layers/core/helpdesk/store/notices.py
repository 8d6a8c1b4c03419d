"""Incident notices: the notice, its commanders' requests, the banner of each direction, the
fan-outs under way and their delivery counters, the channel post, and linked tickets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from helpdesk.errors import Conflict, NotFound
from helpdesk.incidents import Notice
from helpdesk.models import iso
from helpdesk.store import keys
from helpdesk.store.codec import compact, to_dynamo
from helpdesk.store.items import fields
from helpdesk.store.table import Table, Write, put, put_new, update

STATES = ("queued", "sent", "failed", "skipped")
END = "#END"  # the cursor of a fan-out whose last page was taken


def notice_item(notice: Notice) -> dict[str, Any]:
    item = {**keys.notice(notice.id), "type": "notice", **compact(notice.model_dump(mode="json"))}
    item["GSI3PK"] = keys.NOTICES
    item["GSI3SK"] = f"{iso(notice.started_at)}#{notice.id}"
    return item


def new_notice(notice: Notice) -> Write:
    return put_new(notice_item(notice), Conflict(f"notice {notice.id} exists"))


def changed_notice(notice: Notice, expected_version: int) -> Write:
    # Two commanders posting at once: the second re-reads, never undoes the first.
    return put(
        notice_item(notice),
        "attribute_exists(PK) AND version = :expected",
        {":expected": expected_version},
        Conflict(f"notice {notice.id} was changed meanwhile; reload it and try again"),
    )


class RequestSeen(Conflict):
    """This request_id was posted before: answer what it did, do nothing again."""


def request_record(request_id: str, notice_id: str, action: str, now: datetime) -> Write:
    item = {
        **keys.notice_request(request_id),
        "type": "notice_request",
        "notice_id": notice_id,
        "action": action,
        "at": iso(now),
        "expires_at": int(now.timestamp()) + 30 * 86400,
    }
    return put_new(item, RequestSeen(f"request {request_id} was already posted"))


def banner_write(direction: str, entries: list[dict[str, Any]], version: int) -> Write:
    """The direction's active notices, if nobody rewrote them since `version` was read."""
    item = {
        **keys.banner(direction),
        "type": "banner",
        "direction": direction,
        "notices": entries,
        "version": version + 1,
    }
    changed = Conflict("another incident changed the banner meanwhile; try again")
    if version == 0:
        return put(item, "attribute_not_exists(PK)", None, changed)
    return put(item, "version = :v", {":v": version}, changed)


def fan_out_started(
    notice_id: str, revision: int, direction: str, channel: str, now: datetime
) -> Write:
    """A fan-out under way: the notice sweep finds it (sparse index) until it is done."""
    return put(
        {
            **keys.fan_out(notice_id, revision, direction, channel),
            "type": "fan_out",
            "notice_id": notice_id,
            "revision": revision,
            "direction": direction,
            "channel": channel,
            "state": "expanding",
            "cursor": "",
            "generation": 1,
            "pages": 0,
            "updated_at": iso(now),
            "GSI3PK": keys.FAN_OUTS,
            "GSI3SK": f"{iso(now)}#{notice_id}#{revision}#{direction}#{channel}",
        }
    )


def link_item(notice_id: str, ticket_id: str, now: datetime) -> Write:
    """A ticket opened during the incident is linked to it (resolved with it, if asked)."""
    return put(
        {
            **keys.notice_link(notice_id, ticket_id),
            "type": "notice_link",
            "ticket_id": ticket_id,
            "at": iso(now),
        }
    )


class Notices:
    def __init__(self, table: Table) -> None:
        self.table = table

    # -- the notice ---------------------------------------------------------------------

    def get(self, notice_id: str) -> Notice:
        item = self.table.get(keys.notice(notice_id))
        if item is None:
            raise NotFound(f"notice {notice_id} not found", notice_id=notice_id)
        return Notice.model_validate(fields(item))

    def recent(self, limit: int = 50) -> list[Notice]:
        items, _ = self.table.query_page(
            IndexName="GSI3",
            KeyConditionExpression="GSI3PK = :pk",
            ExpressionAttributeValues={":pk": {"S": keys.NOTICES}},
            ScanIndexForward=False,
            Limit=limit,
        )
        found = self.table.get_many([{"PK": i["PK"], "SK": i["SK"]} for i in items])
        notices = [Notice.model_validate(fields(item)) for item in found]
        return sorted(notices, key=lambda n: n.started_at, reverse=True)

    def request(self, request_id: str) -> dict[str, Any] | None:
        return self.table.get(keys.notice_request(request_id))

    def banner(self, direction: str) -> tuple[list[dict[str, Any]], int]:
        item = self.table.get(keys.banner(direction)) or {}
        return list(item.get("notices", [])), int(item.get("version", 0))

    # -- fan-outs -----------------------------------------------------------------------

    def advance(
        self,
        notice_id: str,
        revision: int,
        direction: str,
        channel: str,
        generation: int,
        after: str | None,
        following: str | None,
        now: datetime,
    ) -> bool:
        """Take the page after `after` for this generation (the cursor moves on to
        `following`); False when another delivery of the same page job took it."""
        expression = "SET #cursor = :next, updated_at = :now, GSI3SK = :sort ADD pages :one"
        values: dict[str, Any] = {
            ":next": following or END,  # the last page: no delivery of any page matches
            ":now": iso(now),
            ":sort": f"{iso(now)}#{notice_id}#{revision}#{direction}#{channel}",
            ":one": 1,
            ":after": after or "",
            ":generation": generation,
        }
        if following is None:
            expression = expression.replace("SET ", "SET #state = :expanded, ")
            values[":expanded"] = "expanded"
        write = update(
            keys.fan_out(notice_id, revision, direction, channel),
            expression,
            values,
            {"#cursor": "cursor", **({"#state": "state"} if following is None else {})},
            condition="#cursor = :after AND generation = :generation",
        )
        return self.table.write_or_existing(write) is None

    def under_way(self) -> list[dict[str, Any]]:
        """Fan-outs not yet done, oldest activity first (the notice sweep's worklist)."""
        entries = self.table.query_all(
            IndexName="GSI3",
            KeyConditionExpression="GSI3PK = :pk",
            ExpressionAttributeValues={":pk": {"S": keys.FAN_OUTS}},
        )
        # The index holds ticket fields only: the records themselves, by key.
        found = self.table.get_many([{"PK": e["PK"], "SK": e["SK"]} for e in entries])
        return sorted(found, key=lambda item: str(item["updated_at"]))

    def restart(self, fan_out: dict[str, Any], now: datetime) -> int | None:
        """Expand a stalled fan-out again from the start; the new generation, or None when
        someone else restarted or advanced it meanwhile."""
        generation = int(fan_out["generation"]) + 1
        write = update(
            {"PK": fan_out["PK"], "SK": fan_out["SK"]},
            "SET generation = :next, #cursor = :empty, #state = :expanding, updated_at = :now",
            {
                ":next": generation,
                ":empty": "",
                ":expanding": "expanding",
                ":now": iso(now),
                ":generation": int(fan_out["generation"]),
                ":seen": fan_out["updated_at"],
            },
            {"#cursor": "cursor", "#state": "state"},
            condition="generation = :generation AND updated_at = :seen",
        )
        return generation if self.table.write_or_existing(write) is None else None

    def done(self, fan_out: dict[str, Any], now: datetime) -> None:
        self.table.transact(
            [
                update(
                    {"PK": fan_out["PK"], "SK": fan_out["SK"]},
                    "SET #state = :done, updated_at = :now REMOVE GSI3PK, GSI3SK",
                    {":done": "done", ":now": iso(now)},
                    {"#state": "state"},
                )
            ]
        )

    def touch(self, fan_out: dict[str, Any], now: datetime) -> None:
        """Progress seen: the sweep looks again later instead of restarting it."""
        self.table.transact(
            [
                update(
                    {"PK": fan_out["PK"], "SK": fan_out["SK"]},
                    "SET updated_at = :now, seen_done = :done",
                    {":now": iso(now), ":done": int(fan_out.get("seen_done", 0))},
                )
            ]
        )

    # -- delivery counters -----------------------------------------------------------------

    def count(
        self, notice_id: str, revision: int, channel: str, counts: dict[str, int], now: datetime
    ) -> None:
        """Add to a revision's counters (one ADD for a whole batch run)."""
        counts = {state: n for state, n in counts.items() if n}
        if not counts:
            return
        names = {f"#c{i}": f"r{revision}_{channel}_{state}" for i, state in enumerate(counts)}
        values: dict[str, Any] = {f":c{i}": n for i, n in enumerate(counts.values())}
        adds = ", ".join(f"#c{i} :c{i}" for i in range(len(counts)))
        write = update(
            keys.notice_progress(notice_id),
            f"ADD {adds} SET progress_at = :now",
            {**values, ":now": iso(now)},
            names,
        )
        self.table.transact([write])

    def set_counts(
        self, notice_id: str, revision: int, channel: str, counts: dict[str, int]
    ) -> None:
        """Exact counters from the deliveries themselves (the sweep's reconciliation)."""
        names = {f"#c{i}": f"r{revision}_{channel}_{state}" for i, state in enumerate(counts)}
        values: dict[str, Any] = {f":c{i}": n for i, n in enumerate(counts.values())}
        sets = ", ".join(f"#c{i} = :c{i}" for i in range(len(counts)))
        self.table.transact([update(keys.notice_progress(notice_id), f"SET {sets}", values, names)])

    def progress(self, notice_id: str) -> dict[str, dict[str, dict[str, int]]]:
        """{revision: {channel: {queued, sent, failed, skipped}}} from the counters."""
        item = self.table.get(keys.notice_progress(notice_id)) or {}
        found: dict[str, dict[str, dict[str, int]]] = {}
        for name, value in item.items():
            parts = name.split("_")
            if len(parts) != 3 or not parts[0].startswith("r") or parts[2] not in STATES:
                continue
            revision, channel, state = parts
            channels = found.setdefault(revision.removeprefix("r"), {})
            channels.setdefault(channel, dict.fromkeys(STATES, 0))[state] = int(value)
        return found

    def fan_outs(self, notice_id: str) -> list[dict[str, Any]]:
        return list(
            self.table.query_all(
                KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
                ExpressionAttributeValues={
                    ":pk": {"S": keys.notice(notice_id)["PK"]},
                    ":prefix": {"S": "FANOUT#"},
                },
            )
        )

    # -- the channel post ----------------------------------------------------------------

    def channel_post(self, notice_id: str, direction: str) -> dict[str, Any] | None:
        return self.table.get(keys.channel_post(notice_id, direction))

    def claim_channel_post(
        self, notice_id: str, direction: str, now: datetime, lease: datetime
    ) -> dict[str, Any] | None:
        """None: ours to post first. Else the post record someone else left."""
        item = {
            **keys.channel_post(notice_id, direction),
            "type": "channel_post",
            "state": "posting",
            "lease_until": iso(lease),
            "revision": 0,
        }
        return self.table.write_or_existing(put(item, "attribute_not_exists(PK)"))

    def channel_posted(
        self,
        notice_id: str,
        direction: str,
        message_id: str | None,
        revision: int,
        error: str | None,
    ) -> None:
        values: dict[str, Any] = {":revision": revision, ":state": "failed" if error else "posted"}
        sets = ["revision = :revision", "#state = :state"]
        if message_id:
            sets.append("message_id = :message")
            values[":message"] = message_id
        if error:
            sets.append("#error = :error")
            values[":error"] = error[:300]
        self.table.transact(
            [
                update(
                    keys.channel_post(notice_id, direction),
                    f"SET {', '.join(sets)} REMOVE lease_until",
                    values,
                    {"#state": "state", **({"#error": "error"} if error else {})},
                )
            ]
        )

    def release_channel_post(self, notice_id: str, direction: str) -> None:
        """The first post did not go out (429, no connection): the next job posts it."""
        self.table.client.delete_item(
            TableName=self.table.name,
            Key=to_dynamo(keys.channel_post(notice_id, direction)),
        )

    def channel_edited(self, notice_id: str, direction: str, revision: int) -> None:
        """The post shows `revision` (never moves back: edits may finish out of order)."""
        write = update(
            keys.channel_post(notice_id, direction),
            "SET revision = :revision",
            {":revision": revision},
            condition="revision < :revision",
        )
        self.table.write_or_existing(write)

    # -- linked tickets -----------------------------------------------------------------

    def linked(
        self, notice_id: str, after: str | None, limit: int = 50
    ) -> tuple[list[str], str | None]:
        request: dict[str, Any] = {
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": {"S": keys.notice(notice_id)["PK"]},
                ":prefix": {"S": "TICKET#"},
            },
            "Limit": limit,
        }
        if after:
            request["ExclusiveStartKey"] = to_dynamo(keys.notice_link(notice_id, after))
        items, last = self.table.query_page(**request)
        following = str(last["SK"]["S"]).removeprefix("TICKET#") if last else None
        return [str(item["ticket_id"]) for item in items], following
