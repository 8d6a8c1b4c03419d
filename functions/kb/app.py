"""Knowledge base API: articles (agents write drafts, leads publish), search, suggestions for a
ticket, the gaps, canned replies and the complaint reply; the public page of an article.

No Powertools Tracer, as in the tickets API (cold starts stay short; decisions.md).
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from helpdesk import kb
from helpdesk.http import bodies, kb_bodies
from helpdesk.http.auth import STAFF_ROLES
from helpdesk.http.params import known_query
from helpdesk.http.resolver import dumps, make_resolver
from helpdesk.usecases.knowledge import KnowledgeDesk
from helpdesk.usecases.replies import ReplyDesk

logger = Logger(service="kb")
metrics = Metrics()
ARTICLE = "/kb/articles/{direction}/{slug}"
app = make_resolver(
    "Helpdesk knowledge base API",
    default_roles=STAFF_ROLES,
    roles={
        f"POST {ARTICLE}/publish": kb.PUBLISHERS,
        f"POST {ARTICLE}/unpublish": kb.PUBLISHERS,
        "POST /kb/index/{direction}": kb.PUBLISHERS,
        "GET /kb/gaps": kb.PUBLISHERS,
        "GET /kb/{direction}/{slug}": (),
        "GET /openapi.json": (),
    },
    json_only=True,
    validation=True,
)
desk = KnowledgeDesk()
canned = ReplyDesk(store=desk.store)

Direction = Annotated[str, Query(min_length=1, max_length=32, pattern="^[a-z0-9_-]+$")]
Limit = Annotated[int, Query(ge=1, le=100)]


def _article(article: kb.Article) -> dict[str, Any]:
    return kb.staff_view(article, desk.base_url)


@app.get("/kb/articles")
def list_articles(
    direction: Direction,
    status: Annotated[str | None, Query(pattern="^(draft|published)$")] = None,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    known_query(app.current_event.query_string_parameters, list_articles)
    found, following = desk.articles(direction, status, cursor, limit)
    return {"articles": [_article(article) for article in found], "next_cursor": following}


@app.post("/kb/articles")
def create_article(
    body: Annotated[kb_bodies.NewArticle, Body()],
) -> tuple[dict[str, Any], int]:
    content = kb.Content.model_validate(body.model_dump(include=set(kb.CONTENT_FIELDS)))
    return _article(desk.create(app.actor(), body.direction, body.slug, content)), 201


@app.get("/kb/articles/<direction>/<slug>")
def get_article(direction: str, slug: str) -> dict[str, Any]:
    article, versions = desk.article(direction, slug)
    return {**_article(article), "versions": [v.model_dump(mode="json") for v in versions]}


@app.patch("/kb/articles/<direction>/<slug>")
def edit_article(
    direction: str, slug: str, body: Annotated[kb_bodies.ArticleChange, Body()]
) -> dict[str, Any]:
    changes = body.model_dump(exclude={"version"}, exclude_none=True)
    return _article(desk.edit(app.actor(), direction, slug, body.version, changes))


@app.post("/kb/articles/<direction>/<slug>/publish")
def publish(direction: str, slug: str, body: Annotated[bodies.Versioned, Body()]) -> dict[str, Any]:
    return _article(desk.publish(app.actor(), direction, slug, body.version))


@app.post("/kb/articles/<direction>/<slug>/unpublish")
def unpublish(
    direction: str, slug: str, body: Annotated[bodies.Versioned, Body()]
) -> dict[str, Any]:
    return _article(desk.publish(app.actor(), direction, slug, body.version, publish=False))


@app.post("/kb/index/<direction>")
def rebuild(direction: str) -> dict[str, Any]:
    """Build the direction's search index again (publishing does it by itself)."""
    return desk.rebuild(direction)


@app.get("/kb/search")
def search(
    direction: Direction,
    q: Annotated[str, Query(min_length=1, max_length=1000)],
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    language: Annotated[str | None, Query(pattern="^(ru|en)$")] = None,
) -> dict[str, Any]:
    """Published articles ranked for `q` (Russian and English, any word form)."""
    known_query(app.current_event.query_string_parameters, search)
    return {"articles": desk.search(direction, q, limit, language)}


@app.get("/kb/gaps")
def gaps(direction: Direction, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> dict[str, Any]:
    """Tickets resolved with "no article covered this", newest first, counted by topic."""
    known_query(app.current_event.query_string_parameters, gaps)
    return desk.gaps(direction, limit)


@app.get("/tickets/<ticket_id>/suggestions")
def suggestions(ticket_id: str) -> dict[str, Any]:
    return desk.suggestions(ticket_id)


@app.get("/tickets/<ticket_id>/complaint-reply")
def complaint_reply(ticket_id: str) -> dict[str, Any]:
    """The four parts with the direction's wording, and the "our clients" offer for a lead."""
    return canned.complaint_form(ticket_id, app.actor())


@app.get("/kb/canned")
def list_canned(
    direction: Annotated[
        str | None, Query(min_length=1, max_length=32, pattern="^[a-z0-9_-]+$")
    ] = None,
    ticket_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> dict[str, Any]:
    """The direction's and your canned replies; with `ticket_id`, filled in for the ticket."""
    known_query(app.current_event.query_string_parameters, list_canned)
    return canned.listed(app.actor(), direction, ticket_id)


@app.post("/kb/canned")
def create_canned(body: Annotated[kb_bodies.NewCanned, Body()]) -> tuple[dict[str, Any], int]:
    texts = {str(language): text for language, text in body.texts.items()}
    reply = canned.create(app.actor(), body.direction, body.title, texts, body.personal)
    return reply.model_dump(mode="json"), 201


@app.delete("/kb/canned/<canned_id>")
def delete_canned(canned_id: str, direction: Direction) -> Response[str]:
    canned.delete(app.actor(), direction, canned_id)
    return Response(status_code=204, body="")


@app.get("/kb/<direction>/<slug>")
def public_article(
    direction: str,
    slug: str,
    format_: Annotated[str | None, Query(alias="format", pattern="^(json|html)$")] = None,
) -> Response[str]:
    """A published article for anyone: JSON, or its page (a browser's Accept, format=html)."""
    article = desk.public(direction, slug)
    accept = (app.current_event.headers or {}).get("accept", "")
    cache = {"Cache-Control": "public, max-age=60"}
    if format_ == "html" or (format_ is None and accept.startswith("text/html")):
        headers = {**cache, "Content-Security-Policy": kb.PAGE_CSP}
        return Response(200, "text/html; charset=utf-8", kb.page(article), headers)
    body = dumps(kb.public_view(article, desk.base_url))
    return Response(200, "application/json", body, cache)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
