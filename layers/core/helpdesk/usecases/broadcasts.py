"""Incident commanders' side of notices: start, update, resolve, watch; and the banner.

Each post is one transaction (the notice at its next version, the banner of every affected
direction, the commander's request record, the new revision's fan-out records) and then its
jobs: the fan-out pages, the channel post, the linked tickets. A request_id seen before
answers what it did and does nothing again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from helpdesk import incidents
from helpdesk.errors import Conflict, Unprocessable
from helpdesk.incidents import Notice
from helpdesk.jobs import ChannelPostJob, Job, ResolveLinkedJob
from helpdesk.jobs.queue import JobQueue
from helpdesk.models import Actor, iso, utc_now
from helpdesk.settings import Settings, get_settings
from helpdesk.store import Store, Write
from helpdesk.store.notices import (
    STATES,
    RequestSeen,
    banner_write,
    changed_notice,
    new_notice,
    request_record,
)
from helpdesk.usecases.notices import NoticeDelivery

MAX_ATTEMPTS = 4
FAN_OUT_AFTER_LINKED = 10  # seconds: linked tickets hear in their ticket first


@dataclass
class IncidentDesk:
    store: Store = field(default_factory=Store)
    queue: JobQueue = field(default_factory=JobQueue)
    settings: Callable[[], Settings] = get_settings
    clock: Callable[[], datetime] = utc_now

    # -- commanders -----------------------------------------------------------------------

    def start(
        self,
        actor: Actor,
        *,
        severity: incidents.Severity,
        directions: list[str],
        text: dict[str, str],
        request_id: str,
        eta: datetime | None = None,
        channels: list[str] | None = None,
    ) -> tuple[Notice, bool]:
        """The new notice (or the one this request_id started before) and whether it is new."""
        self._known(directions)
        if channels:
            allowed = incidents.CHANNELS_BY_SEVERITY[severity]
            if refused := [c for c in channels if c not in allowed]:
                raise Unprocessable(
                    f"{severity} incidents are not sent in {', '.join(refused)} "
                    f"(WhatsApp is for red incidents only)",
                    channels=list(allowed),
                )
        if seen := self._seen(request_id, None):
            return seen, False
        now = self.clock()
        notice_id = f"INC-{self.store.counters.next('incidents'):06d}"
        notice = incidents.start(
            notice_id,
            actor=actor,
            severity=severity,
            directions=directions,
            text=text,
            eta=eta,
            channels=channels,
            now=now,
        )
        writes = [new_notice(notice), request_record(request_id, notice.id, "start", now)]
        try:
            self._write(notice, writes, now)
        except RequestSeen:
            return self._seen(request_id, None) or notice, False
        self._announce(notice)
        return notice, True

    def update(
        self,
        actor: Actor,
        notice_id: str,
        *,
        text: dict[str, str],
        eta: datetime | None = None,
        request_id: str | None = None,
    ) -> Notice:
        return self._change(
            notice_id,
            request_id,
            "update",
            lambda notice, now: incidents.update(notice, actor=actor, text=text, eta=eta, now=now),
        )

    def resolve(
        self,
        actor: Actor,
        notice_id: str,
        *,
        text: dict[str, str],
        request_id: str | None = None,
        resolve_linked: bool = False,
    ) -> Notice:
        return self._change(
            notice_id,
            request_id,
            "resolve",
            lambda notice, now: incidents.resolve(
                notice, actor=actor, text=text, now=now, resolve_linked=resolve_linked
            ),
        )

    def _change(
        self,
        notice_id: str,
        request_id: str | None,
        action: str,
        rule: Callable[[Notice, datetime], Notice],
    ) -> Notice:
        if request_id and (seen := self._seen(request_id, notice_id)):
            return seen
        for _ in range(MAX_ATTEMPTS):
            before = self.store.notices.get(notice_id)
            now = self.clock()
            notice = rule(before, now)
            writes = [changed_notice(notice, before.version)]
            if request_id:
                writes.append(request_record(request_id, notice.id, action, now))
            try:
                self._write(notice, writes, now)
            except RequestSeen:
                return self._seen(request_id or "", notice_id) or notice
            except Conflict:
                continue  # another commander posted meanwhile: apply ours to theirs
            self._announce(notice)
            return notice
        raise Conflict(f"notice {notice_id} keeps changing; reload it and try again")

    def _seen(self, request_id: str, notice_id: str | None) -> Notice | None:
        record = self.store.notices.request(request_id)
        if record is None:
            return None
        if notice_id and record["notice_id"] != notice_id:
            raise Conflict(
                f"request_id {request_id} was used for notice {record['notice_id']}; "
                "use a new request_id for each post"
            )
        return self.store.notices.get(str(record["notice_id"]))

    def _write(self, notice: Notice, writes: list[Write], now: datetime) -> None:
        """The notice, the banners it changes and its fan-out records, all or none."""
        delivery = NoticeDelivery(self.store, self.queue, settings=self.settings)
        for direction in notice.directions:
            entries, version = self.store.notices.banner(direction)
            kept = [entry for entry in entries if entry["id"] != notice.id]
            if notice.state == "active":
                kept.append(incidents.banner_entry(notice))
            writes.append(banner_write(direction, kept, version))
        self.store.transact([*writes, *delivery.start_writes(notice, now)])

    def _announce(self, notice: Notice) -> None:
        """The jobs of a new revision: linked tickets first, then the fan-out and the
        channel post (the sweep starts a fan-out whose jobs never arrived)."""
        delivery = NoticeDelivery(self.store, self.queue, settings=self.settings)
        posts: list[Job] = [
            ChannelPostJob(notice_id=notice.id, direction=direction, revision=notice.revision)
            for direction in notice.directions
        ]
        fan_outs: list[Job] = list(delivery.fan_out_jobs(notice))
        if notice.state == "resolved" and notice.resolve_linked:
            self.queue.send([ResolveLinkedJob(notice_id=notice.id), *posts])
            self.queue.send(fan_outs, delay_seconds=FAN_OUT_AFTER_LINKED)
        else:
            self.queue.send([*fan_outs, *posts])

    # -- reading --------------------------------------------------------------------------

    def view(self, notice_id: str) -> dict[str, Any]:
        """The notice with its delivery per revision and channel, and whether each is done
        (every direction's fan-out closed: a channel nobody is in reads zeros, done)."""
        notice = self.store.notices.get(notice_id)
        progress = self.store.notices.progress(notice_id)
        done: dict[tuple[str, str], bool] = {}
        for fan_out in self.store.notices.fan_outs(notice_id):
            where = (str(int(fan_out["revision"])), str(fan_out["channel"]))
            done[where] = done.get(where, True) and fan_out.get("state") == "done"
            progress.setdefault(where[0], {}).setdefault(where[1], dict.fromkeys(STATES, 0))
        view = notice_view(notice, progress)
        for (revision, channel), finished in done.items():
            view["delivery"][revision][channel]["done"] = finished
        return view

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        return [notice_view(notice, None) for notice in self.store.notices.recent(limit)]

    def banner(self, direction: str, language: str | None) -> tuple[dict[str, Any], str]:
        """The direction's active notices in a language, and their ETag: one read."""
        self._known([direction])
        config = self.settings().direction(direction)
        entries, _ = self.store.notices.banner(direction)
        return incidents.banner_view(entries, language or config.language)

    def active(self, direction: str) -> list[dict[str, Any]]:
        """Active notices of a direction, for a client who opens a ticket (one read)."""
        entries, _ = self.store.notices.banner(direction)
        return entries

    def _known(self, directions: list[str]) -> None:
        settings = self.settings()
        if unknown := [d for d in directions if not settings.has_direction(d)]:
            raise Unprocessable(
                f"no direction {', '.join(unknown)}", directions=settings.direction_ids()
            )


def notice_view(
    notice: Notice, progress: dict[str, dict[str, dict[str, int]]] | None
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": notice.id,
        "severity": notice.severity,
        "colour": incidents.COLOURS[notice.severity],
        "state": notice.state,
        "directions": notice.directions,
        "channels": notice.channels,
        "text": notice.text,
        "eta": iso(notice.eta) if notice.eta else None,
        "started_at": iso(notice.started_at),
        "updated_at": iso(notice.updated_at),
        "resolved_at": iso(notice.resolved_at) if notice.resolved_at else None,
        "created_by": notice.created_by,
        "revision": notice.revision,
        "version": notice.version,
        "resolve_linked": notice.resolve_linked,
        "posts": [
            {
                "revision": post.revision,
                "kind": post.kind,
                "text": post.text,
                "eta": iso(post.eta) if post.eta else None,
                "at": iso(post.at),
                "by": post.by,
            }
            for post in notice.posts
        ],
    }
    if progress is not None:
        view["delivery"] = {
            revision: {
                channel: {
                    **counts,
                    "pending": max(0, counts["queued"] - counts["sent"] - counts["failed"]),
                }
                for channel, counts in channels.items()
            }
            for revision, channels in sorted(progress.items(), key=lambda kv: int(kv[0]))
        }
    return view
