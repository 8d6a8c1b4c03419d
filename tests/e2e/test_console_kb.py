"""The knowledge base beside the reply box, in Debian's Chromium against the real local stack.

A lead publishes an article and writes a canned reply through the API; a client writes in
through the real Telegram webhook in other words than the article's ("не могу войти" for
"Вход в систему"); the agent opens the ticket, inserts the suggested article's link and the
canned reply (filled in for this ticket) with one click each and sends them; the public link
in the reply opens the published article.

The knowledge base page (#/kb): an agent writes a draft in the console and sees it as a draft
that a lead must publish; a lead opens it, publishes it, finds it by search, and the public
page shows it. Then the refusals: a taken slug beside its field, and an edit of a revision
someone else changed (reload).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.e2e.conftest import RunningStack
from tests.e2e.console_support import (
    Api,
    browser_fixture,
    page_fixture,
    screenshot,
    sign_in,
    stack_fixture,
    telegram_client_writes,
)

pytestmark = pytest.mark.e2e
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    yield from stack_fixture(tmp_path_factory)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from browser_fixture(sync_api)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    yield from page_fixture(browser)


def test_an_agent_inserts_a_suggested_article_and_a_canned_reply(
    stack: RunningStack, page: Any
) -> None:
    lead = Api(stack, "lead", "lena")
    article = {
        "direction": "d0",
        "slug": "vhod-v-sistemu",
        "title": "Вход в систему",
        "body": "Откройте приложение и введите **код из СМС**.",
        "tags": ["вход"],
    }
    lead.call("POST", "/kb/articles", article)
    lead.call("POST", "/kb/articles/d0/vhod-v-sistemu/publish", {"version": 1})
    texts = {"ru": "Обращение {number} у меня, {agent_name}. Ответим до {due}."}
    lead.call("POST", "/kb/canned", {"direction": "d0", "title": "Взяли в работу", "texts": texts})
    number = telegram_client_writes(stack, 800_001, "Не могу войти в приложение")

    sign_in(page, stack, "alice")
    page.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(number)
    page.get_by_role("button", name="Вставить ссылку: Вход в систему").click()
    page.get_by_role("button", name="Вставить: Взяли в работу").click()
    box = page.get_by_label("Ответ", exact=True)
    link = f"{stack.api}/kb/d0/vhod-v-sistemu"
    inserted = rf"Вход в систему: {re.escape(link)}\nОбращение {number} у меня, alice\. Ответим до "
    expect(box).to_have_value(re.compile(inserted + r"\d\d\.\d\d\.\d{4} \d\d:\d\d\."))
    typed = box.input_value()

    box.press("Control+Enter")
    expect(page.locator(".message-reply")).to_contain_text(link)
    sent = Api(stack).call("GET", f"/tickets/{number}")["messages"][-1]
    assert (sent["kind"], sent["text"]) == ("reply", typed)
    shown = requests.get(link, timeout=10)
    assert shown.status_code == 200 and shown.json()["title"] == "Вход в систему"
    assert "<strong>код из СМС</strong>" in shown.json()["html"]


@pytest.fixture
def lead_page(browser: Any) -> Iterator[Any]:
    yield from page_fixture(browser)


def write_draft(page: Any, slug: str, title: str, body: str) -> None:
    page.get_by_role("link", name="Новая статья").click()
    page.get_by_label("Адрес (slug)").fill(slug)
    page.get_by_label("Заголовок").fill(title)
    page.get_by_label("Текст (Markdown)").fill(body)
    page.get_by_label("Теги").fill("оплата, карта")
    page.get_by_role("button", name="Создать черновик").click()


def test_an_agent_writes_a_draft_and_a_lead_publishes_it(
    stack: RunningStack, page: Any, lead_page: Any
) -> None:
    sign_in(page, stack, "alice", hash="#/kb")
    page.get_by_role("navigation").get_by_role("link", name="База знаний").click()
    write_draft(page, "oplata-kartoj", "Оплата картой", "Нажмите **Оплатить** и введите код.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Оплата картой")
    expect(page.locator("#kb-status")).to_contain_text("черновик")
    expect(page.locator("#kb-lead-publishes")).to_be_visible()
    expect(page.get_by_role("button", name="Опубликовать")).to_have_count(0)
    expect(page.locator(".kb-versions tbody tr")).to_have_count(1)
    screenshot(page, "kb-draft-agent")
    page.get_by_role("link", name="Все статьи").click()
    row = page.locator(".kb-articles tbody tr", has_text="Оплата картой")
    expect(row).to_contain_text("черновик")

    sign_in(lead_page, stack, "lena", "lead", "#/kb/d0/oplata-kartoj")
    lead_page.get_by_role("button", name="Опубликовать").click()
    expect(lead_page.locator("#kb-status")).to_contain_text("опубликована")
    link = lead_page.get_by_role("link", name="Публичная страница")
    assert link.get_attribute("href") == f"{stack.api}/kb/d0/oplata-kartoj"
    lead_page.get_by_role("link", name="Все статьи").click()
    lead_page.get_by_label("Поиск по опубликованным статьям").fill("оплатить картой")
    lead_page.get_by_role("button", name="Найти").click()
    lead_page.locator(".kb-hits").get_by_role("link", name="Оплата картой").click()
    expect(lead_page.get_by_role("button", name="Снять с публикации")).to_be_visible()
    screenshot(lead_page, "kb-published-lead")

    lead_page.goto(f"{stack.api}/kb/d0/oplata-kartoj")
    expect(lead_page.locator("h1")).to_have_text("Оплата картой")
    expect(lead_page.locator("strong")).to_have_text("Оплатить")


def test_a_taken_slug_and_a_stale_revision_are_refused_plainly(
    stack: RunningStack, page: Any
) -> None:
    writer = Api(stack, "agent", "carol")
    article = {"direction": "d0", "slug": "vozvrat", "title": "Возврат", "body": "Пишите нам."}
    writer.call("POST", "/kb/articles", article)

    sign_in(page, stack, "alice", hash="#/kb")
    write_draft(page, "vozvrat", "Возврат денег", "Текст.")
    expect(page.locator("#kb-new-slug-error")).to_contain_text("vozvrat")
    page.get_by_label("Адрес (slug)").fill("Не адрес")
    page.get_by_role("button", name="Создать черновик").click()
    expect(page.locator("#kb-new-slug-error")).to_be_visible()

    page.goto(f"{stack.api}/#/kb/d0/vozvrat")
    expect(page.get_by_label("Заголовок")).to_have_value("Возврат")
    writer.call("PATCH", "/kb/articles/d0/vozvrat", {"version": 1, "body": "Пишите в чат."})
    page.get_by_label("Заголовок").fill("Возврат денег")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.locator("#kb-conflict")).to_contain_text("версия 2")
    page.get_by_role("button", name="Перезагрузить").click()
    expect(page.get_by_label("Текст (Markdown)")).to_have_value("Пишите в чат.")
    page.get_by_label("Заголовок").fill("Возврат денег")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_role("status")).to_contain_text("версия 3")
    expect(page.locator(".kb-versions tbody tr")).to_have_count(3)
