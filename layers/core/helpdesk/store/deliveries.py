"""Per-recipient deliveries of a notice revision: each told at most once, whatever the
redeliveries and crashes.

A delivery is claimed (a conditional write) just before its send and finished just after it.
A claim that finds the delivery finished, or claimed by a consumer still within its lease,
gets the existing record back and the recipient is not sent again. A send the provider
refused for now (429, a 5xx, no connection) is released for a later attempt. A consumer that
died between its claim and its finish, or a send that left without an answer, has an outcome
nobody can know (the Bot API cannot be asked): it is recorded as failed with that reason and
never sent a second time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from helpdesk.models import iso
from helpdesk.store import keys
from helpdesk.store.table import Table, Write, put, update

RECORD_DAYS = 30
UNKNOWN = "outcome unknown: the sender stopped between the provider and the record; not sent twice"


@dataclass(frozen=True)
class Claim:
    """The answer to a claim: ours to send, or the state someone else left."""

    ours: bool
    state: str  # sending (ours, or someone's live lease), sent, failed, skipped, retry
    error: str | None = None


def _claimed_item(
    notice_id: str, revision: int, channel: str, address: str, now: datetime, lease: datetime
) -> dict[str, Any]:
    return {
        **keys.delivery(notice_id, revision, channel, address),
        "type": "delivery",
        "state": "sending",
        "lease_until": iso(lease),
        "expires_at": int(now.timestamp()) + RECORD_DAYS * 86400,
    }


def finished(
    notice_id: str,
    revision: int,
    channel: str,
    address: str,
    state: str,
    error: str | None = None,
    provider_message_id: str | None = None,
) -> Write:
    values: dict[str, Any] = {":state": state}
    names = {"#state": "state"}
    sets = ["#state = :state"]
    if error:
        sets.append("#error = :error")
        values[":error"] = error[:300]
        names["#error"] = "error"
    if provider_message_id:
        sets.append("provider_message_id = :pmid")
        values[":pmid"] = provider_message_id
    return update(
        keys.delivery(notice_id, revision, channel, address),
        f"SET {', '.join(sets)} REMOVE lease_until",
        values,
        names,
    )


class Deliveries:
    def __init__(self, table: Table) -> None:
        self.table = table

    def claim(
        self,
        notice_id: str,
        revision: int,
        channel: str,
        address: str,
        now: datetime,
        lease: datetime,
    ) -> Claim:
        """Claim one recipient for a send (one write; two when a retry takes it over)."""
        item = _claimed_item(notice_id, revision, channel, address, now, lease)
        existing = self.table.write_or_existing(put(item, "attribute_not_exists(PK)"))
        if existing is None:
            return Claim(True, "sending")
        state = str(existing.get("state"))
        if state == "retry":
            retaken = put(item, "#state = :retry", {":retry": "retry"}, names={"#state": "state"})
            if self.table.write_or_existing(retaken) is None:
                return Claim(True, "sending")
            return Claim(False, "sending")
        if state == "sending" and str(existing.get("lease_until", "")) < iso(now):
            # Its sender died mid-send: record what we cannot know, once.
            gone = update(
                keys.delivery(notice_id, revision, channel, address),
                "SET #state = :failed, #error = :error REMOVE lease_until",
                {":failed": "failed", ":error": UNKNOWN, ":lease": existing["lease_until"]},
                {"#state": "state", "#error": "error"},
                condition="lease_until = :lease",
            )
            if self.table.write_or_existing(gone) is None:
                return Claim(False, "failed", UNKNOWN)
            return Claim(False, "sending")
        return Claim(False, state, existing.get("error"))

    def finish(self, write: Write) -> None:
        self.table.transact([write])

    def release(self, notice_id: str, revision: int, channel: str, address: str) -> None:
        """The provider did not take it (429, 5xx, no connection): claimable again."""
        self.table.transact(
            [
                update(
                    keys.delivery(notice_id, revision, channel, address),
                    "SET #state = :retry REMOVE lease_until",
                    {":retry": "retry"},
                    {"#state": "state"},
                )
            ]
        )

    def states(
        self, notice_id: str, revision: int, channel: str | None = None
    ) -> dict[str, dict[str, Any]]:
        """channel#address -> the delivery (state, error): for counting and for tests."""
        condition = "PK = :pk"
        values: dict[str, Any] = {":pk": {"S": keys.delivery(notice_id, revision, "", "")["PK"]}}
        if channel:
            condition += " AND begins_with(SK, :prefix)"
            values[":prefix"] = {"S": f"{channel}#"}
        return {
            str(item["SK"]): item
            for item in self.table.query_all(
                KeyConditionExpression=condition,
                ExpressionAttributeValues=values,
                ProjectionExpression="SK, #state, #error",
                ExpressionAttributeNames={"#state": "state", "#error": "error"},
            )
        }
