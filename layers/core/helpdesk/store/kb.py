"""The knowledge base's items: articles and their versions, the search index, the gaps.

The index is built on publish and kept in the table, gzipped, in chunks of `CHUNK_BYTES`
under `KBINDEX#<direction>`; `#POINTER` names the current build. A build is numbered by
`wanted` (an atomic ADD when it starts), written chunk by chunk under its own number, then
made current by a conditional update that only moves the pointer forward: two builds racing
cannot put an older one in place of a newer one, and the loser deletes its chunks. The
winner deletes the chunks of the build it replaced.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from helpdesk.errors import Conflict, HelpdeskError, NotFound
from helpdesk.kb import Article, Version
from helpdesk.models import Ticket, iso
from helpdesk.search import Source
from helpdesk.store import keys
from helpdesk.store.codec import compact, to_dynamo
from helpdesk.store.table import Table, Write, delete, put, update

CHUNK_BYTES = 350_000  # under DynamoDB's 400 KB item limit, with room for the keys
GAP_DAYS = 400
MAX_SUBJECT = 200


class DuplicateSlug(HelpdeskError):
    status_code = 409
    code = "duplicate_slug"


def _article_item(article: Article) -> dict[str, Any]:
    return {
        **keys.article(article.direction, article.slug),
        "type": "article",
        **compact(article.model_dump(mode="json")),
    }


def _version_item(version: Version) -> dict[str, Any]:
    return {
        **keys.article_version(version.direction, version.slug, version.revision),
        "type": "article_version",
        **compact(version.model_dump(mode="json")),
    }


def new_article(article: Article, version: Version) -> list[Write]:
    """A new article and its first version; a slug taken in the direction is 409."""
    taken = DuplicateSlug(
        f"the slug {article.slug!r} is taken in {article.direction}", slug=article.slug
    )
    return [
        put(_article_item(article), "attribute_not_exists(PK)", on_condition_failed=taken),
        put(_version_item(version), "attribute_not_exists(PK)"),
    ]


def changed_article(article: Article, read_revision: int, version: Version | None) -> list[Write]:
    """The article as changed from the revision the caller read (409 if another change came
    first), with the new version when the content changed."""
    stale = Conflict(
        f"the article moved on from revision {read_revision}; reload it and try again",
        current_version=read_revision,
    )
    writes = [
        put(
            _article_item(article),
            "revision = :read",
            {":read": read_revision},
            on_condition_failed=stale,
        )
    ]
    if version is not None:
        writes.append(put(_version_item(version), "attribute_not_exists(PK)"))
    return writes


def gap_write(ticket: Ticket, agent: str, now: datetime) -> Write:
    """The ticket was resolved with no article to cover it (keyed by the moment and number:
    a resolve written once is counted once)."""
    item = {
        **keys.kb_gap(ticket.direction, now, ticket.id),
        "type": "kb_gap",
        "ticket_id": ticket.id,
        "topic": ticket.topic,
        "category": ticket.category.value if ticket.category else None,
        "subject": ticket.subject[:MAX_SUBJECT],
        "agent": agent,
        "at": iso(now),
        "expires_at": int(now.timestamp()) + GAP_DAYS * 86400,
    }
    return put(compact(item))


class Articles:
    def __init__(self, table: Table) -> None:
        self.table = table

    def find(self, direction: str, slug: str) -> Article | None:
        item = self.table.get(keys.article(direction, slug))
        return Article.model_validate(item) if item else None

    def get(self, direction: str, slug: str) -> Article:
        found = self.find(direction, slug)
        if found is None:
            raise NotFound(f"no article {slug!r} in {direction}")
        return found

    def page(
        self, direction: str, status: str | None, after: str | None, limit: int
    ) -> tuple[list[Article], str | None]:
        """A page of the direction's articles by slug (`status` draft or published)."""
        request: dict[str, Any] = {
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": {"S": keys.kb_partition(direction)},
                ":prefix": {"S": "ART#"},
            },
            "Limit": limit,
        }
        if status:
            exists = "attribute_exists" if status == "published" else "attribute_not_exists"
            request["FilterExpression"] = f"{exists}(published)"
        if after:
            request["ExclusiveStartKey"] = to_dynamo(keys.article(direction, after))
        items, last = self.table.query_page(**request)
        following = str(last["SK"]["S"]).removeprefix("ART#") if last else None
        return [Article.model_validate(item) for item in items], following

    def versions(self, direction: str, slug: str, limit: int = 50) -> list[Version]:
        """The newest `limit` versions of an article, newest first."""
        items, _ = self.table.query_page(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues={
                ":pk": {"S": keys.kb_partition(direction)},
                ":prefix": {"S": f"VER#{slug}#"},
            },
            ScanIndexForward=False,
            Limit=limit,
        )
        return [Version.model_validate(item) for item in items]

    def published(self, direction: str) -> Iterator[Source]:
        """Every published snapshot of the direction (the index builder's input); reads the
        snapshots only, not the working copies."""
        for item in self.table.query_all(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues={
                ":pk": {"S": keys.kb_partition(direction)},
                ":prefix": {"S": "ART#"},
            },
            FilterExpression="attribute_exists(published)",
            ProjectionExpression="slug, published",
        ):
            snapshot = item["published"]
            yield Source(
                item["slug"],
                snapshot["title"],
                snapshot["body"],
                snapshot.get("language", "ru"),
                snapshot.get("tags", []),
            )

    # The search index ---------------------------------------------------------------

    def start_build(self, direction: str) -> int:
        """The number of a new build: every publish asks for one, the newest wins."""
        write = update(keys.kb_index_pointer(direction), "ADD wanted :one", {":one": 1})
        item = self.table.update_returning(write)
        return int((item or {})["wanted"])

    def save_build(self, direction: str, build: int, blob: bytes, now: datetime) -> bool:
        """Store a build and make it current unless a newer one already is; False if it was
        too late (its chunks are deleted again)."""
        chunks = [blob[i : i + CHUNK_BYTES] for i in range(0, len(blob), CHUNK_BYTES)] or [b""]
        self.table.put_many(
            [
                {**keys.kb_index_chunk(direction, build, part), "type": "kb_index", "data": chunk}
                for part, chunk in enumerate(chunks)
            ]
        )
        forward = update(
            keys.kb_index_pointer(direction),
            "SET built = :build, chunks = :chunks, bytes = :bytes, built_at = :at",
            {":build": build, ":chunks": len(chunks), ":bytes": len(blob), ":at": iso(now)},
            # Only forward: a slower, older build must not replace a newer current one.
            condition="attribute_not_exists(built) OR built < :build",
        )
        old = self.table.update_returning(forward, returning="ALL_OLD")
        if old is None:
            self._drop(direction, build, len(chunks))
            return False
        if "built" in old:
            self._drop(direction, int(old["built"]), int(old.get("chunks", 0)))
        return True

    def pointer(self, direction: str) -> dict[str, Any] | None:
        return self.table.get(keys.kb_index_pointer(direction))

    def load_build(self, direction: str, build: int, chunks: int) -> bytes | None:
        """The stored build's bytes; None if it is gone (replaced since the pointer was read)."""
        parts = self.table.get_many(
            [keys.kb_index_chunk(direction, build, part) for part in range(chunks)]
        )
        if len(parts) != chunks:
            return None
        parts.sort(key=lambda item: str(item["SK"]))
        return b"".join(_bytes(item["data"]) for item in parts)

    def _drop(self, direction: str, build: int, chunks: int) -> None:
        for part in range(chunks):
            self.table.transact([delete(keys.kb_index_chunk(direction, build, part))])

    # Gaps ----------------------------------------------------------------------------

    def gaps(self, direction: str, limit: int) -> list[dict[str, Any]]:
        """The newest gaps of a direction, newest first."""
        items, _ = self.table.query_page(
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": keys.kb_gaps_partition(direction)}},
            ScanIndexForward=False,
            Limit=limit,
        )
        fields = ("ticket_id", "topic", "category", "subject", "agent", "at")
        return [{name: item.get(name) for name in fields} for item in items]


def _bytes(value: Any) -> bytes:
    return bytes(value)  # boto3's Binary, or bytes
