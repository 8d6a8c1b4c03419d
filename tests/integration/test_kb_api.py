"""The knowledge base through the real doors: articles and their roles, the public page, search
and suggestions for a ticket, gaps, canned replies and the complaint reply (API Gateway HTTP
API events into the kb and tickets functions, on moto's table)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from helpdesk import kb
from helpdesk.models import Actor
from helpdesk.store import Store
from helpdesk.store import kb as kb_store
from helpdesk.usecases.knowledge import KnowledgeDesk
from tests.integration.conftest import Api, claims
from tests.kb_articles import ARTICLES

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
LEAD = Actor(user_id="lead-1", roles=frozenset({"lead"}))


@pytest.fixture
def agent(aws: dict[str, Any]) -> Api:
    return Api("KbFunction", claims("agent", "agent-1"))


@pytest.fixture
def lead(aws: dict[str, Any]) -> Api:
    return Api("KbFunction", claims("lead", "lead-1"))


@pytest.fixture
def public(aws: dict[str, Any]) -> Api:
    return Api("KbFunction", None)


def article(slug: str = "vhod", **changes: Any) -> dict[str, Any]:
    return {
        "direction": "d0",
        "slug": slug,
        "title": "Вход в систему",
        "body": "Введите **код** из СМС.",
        "tags": ["вход"],
        "language": "ru",
        **changes,
    }


def seed_published(count: int | None = None) -> None:
    """The fixture's articles, published, written as a lead's publish leaves them."""
    store = Store()
    for source in ARTICLES[:count]:
        content = kb.Content(
            title=source.title, body=source.body, tags=list(source.tags), language=source.language
        )
        draft, version = kb.new_article("d0", source.slug, content, LEAD, NOW)
        store.transact(kb_store.new_article(kb.publish(draft, LEAD, NOW), version))


def test_an_article_from_draft_to_published_to_edited_to_taken_off(
    agent: Api, lead: Api, public: Api
) -> None:
    status, created = agent.call("POST", "/kb/articles", article())
    assert status == 201, created
    assert (created["status"], created["revision"], created["author"]) == ("draft", 1, "agent-1")
    status, taken = lead.call("POST", "/kb/articles", article(title="Другое"))
    assert (status, taken["error"]["code"]) == (409, "duplicate_slug")
    assert public.call("GET", "/kb/d0/vhod")[0] == 404  # a draft is nobody's business

    status, refused = agent.call("POST", "/kb/articles/d0/vhod/publish", {"version": 1})
    assert (status, refused["error"]["code"]) == (403, "forbidden")
    status, published = lead.call("POST", "/kb/articles/d0/vhod/publish", {"version": 1})
    assert (status, published["status"]) == (200, "published")

    status, shown = public.call("GET", "/kb/d0/vhod")
    assert status == 200 and shown["title"] == "Вход в систему"
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", shown["updated_at"]
    )  # the API's one format
    assert shown["html"] == "<p>Введите <strong>код</strong> из СМС.</p>\n"
    status, headers, page = public.request("GET", "/kb/d0/vhod", headers={"accept": "text/html"})
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in headers["content-security-policy"]
    assert "<h1>Вход в систему</h1>" in page.decode()

    status, edited = agent.call("PATCH", "/kb/articles/d0/vhod", {"version": 1, "body": "Новое"})
    assert (status, edited["revision"], edited["unpublished_changes"]) == (200, 2, True)
    assert public.call("GET", "/kb/d0/vhod")[1]["body"] == "Введите **код** из СМС."
    status, stale = lead.call("PATCH", "/kb/articles/d0/vhod", {"version": 1, "title": "X"})
    assert (status, stale["error"]["code"]) == (409, "version_conflict")
    status, full = agent.call("GET", "/kb/articles/d0/vhod")
    assert [v["revision"] for v in full["versions"]] == [2, 1]
    assert full["versions"][1]["body"] == "Введите **код** из СМС."

    assert lead.call("POST", "/kb/articles/d0/vhod/publish", {"version": 2})[0] == 200
    assert public.call("GET", "/kb/d0/vhod")[1]["body"] == "Новое"
    listed = agent.call("GET", "/kb/articles", query="direction=d0&status=published")[1]
    assert [a["slug"] for a in listed["articles"]] == ["vhod"]
    found = agent.call("GET", "/kb/search", query="direction=d0&q=войти")[1]["articles"]
    assert [a["slug"] for a in found] == ["vhod"]

    assert lead.call("POST", "/kb/articles/d0/vhod/unpublish", {})[0] == 200
    assert public.call("GET", "/kb/d0/vhod")[0] == 404
    assert agent.call("GET", "/kb/search", query="direction=d0&q=войти")[1]["articles"] == []


def test_unsafe_markdown_is_shown_as_text_on_the_public_page(lead: Api, public: Api) -> None:
    body = "<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>"
    assert lead.call("POST", "/kb/articles", article("xss", body=body))[0] == 201
    assert lead.call("POST", "/kb/articles/d0/xss/publish", {})[0] == 200
    shown = public.call("GET", "/kb/d0/xss")[1]["html"]
    assert "<script>" not in shown and "&lt;script&gt;" in shown
    assert "href" not in shown and "<img" not in shown and "&lt;img" in shown


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (article(slug="Не slug"), "body.slug"),
        (article(direction="nowhere"), "direction"),
        (article(language="de"), "body.language"),
        ({**article(), "status": "published"}, "body.status"),
    ],
)
def test_bad_articles_are_refused_and_nothing_is_stored(
    agent: Api, body: dict[str, Any], where: str
) -> None:
    status, refused = agent.call("POST", "/kb/articles", body)
    assert status == 422, refused
    assert where in refused["error"]["message"] or refused["error"].get("field") == where
    assert agent.call("GET", "/kb/articles", query="direction=d0")[1]["articles"] == []


def test_search_and_suggestions_answer_a_clients_words(
    agent: Api, lead: Api, client_ticket: Callable[..., str]
) -> None:
    seed_published()
    assert lead.call("POST", "/kb/index/d0")[0] == 200
    for query, slug in [("не могу войти", "vhod-v-sistemu"), ("refund my money", "refunds")]:
        status, found = agent.call("GET", "/kb/search", query=f"direction=d0&q={query}")
        assert status == 200 and found["articles"][0]["slug"] == slug, found
    number = client_ticket("Здравствуйте! Не получается войти в приложение, код не приходит")
    status, suggested = agent.call("GET", f"/tickets/{number}/suggestions")
    assert status == 200, suggested
    first = suggested["articles"][0]
    assert (first["slug"], first["url"]) == ("vhod-v-sistemu", "/kb/d0/vhod-v-sistemu")
    assert agent.call("GET", "/tickets/D0-999999/suggestions")[0] == 404


def test_a_newer_index_build_is_never_replaced_by_an_older_one(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kb_store, "CHUNK_BYTES", 500)  # several chunks per build
    seed_published(20)
    desk, articles = KnowledgeDesk(), Store().articles
    older, newer = articles.start_build("d0"), articles.start_build("d0")
    blob = desk.rebuild("d0")  # build 3, current
    assert blob["current"] and blob["bytes"] > 1000
    assert not articles.save_build("d0", older, b"old", NOW)  # too late: dropped
    pointer = articles.pointer("d0") or {}
    assert (pointer["built"], pointer["chunks"]) == (3, -(-blob["bytes"] // 500))
    assert articles.load_build("d0", older, 1) is None
    assert articles.save_build("d0", 4, b"x" * 1200, NOW)
    assert articles.load_build("d0", 3, int(pointer["chunks"])) is None  # replaced: gone
    assert articles.load_build("d0", 4, 3) == b"x" * 1200
    assert newer == 2


def test_gaps_are_counted_for_leads(
    agent: Api, lead: Api, client_ticket: Callable[..., str]
) -> None:
    tickets = Api("TicketsFunction", claims("agent", "agent-1"))
    covered, uncovered = client_ticket("Где мой заказ?"), client_ticket("Можно оплатить биткоином?")
    tickets.call("PATCH", f"/tickets/{uncovered}", {"topic": "payment"})
    assert tickets.call("POST", f"/tickets/{covered}/resolve", {})[0] == 200
    status, resolved = tickets.call("POST", f"/tickets/{uncovered}/resolve", {"no_article": True})
    assert status == 200 and "no_article" in resolved["flags"]
    assert agent.call("GET", "/kb/gaps", query="direction=d0")[0] == 403
    status, gaps = lead.call("GET", "/kb/gaps", query="direction=d0")
    assert status == 200, gaps
    assert [gap["ticket_id"] for gap in gaps["gaps"]] == [uncovered]
    assert gaps["gaps"][0]["agent"] == "agent-1"
    assert gaps["by_topic"] == [{"topic": "payment", "count": 1}]
    reports = Api("ReportingFunction", claims("lead", "lead-1"))
    times = reports.call("GET", "/reports/times", query="direction=d0")[1]["rows"][0]
    assert (times["resolved"], times["no_article"]) == (2, 1)


def test_canned_replies_are_filled_in_for_the_ticket_and_sent_by_id(
    agent: Api, lead: Api, client_ticket: Callable[..., str]
) -> None:
    text = {"ru": "{client_name}, обращение {number} у {agent_name}.", "en": "Hi {client_name}"}
    status, shared = lead.call(
        "POST", "/kb/canned", {"direction": "d0", "title": "Принято", "texts": text}
    )
    assert status == 201 and shared["id"].startswith("d-"), shared
    mine = {"direction": "d0", "title": "Моё", "personal": True}
    shared_by_agent = {**mine, "texts": {"ru": "x"}, "personal": False}
    assert agent.call("POST", "/kb/canned", shared_by_agent)[0] == 403
    status, unknown = agent.call("POST", "/kb/canned", {**mine, "texts": {"ru": "До {deadline}"}})
    assert (status, unknown["error"]["placeholder"]) == (422, "deadline")
    assert "{deadline}" in unknown["error"]["message"]
    thanks = {**mine, "texts": {"ru": "Спасибо, {client_name}!"}}
    status, own = agent.call("POST", "/kb/canned", thanks)
    assert status == 201 and own["owner"] == "agent-1"
    listed = lead.call("GET", "/kb/canned", query="direction=d0")[1]["replies"]
    assert [reply["id"] for reply in listed] == [shared["id"]]  # not the agent's own

    number = client_ticket("Помогите")
    status, listed = agent.call("GET", "/kb/canned", query=f"ticket_id={number}")
    texts = {reply["title"]: reply["text"] for reply in listed["replies"]}
    name = texts["Моё"].removeprefix("Спасибо, ").removesuffix("!")
    assert name and texts["Принято"] == f"{name}, обращение {number} у agent-1."

    tickets = Api("TicketsFunction", claims("agent", "agent-1"))
    status, _ = tickets.call("POST", f"/tickets/{number}/replies", {"template_id": own["id"]})
    assert status == 200
    said = tickets.call("GET", f"/tickets/{number}")[1]["messages"]
    assert said[-1]["text"] == f"Спасибо, {name}!"
    other = Api("TicketsFunction", claims("agent", "agent-2"))  # someone else's own reply
    assert other.call("POST", f"/tickets/{number}/replies", {"template_id": own["id"]})[0] == 404
    both = {"text": "x", "template_id": own["id"]}
    assert tickets.call("POST", f"/tickets/{number}/replies", both)[0] == 422
    assert agent.call("DELETE", f"/kb/canned/{own['id']}", query="direction=d0")[0] == 204
    assert agent.call("DELETE", f"/kb/canned/{shared['id']}", query="direction=d0")[0] == 403


def test_the_complaint_reply_has_four_parts_and_offers_the_client_to_the_lead(
    lead: Api, agent: Api, client_ticket: Callable[..., str]
) -> None:
    number = client_ticket("Ваш курьер нагрубил мне")
    tickets = Api("TicketsFunction", claims("agent", "agent-1"))
    assert tickets.call("PATCH", f"/tickets/{number}", {"category": "complaint"})[0] == 200
    status, form = lead.call("GET", f"/tickets/{number}/complaint-reply")
    assert status == 200 and form["complaint"] is True
    assert form["order"] == ["thank", "why_it_matters", "apology", "action"]
    assert number in form["parts"]["action"] and "{" not in "".join(form["parts"].values())
    assert form["offer_our_clients"]["offer"] is True
    assert (
        agent.call("GET", f"/tickets/{number}/complaint-reply")[1]["offer_our_clients"]["offer"]
        is False
    )

    half = {**form["parts"], "apology": "", "action": "  "}
    status, refused = tickets.call("POST", f"/tickets/{number}/replies", {"complaint": half})
    assert (status, refused["error"]["missing"]) == (422, ["apology", "action"])
    status, _ = tickets.call("POST", f"/tickets/{number}/replies", {"complaint": form["parts"]})
    assert status == 200
    sent = tickets.call("GET", f"/tickets/{number}")[1]["messages"][-1]["text"]
    assert sent.split("\n\n") == [form["parts"][part] for part in form["order"]]
