"""The knowledge base API: articles and their lifecycle, the search index built on publish,
search, suggestions for a ticket, and the gaps.

A publish (or unpublish) rebuilds the direction's index from the published snapshots and
stores it in the table (store.kb); a search reads the index's pointer (one GetItem) and loads
the build only when it changed since this process last loaded it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from helpdesk import kb
from helpdesk.errors import Conflict, NotFound
from helpdesk.models import Actor, MessageKind, utc_now
from helpdesk.search import Hit, Index, build
from helpdesk.settings import Settings, get_settings
from helpdesk.store import Store
from helpdesk.store.kb import changed_article, new_article

SUGGESTIONS = 5
CONVERSATION_MESSAGES = 5  # the client's last messages that make the suggestion's query
LANGUAGE_BOOST = 1.5  # an article in the ticket's language ranks above an equal other one

_loaded: dict[str, Index] = {}  # per direction: the build this process holds


def forget_loaded() -> None:
    """Drop the builds this process holds (the next search loads from the table)."""
    _loaded.clear()


@dataclass
class KnowledgeDesk:
    store: Store = field(default_factory=Store)
    settings: Callable[[], Settings] = get_settings
    clock: Callable[[], datetime] = utc_now

    def direction(self, direction: str) -> str:
        return self.settings().known_direction(direction)

    @property
    def base_url(self) -> str:
        return (self.settings().public_base_url or "").rstrip("/")

    # Articles -----------------------------------------------------------------------

    def create(self, actor: Actor, direction: str, slug: str, content: kb.Content) -> kb.Article:
        article, version = kb.new_article(
            self.direction(direction), slug, content, actor, self.clock()
        )
        self.store.transact(new_article(article, version))
        return article

    def article(self, direction: str, slug: str) -> tuple[kb.Article, list[kb.Version]]:
        article = self._read(direction, slug, None)
        return article, self.store.articles.versions(direction, slug)

    def articles(
        self, direction: str, status: str | None, cursor: str | None, limit: int
    ) -> tuple[list[kb.Article], str | None]:
        return self.store.articles.page(self.direction(direction), status, cursor, limit)

    def edit(
        self,
        actor: Actor,
        direction: str,
        slug: str,
        version: int | None,
        changes: dict[str, Any],
    ) -> kb.Article:
        article = self._read(direction, slug, version)
        edited, new_version = kb.edit(article, changes, actor, self.clock())
        self.store.transact(changed_article(edited, article.revision, new_version))
        return edited

    def publish(
        self, actor: Actor, direction: str, slug: str, version: int | None, publish: bool = True
    ) -> kb.Article:
        """Publish (or take off) the article at the revision the caller read, then rebuild
        the direction's index (a failed rebuild leaves the old index; publish again or
        POST /kb/index to retry)."""
        article = self._read(direction, slug, version)
        now = self.clock()
        changed = (kb.publish if publish else kb.unpublish)(article, actor, now)
        self.store.transact(changed_article(changed, article.revision, None))
        self.rebuild(direction)
        return changed

    def public(self, direction: str, slug: str) -> kb.Article:
        """A published article; a draft is not found (nobody outside learns it exists)."""
        known = self.settings().has_direction(direction) and kb.is_slug(slug)
        article = self.store.articles.find(direction, slug) if known else None
        if article is None or article.published is None:
            raise NotFound(f"no published article {slug!r} in {direction}")
        return article

    def _read(self, direction: str, slug: str, version: int | None) -> kb.Article:
        if not kb.is_slug(slug):
            raise NotFound(f"no article {slug[:80]!r} in {direction}")
        article = self.store.articles.get(self.direction(direction), slug)
        if version is not None and version != article.revision:
            raise Conflict(
                f"the article is at revision {article.revision}, not {version}; reload it",
                current_version=article.revision,
            )
        return article

    # The index and search ------------------------------------------------------------

    def rebuild(self, direction: str) -> dict[str, Any]:
        """Build the direction's index from its published articles and make it current."""
        number = self.store.articles.start_build(self.direction(direction))
        index = build(direction, self.store.articles.published(direction), number)
        blob = index.dumps()
        current = self.store.articles.save_build(direction, number, blob, self.clock())
        if current:
            _loaded[direction] = index
        return {"direction": direction, "build": number, "current": current, "bytes": len(blob)}

    def index(self, direction: str) -> Index:
        """The direction's current index, loaded again only when a newer build is current."""
        for _ in range(3):
            pointer = self.store.articles.pointer(direction) or {}
            build = int(pointer.get("built", 0))
            held = _loaded.get(direction)
            if build == 0:
                return Index(direction)
            if held is not None and held.revision == build:
                return held
            blob = self.store.articles.load_build(direction, build, int(pointer["chunks"]))
            if blob is not None:  # else replaced while we read: read the pointer again
                _loaded[direction] = Index.loads(blob)
                return _loaded[direction]
        raise RuntimeError(f"the index of {direction} kept changing while it was read")

    def search(
        self, direction: str, query: str, limit: int, language: str | None = None
    ) -> list[dict[str, Any]]:
        index = self.index(self.direction(direction))
        boost = LANGUAGE_BOOST if language else 1.0
        return [self._hit(direction, hit) for hit in index.search(query, limit, language, boost)]

    def suggestions(self, ticket_id: str, limit: int = SUGGESTIONS) -> dict[str, Any]:
        """The articles that best answer the ticket's conversation: its subject and the
        client's last messages, in the ticket's language first."""
        ticket, messages, _ = self.store.tickets.conversation(ticket_id)
        said = [m.text for m in messages if m.kind == MessageKind.INBOUND][-CONVERSATION_MESSAGES:]
        query = " ".join([ticket.subject, *said])
        language = self.settings().direction(ticket.direction).language
        found = self.search(ticket.direction, query, limit, language)
        return {"ticket_id": ticket.id, "direction": ticket.direction, "articles": found}

    def _hit(self, direction: str, hit: Hit) -> dict[str, Any]:
        return {
            "slug": hit.slug,
            "title": hit.title,
            "language": hit.language,
            "score": hit.score,
            "url": self.base_url + kb.article_path(direction, hit.slug),
        }

    # Gaps ------------------------------------------------------------------------------

    def gaps(self, direction: str, limit: int) -> dict[str, Any]:
        """The newest tickets no article covered, and how many per topic among them."""
        found = self.store.articles.gaps(self.direction(direction), limit)
        by_topic = Counter(gap.get("topic") or "none" for gap in found)
        return {
            "direction": direction,
            "gaps": found,
            "by_topic": [{"topic": t, "count": n} for t, n in by_topic.most_common()],
        }
