"""Request bodies of the knowledge base API (articles, canned replies)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from helpdesk.http.bodies import Versioned, _Body
from helpdesk.kb import MAX_SLUG, SLUG

DIRECTION = r"^[a-z0-9_-]{1,32}$"
Tag = Annotated[str, Field(min_length=1, max_length=40)]
Title = Annotated[str, Field(min_length=1, max_length=200)]
MarkdownBody = Annotated[str, Field(min_length=1, max_length=100_000)]


class NewArticle(_Body):
    direction: str = Field(pattern=DIRECTION)
    slug: str = Field(
        pattern=SLUG, max_length=MAX_SLUG, description="unique in the direction (409)"
    )
    title: Title
    body: MarkdownBody = Field(description="Markdown; raw HTML is shown as text")
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    language: Literal["ru", "en"] = "ru"


class ArticleChange(Versioned):
    """A new revision; `version` is the article's revision you last read (409 if it moved)."""

    title: Title | None = None
    body: MarkdownBody | None = None
    tags: list[Tag] | None = Field(default=None, max_length=20)
    language: Literal["ru", "en"] | None = None


class NewCanned(_Body):
    direction: str = Field(pattern=DIRECTION)
    title: Title
    texts: dict[Literal["ru", "en"], Annotated[str, Field(min_length=1, max_length=4000)]] = Field(
        min_length=1,
        description="per language; placeholders {client_name} {number} {agent_name} {due}",
    )
    personal: bool = Field(default=False, description="yours only; a direction's needs a lead")
