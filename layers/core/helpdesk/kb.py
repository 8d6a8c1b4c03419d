"""The knowledge base: articles per direction, their versions, who may publish, and Markdown
rendered safely.

An article has a working copy (what agents and leads edit; every edit is a new revision,
kept as a version) and, once a lead publishes, a published snapshot: the public page and the
search index show the snapshot only, so an agent's later edit is a draft until a lead
publishes it again. Markdown goes through markdown-it-py with raw HTML off and links held to
http(s), mailto and tel: a script, an `onerror` or a `javascript:` link come out as text.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from helpdesk import tickets
from helpdesk.errors import Forbidden, Unprocessable
from helpdesk.models import Actor, Ticket, UtcTime, iso
from helpdesk.tickets import TicketChange

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

Language = Literal["ru", "en"]
SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
MAX_SLUG = 80
PUBLISHERS = ("lead",)
CONTENT_FIELDS = ("title", "body", "tags", "language")


class Content(BaseModel):
    """What an article says: the part that is versioned and published."""

    title: str
    body: str
    tags: list[str] = Field(default_factory=list)
    language: Language = "ru"


class Published(Content):
    revision: int
    published_at: UtcTime
    published_by: str


class Version(Content):
    """One revision of an article, never changed once written."""

    direction: str
    slug: str
    revision: int
    author: str
    at: UtcTime


class Article(Content):
    direction: str
    slug: str
    author: str  # who created it
    updated_by: str
    created_at: UtcTime
    updated_at: UtcTime
    revision: int = 1
    published: Published | None = None

    @property
    def status(self) -> Literal["draft", "published"]:
        return "published" if self.published else "draft"

    @property
    def unpublished_changes(self) -> bool:
        return self.published is not None and self.published.revision != self.revision

    def content(self) -> Content:
        return Content.model_validate(self.model_dump(include=set(CONTENT_FIELDS)))


def new_article(
    direction: str, slug: str, content: Content, actor: Actor, now: datetime
) -> tuple[Article, Version]:
    """A new draft (anyone on the staff); a lead publishes it separately."""
    article = Article(
        **content.model_dump(),
        direction=direction,
        slug=slug,
        author=actor.user_id,
        updated_by=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    return article, version_of(article)


def edit(
    article: Article, changes: dict[str, Any], actor: Actor, now: datetime
) -> tuple[Article, Version]:
    """A new revision with `changes` (title, body, tags, language): the published snapshot
    stays as it was until a lead publishes again."""
    unknown = sorted(set(changes) - set(CONTENT_FIELDS))
    if unknown or not changes:
        raise Unprocessable(
            f"nothing to change: give one of {', '.join(CONTENT_FIELDS)}", fields=unknown
        )
    edited = article.model_copy(
        update={
            **changes,
            "revision": article.revision + 1,
            "updated_by": actor.user_id,
            "updated_at": now,
        }
    )
    return edited, version_of(edited)


def version_of(article: Article) -> Version:
    return Version(
        **article.content().model_dump(),
        direction=article.direction,
        slug=article.slug,
        revision=article.revision,
        author=article.updated_by,
        at=article.updated_at,
    )


def publish(article: Article, actor: Actor, now: datetime) -> Article:
    """The current revision becomes what clients and search see (leads only)."""
    _publisher(actor, "publish")
    snapshot = Published(
        **article.content().model_dump(),
        revision=article.revision,
        published_at=now,
        published_by=actor.user_id,
    )
    return article.model_copy(update={"published": snapshot, "updated_at": now})


def unpublish(article: Article, actor: Actor, now: datetime) -> Article:
    """Taken off the public page and out of search; the working copy stays (leads only)."""
    _publisher(actor, "unpublish")
    return article.model_copy(update={"published": None, "updated_at": now})


def _publisher(actor: Actor, what: str) -> None:
    if not actor.has_any(*PUBLISHERS):
        raise Forbidden(f"only a lead may {what} an article", roles=list(PUBLISHERS))


def is_slug(text: str) -> bool:
    """Could name an article (a longer or stranger path part is not found, never a key)."""
    return len(text) <= MAX_SLUG and re.fullmatch(SLUG, text) is not None


def article_path(direction: str, slug: str) -> str:
    return f"/kb/{direction}/{slug}"


def public_view(article: Article, base_url: str = "") -> dict[str, Any]:
    """The published snapshot as clients and the client application read it."""
    published = article.published
    if published is None:
        raise ValueError("a draft has no public view")
    return {
        "direction": article.direction,
        "slug": article.slug,
        "url": base_url + article_path(article.direction, article.slug),
        "title": published.title,
        "language": published.language,
        "tags": published.tags,
        "body": published.body,
        "html": render(published.body),
        "revision": published.revision,
        "updated_at": iso(published.published_at),
    }


def staff_view(article: Article, base_url: str = "") -> dict[str, Any]:
    data = article.model_dump(mode="json")
    data["status"] = article.status
    data["unpublished_changes"] = article.unpublished_changes
    data["url"] = base_url + article_path(article.direction, article.slug)
    return data


# Markdown ------------------------------------------------------------------------------

SAFE_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):", re.IGNORECASE)


def safe_link(url: str) -> bool:
    """A link markdown-it may emit: a relative one, or one of the safe schemes."""
    found = _SCHEME.match(url.strip())
    return found is None or found.group(1).lower() in SAFE_SCHEMES


@cache
def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt  # imported here: only rendering needs it

    parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    parser.enable("table")
    parser.validateLink = safe_link  # type: ignore[method-assign]
    return parser


def render(markdown: str) -> str:
    """HTML of the article body: raw HTML is shown as text, unsafe links are not links."""
    return str(_markdown().render(markdown))


PAGE_CSP = "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'"


def page(article: Article) -> str:
    """The public page of a published article (sent with `PAGE_CSP`)."""
    view = public_view(article)
    title = html.escape(view["title"])
    return (
        f'<!doctype html><html lang="{view["language"]}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>body{{font:16px/1.5 system-ui,sans-serif;"
        "max-width:46rem;margin:2rem auto;padding:0 1rem}</style></head>"
        f"<body><article><h1>{title}</h1>{view['html']}</article></body></html>"
    )


# Gaps ----------------------------------------------------------------------------------

GAP_FLAG = "no_article"  # resolved, and no article covered what the client asked


def resolve_uncovered(
    ticket: Ticket, now: datetime, *, actor: Actor, resolution: str | None = None
) -> TicketChange:
    """`tickets.resolve`, marked "no article covered this" (the funnel writes the gap)."""
    change = tickets.resolve(ticket, now, actor=actor, resolution=resolution)
    flags = sorted({*change.ticket.flags, GAP_FLAG})
    flagged = change.ticket.model_copy(update={"flags": flags})
    return TicketChange(flagged, change.history, change.messages, change.jobs)


def gap_opened(before: Ticket | None, after: Ticket) -> bool:
    return GAP_FLAG in after.flags and (before is None or GAP_FLAG not in before.flags)
