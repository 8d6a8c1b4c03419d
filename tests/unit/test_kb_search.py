"""Knowledge base search, Markdown safety and the reply texts: the pure core, no AWS."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import pytest

from helpdesk import kb, replies, search
from helpdesk.errors import Forbidden, Unprocessable
from helpdesk.models import Actor, Channel, Clock, Ticket
from tests.kb_articles import ARTICLES, EXPECTED

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
AGENT = Actor(user_id="alice", roles=frozenset({"agent"}))
LEAD = Actor(user_id="lena", roles=frozenset({"lead"}))


@pytest.fixture(scope="module")
def index() -> search.Index:
    return search.build("d0", ARTICLES, revision=1)


def test_the_fixture_is_a_real_knowledge_base() -> None:
    assert len(ARTICLES) >= 50
    assert {a.language for a in ARTICLES} == {"ru", "en"}
    assert len({a.slug for a in ARTICLES}) == len(ARTICLES)


@pytest.mark.parametrize(("query", "slug"), EXPECTED)
def test_a_clients_words_find_the_article_first(index: search.Index, query: str, slug: str) -> None:
    hits = index.search(query, limit=3)
    assert hits and hits[0].slug == slug, [(h.slug, h.score) for h in hits]


def test_word_forms_meet_at_one_stem() -> None:
    assert search.terms("не могу войти") == ["мог", "вход"]
    assert search.terms("вход в систему") == ["вход", "сист"]
    assert search.terms("оплаты") == search.terms("оплата") == search.terms("оплатой")
    assert search.terms("passwords") == search.terms("password")
    assert search.terms("Ёлка") == search.terms("елка")


def test_the_ticket_language_ranks_first_and_the_other_is_still_found(
    index: search.Index,
) -> None:
    mixed = index.search("password пароль", limit=2, language="en", boost=1.5)
    assert [hit.language for hit in mixed] == ["en", "ru"]


def test_nothing_to_search_for_finds_nothing(index: search.Index) -> None:
    assert index.search("и в на the a", limit=5) == []
    assert index.search("", limit=5) == []
    assert search.Index("d0").search("вход", limit=5) == []


def test_the_index_survives_storage_and_refuses_an_unknown_format(index: search.Index) -> None:
    blob = index.dumps()
    again = search.Index.loads(blob)
    assert again.search("не могу войти", 1) == index.search("не могу войти", 1)
    assert (again.revision, again.direction) == (1, "d0")
    line, _, numbers = gzip.decompress(blob).partition(b"\n")
    header = json.loads(line)
    assert header["integers"] == "H" and len(numbers) == 2 * header["offsets"][-1]
    older = json.dumps({**header, "format": 1}).encode() + b"\n" + numbers
    with pytest.raises(ValueError, match="format"):
        search.Index.loads(gzip.compress(older))


# ---- Markdown ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "markdown",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](java&#09;script:alert(1))",
        "[click](vbscript:msgbox(1))",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "![x](javascript:alert(1))",
        "<a href='javascript:alert(1)'>x</a>",
        "<iframe src=https://evil.example></iframe>",
    ],
)
def test_unsafe_markdown_is_neutralised(markdown: str) -> None:
    rendered = kb.render(markdown).lower()
    assert "<script" not in rendered and '<img src="x"' not in rendered
    assert "<iframe" not in rendered and "<a href='javascript" not in rendered
    assert 'href="javascript' not in rendered and 'src="javascript' not in rendered
    assert 'href="vbscript' not in rendered and 'href="data:' not in rendered
    assert 'href="java\tscript' not in rendered


def test_safe_markdown_renders() -> None:
    rendered = kb.render("# Вход\n\n**Шаг 1**: [сайт](https://example.com) и `код`")
    assert "<h1>Вход</h1>" in rendered
    assert '<a href="https://example.com">сайт</a>' in rendered
    assert "<strong>Шаг 1</strong>" in rendered and "<code>код</code>" in rendered


# ---- the article lifecycle --------------------------------------------------------------


def test_an_agent_drafts_and_edits_a_lead_publishes_and_the_public_sees_the_snapshot() -> None:
    content = kb.Content(title="Вход", body="Старый текст", tags=["вход"], language="ru")
    draft, first = kb.new_article("d0", "vhod", content, AGENT, NOW)
    assert (draft.status, draft.revision, first.revision, first.author) == (
        "draft",
        1,
        1,
        "alice",
    )
    with pytest.raises(Forbidden):
        kb.publish(draft, AGENT, NOW)
    published = kb.publish(draft, LEAD, NOW)
    assert published.status == "published" and not published.unpublished_changes
    edited, second = kb.edit(published, {"body": "Новый текст"}, AGENT, NOW)
    assert (second.revision, edited.unpublished_changes) == (2, True)
    assert kb.public_view(edited)["body"] == "Старый текст"
    with pytest.raises(Forbidden):
        kb.unpublish(edited, AGENT, NOW)
    assert kb.unpublish(edited, LEAD, NOW).status == "draft"
    with pytest.raises(Unprocessable):
        kb.edit(edited, {}, AGENT, NOW)


def test_the_public_page_escapes_the_title_and_forbids_scripts() -> None:
    content = kb.Content(title="<b>x</b>", body="<script>x</script>", language="en")
    article = kb.publish(kb.new_article("d0", "x", content, AGENT, NOW)[0], LEAD, NOW)
    page = kb.page(article)
    assert "<title>&lt;b&gt;x&lt;/b&gt;</title>" in page
    assert "<script>" not in page and "script-src" not in kb.PAGE_CSP
    assert kb.PAGE_CSP.startswith("default-src 'none'")


# ---- canned replies and the complaint reply ---------------------------------------------


def ticket(**changes: object) -> Ticket:
    due = Clock(state="running", target_seconds=3600, started_at=NOW, due=NOW)
    values: dict[str, object] = {
        "id": "D0-000042",
        "direction": "d0",
        "channel": Channel.TELEGRAM,
        "customer_id": "c1",
        "customer_name": "Иван",
        "created_at": NOW,
        "updated_at": NOW,
        "sla": {"first_response": due},
    }
    return Ticket.model_validate({**values, **changes})


def test_placeholders_are_filled_in_the_tickets_language_and_zone() -> None:
    filled = replies.filling(ticket(), "alice", "ru", "Europe/Moscow")
    text = "{client_name}, обращение {number}, {agent_name}, ответим до {due}. {{скобки}}"
    assert replies.fill(text, filled.values) == (
        "Иван, обращение D0-000042, alice, ответим до 26.11.2026 12:00. {скобки}"
    )
    anonymous = replies.filling(ticket(customer_name=None, sla={}), "bob", "en", "UTC")
    assert replies.fill("{client_name} / {due}", anonymous.values) == (
        "Hello / the end of the working day"
    )


@pytest.mark.parametrize(
    ("text", "named"),
    [("Hi {name}", "name"), ("{number.real}", "number.real"), ("{0}", "0"), ("{}", "")],
)
def test_an_unknown_placeholder_is_refused_by_name(text: str, named: str) -> None:
    with pytest.raises(Unprocessable) as refused:
        replies.check_placeholders(text)
    assert refused.value.details["placeholder"] == named
    assert "{" + named + "}" in refused.value.message


def test_unreadable_braces_are_refused() -> None:
    with pytest.raises(Unprocessable, match="braces"):
        replies.check_placeholders("Hi {client_name")


def test_the_complaint_reply_needs_all_four_parts_in_order() -> None:
    filled = replies.filling(ticket(), "alice", "ru", "Europe/Moscow")
    parts = replies.complaint_defaults("ru", {"apology": "Простите нас, {client_name}."})
    text = replies.complaint_text(parts, filled)
    pieces = text.split("\n\n")
    assert len(pieces) == 4 and pieces[0].startswith("Иван, спасибо")
    assert pieces[2] == "Простите нас, Иван." and "D0-000042" in pieces[3]
    with pytest.raises(Unprocessable) as refused:
        replies.complaint_text({**parts, "apology": " ", "action": ""}, filled)
    assert refused.value.details["missing"] == ["apology", "action"]
