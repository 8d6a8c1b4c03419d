"""The knowledge base beside the reply box, in Debian's Chromium against the real local stack.

A lead publishes an article and writes a canned reply through the API; a client writes in
through the real Telegram webhook in other words than the article's ("не могу войти" for
"Вход в систему"); the agent opens the ticket, inserts the suggested article's link and the
canned reply (filled in for this ticket) with one click each and sends them; the public link
in the reply opens the published article.
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
