"""The web console in Debian's Chromium against the real local stack.

Each test signs in through the console's own form (the stack's development tokens), works
tickets that clients opened through the real webhooks (the Telegram sample, the generic CTI
samples), and checks what the agent sees against what the API and the sandbox's outbox say.
The console is in Russian unless a test switches it. Screenshots of the queue and of a
ticket, at a laptop's and a phone's width, go to artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.e2e.conftest import RunningStack
from tests.e2e.console_support import (
    DESKTOP,
    PHONE,
    Api,
    api_requests,
    browser_fixture,
    missed_call,
    outbox_texts,
    page_fixture,
    problem_call,
    screenshot,
    set_clock,
    sign_in,
    stack_fixture,
    telegram_client_writes,
    wait_for,
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
    """A fresh tab with its own sessionStorage and localStorage (a new agent)."""
    yield from page_fixture(browser)


def refresh_until(page: Any, check: Any) -> None:
    """Press the ticket's Reload button until `check()` holds (a send finishes in the
    background)."""

    def reloaded() -> bool:
        page.get_by_role("button", name="Обновить").click()
        page.wait_for_timeout(200)
        return bool(check())

    wait_for(reloaded)


def test_an_agent_answers_categorises_and_resolves_a_telegram_ticket(
    stack: RunningStack, page: Any
) -> None:
    number = telegram_client_writes(stack, 500_001, "Не приходит код подтверждения")

    sign_in(page, stack, "alice")
    expect(page.get_by_role("heading", level=1)).to_have_text("Очередь")
    page.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(number)
    expect(page.locator(".message-inbound")).to_contain_text("Не приходит код подтверждения")

    # Reply: it reaches the client through the sandbox, and the ticket shows its delivery.
    reply = "Проверяем, ответим в течение часа"
    page.get_by_label("Ответ", exact=True).fill(reply)
    page.get_by_label("Ответ", exact=True).press("Control+Enter")
    expect(page.locator(".message-reply")).to_contain_text(reply)
    wait_for(lambda: reply in outbox_texts(stack))
    delivery = page.locator(".message-reply .delivery")
    refresh_until(page, lambda: delivery.get_attribute("data-delivery") == "sent")
    expect(delivery).to_contain_text("отправлено")
    expect(page.get_by_label("Ответ", exact=True)).to_have_value("")

    # Categorise with PATCH: category, topic, priority.
    page.get_by_label("Категория", exact=True).select_option("problem")
    page.get_by_label("Тема обращения").fill("login")
    page.get_by_label("Приоритет", exact=True).select_option("high")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.locator(".ticket-meta")).to_contain_text("высокий")
    expect(page.locator(".facts").first).to_contain_text("проблема")

    # Resolve: the client is told, with the resolution, and asked to rate.
    page.get_by_label("Что сделано (уйдёт клиенту)").fill("Код отправлен повторно")
    page.get_by_role("button", name="Решить").click()
    expect(page.locator(".ticket-meta .status")).to_have_text("решено")
    wait_for(lambda: any("Код отправлен повторно" in text for text in outbox_texts(stack)))

    for action in ("create", "reply", "update", "resolve"):
        expect(page.locator(f".history li[data-action='{action}']")).to_have_count(1)
    expect(page.locator(".history li[data-action='reply']")).to_contain_text("alice")
    ticket = Api(stack).ticket(number)
    assert (ticket["status"], ticket["category"], ticket["topic"], ticket["priority"]) == (
        "resolved",
        "problem",
        "login",
        "high",
    )

    screenshot(page, "ticket-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, "ticket-phone")
    page.set_viewport_size(DESKTOP)

    # English on request; Russian is the default.
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_the_queue_refreshes_in_place_one_call_at_a_time(stack: RunningStack, page: Any) -> None:
    # A client who wrote three days ago and is still waiting: overdue. A lead has put them
    # in "our clients".
    set_clock(stack, datetime.now(UTC) - timedelta(days=3))
    try:
        overdue = telegram_client_writes(stack, 500_002, "Срочно: не проходит оплата картой")
    finally:
        set_clock(stack, None)
    lead = Api(stack, "lead", "olga")
    customer = lead.ticket(overdue)["customer_id"]
    version = lead.call("GET", f"/customers/{customer}")["customer"]["version"]
    lead.call("PATCH", f"/customers/{customer}", {"groups": ["our_clients"], "version": version})
    telegram_client_writes(stack, 500_003, "Как поменять тариф?")

    sign_in(page, stack, "alice", hash="#/queue?direction=d0&sort=due")
    row = page.locator("tr", has=page.get_by_role("link", name=overdue))
    expect(row).to_have_class("row-breached")
    expect(row).to_contain_text("просрочено")
    expect(row).to_contain_text("наш клиент")
    expect(row).to_contain_text("срочный")

    # The agent is in the filters when a new ticket arrives: it shows up on the next
    # refresh, and the focus stays where it was.
    calls: list[str] = []
    api_requests(page, calls)
    page.get_by_label("Статус").focus()
    fresh = telegram_client_writes(stack, 500_004, "Не открывается приложение")
    expect(page.get_by_role("link", name=fresh)).to_be_visible()
    assert page.evaluate("document.activeElement.id") == "f-status"

    # One API call per refresh: the same page, nothing else.
    calls.clear()
    page.wait_for_timeout(3_300)
    assert 2 <= len(calls) <= 4, calls
    assert set(calls) == {"GET /tickets?direction=d0&sort=due"}, calls

    screenshot(page, "queue-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, "queue-phone")
    page.set_viewport_size(DESKTOP)

    # Paging with next_cursor: the place (page 2) survives the refreshes.
    page.goto(f"{stack.api}/#/queue?direction=d0&sort=created&limit=2")
    expect(page.locator("table.tickets tbody tr")).to_have_count(2)
    first_page = page.locator("table.tickets tbody a[href^='#/tickets/']").all_inner_texts()
    page.get_by_role("button", name="Следующая страница").click()
    expect(page.get_by_text("Страница 2")).to_be_visible()
    page.wait_for_timeout(1_500)
    second_page = page.locator("table.tickets tbody a[href^='#/tickets/']").all_inner_texts()
    assert second_page and not set(second_page) & set(first_page)
    expect(page.get_by_text("Страница 2")).to_be_visible()
    page.get_by_role("button", name="Предыдущая страница").click()
    expect(page.locator("table.tickets tbody a[href^='#/tickets/']").first).to_have_text(
        first_page[0]
    )


def test_mine_in_deadline_order_shows_only_the_agents_tickets(
    stack: RunningStack, page: Any
) -> None:
    hers = telegram_client_writes(stack, 500_008, "Списали дважды")
    his = telegram_client_writes(stack, 500_009, "Не приходит чек")
    lead = Api(stack, "lead", "olga")
    lead.call("POST", f"/tickets/{hers}/assign", {"assignee": "alice"})
    lead.call("POST", f"/tickets/{his}/assign", {"assignee": "bob"})

    sign_in(page, stack, "alice", hash="#/queue?direction=d0&sort=due")
    expect(page.get_by_role("link", name=his)).to_be_visible()
    page.get_by_label("Исполнитель").select_option("me")
    page.get_by_role("button", name="Показать").click()
    expect(page).to_have_url(f"{stack.api}/#/queue?direction=d0&assignee=me&sort=due")
    expect(page.get_by_role("link", name=hers)).to_be_visible()
    expect(page.get_by_role("link", name=his)).to_have_count(0)


def test_a_lead_records_a_verdict_on_a_problem_call(
    stack: RunningStack, page: Any, browser: Any
) -> None:
    number = problem_call(stack, "console-call-1", "+79160000001", talk_seconds=400)

    sign_in(page, stack, "olga", role="lead", hash=f"#/tickets/{number}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(number)  # back where asked
    call = page.locator("section.call")
    expect(call.locator(".call-duration")).to_have_text("6:40")
    expect(call.locator("audio")).to_have_attribute(
        "src", "https://pbx.example.com/recordings/1715681702.88231.mp3"
    )
    expect(call.locator(".timeline li")).to_have_count(4)
    expect(call).to_contain_text("проблемный звонок")

    page.get_by_label("Решение", exact=True).select_option("coaching")
    page.get_by_label("Заметка").fill("Долго искал ответ в базе знаний")
    page.get_by_role("button", name="Сохранить решение").click()
    expect(call.locator(".review")).to_contain_text("нужно обучение")
    expect(page.locator(".history li[data-action='call_review']")).to_have_count(1)
    review = Api(stack).ticket(number)["call_review"]
    assert (review["verdict"], review["by"]) == ("coaching", "olga")
    screenshot(page, "phone-ticket-desktop")

    # An agent sees the call and the verdict, not the form.
    agent = browser.new_context(viewport=DESKTOP).new_page()
    sign_in(agent, stack, "alice", hash=f"#/tickets/{number}")
    expect(agent.locator("section.call .review")).to_be_visible()
    expect(agent.get_by_role("button", name="Сохранить решение")).to_have_count(0)
    agent.context.close()


def test_a_change_behind_the_agents_back_is_told_and_the_reply_kept(
    stack: RunningStack, page: Any
) -> None:
    number = telegram_client_writes(stack, 500_005, "Не могу сменить email")
    sign_in(page, stack, "alice", hash=f"#/tickets/{number}")
    expect(page.locator(".ticket-meta")).to_contain_text("обычный")
    text = "Сейчас проверим адрес"
    page.get_by_label("Ответ", exact=True).fill(text)

    Api(stack, "agent", "carol").call("PATCH", f"/tickets/{number}", {"priority": "high"})
    page.get_by_role("button", name="Отправить").click()

    expect(page.locator("#reply-error")).to_contain_text("кто-то другой")
    expect(page.locator(".ticket-meta")).to_contain_text("высокий")  # reloaded
    expect(page.get_by_label("Ответ", exact=True)).to_have_value(text)  # kept
    assert text not in outbox_texts(stack)

    page.get_by_role("button", name="Отправить").click()
    expect(page.locator(".message-reply")).to_contain_text(text)
    expect(page.locator("#reply-error")).to_have_count(0)
    wait_for(lambda: text in outbox_texts(stack))


def test_api_errors_show_beside_their_fields_and_keep_the_text(
    stack: RunningStack, page: Any
) -> None:
    page.goto(f"{stack.api}/")
    page.get_by_label("Пользователь").fill("no spaces please")
    page.get_by_label("Пользователь").press("Enter")
    expect(page.locator("#signin-user-error")).to_contain_text("a user id is")
    expect(page.get_by_label("Пользователь")).to_have_attribute("aria-invalid", "true")

    number = telegram_client_writes(stack, 500_006, "Ошибка 500 в отчёте")
    sign_in(page, stack, "alice", hash=f"#/tickets/{number}")
    page.get_by_label("Ссылка на задачу").fill("ftp://tracker.example.com/DEV-1")
    page.get_by_label("Почему ждём").fill("нужен фикс")
    page.get_by_role("button", name="Отложить").click()
    expect(page.locator("#hold-task-error")).to_contain_text("'http' or 'https'")
    expect(page.get_by_label("Ссылка на задачу")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Почему ждём")).to_have_value("нужен фикс")

    page.get_by_label("Ссылка на задачу").fill("https://tracker.example.com/DEV-1")
    page.get_by_role("button", name="Отложить").click()
    expect(page.locator(".ticket-meta .status")).to_have_text("отложено")
    expect(page.get_by_role("link", name="https://tracker.example.com/DEV-1")).to_be_visible()

    # A user id the API refuses: its message under the assignee field, the input kept.
    page.get_by_label("Пользователь-исполнитель (пусто — снять)").fill("bob smith")
    page.get_by_role("button", name="Назначить").click()
    expect(page.locator("#assign-to-error")).to_contain_text("should match pattern")
    expect(page.get_by_label("Пользователь-исполнитель (пусто — снять)")).to_have_value("bob smith")

    # An action the ticket's status does not allow: the API's message beside the button.
    page.get_by_role("button", name="Закрыть обращение").click()
    expect(page.locator(".ticket-meta .status")).to_have_text("закрыто")
    expect(page.get_by_role("button", name="Закрыть обращение")).to_have_count(0)
    Api(stack, "agent", "carol").call("POST", f"/tickets/{number}/reopen", {})
    page.get_by_role("button", name="Открыть снова").click()  # the page still shows it closed
    expect(page.locator("#ticket-conflict")).to_contain_text("кто-то другой")
    expect(page.locator(".ticket-meta .status")).to_have_text("в работе")


def test_an_expired_session_signs_in_again_and_comes_back_with_the_draft(
    stack: RunningStack, page: Any
) -> None:
    number = telegram_client_writes(stack, 500_007, "Где мой заказ?")
    sign_in(page, stack, "alice", hash=f"#/tickets/{number}")
    page.get_by_label("Ответ", exact=True).fill("Заказ в пути")

    # The token stops being accepted (a forged signature stands for an expired one).
    page.evaluate(
        """() => {
            const s = JSON.parse(sessionStorage.getItem('helpdesk.session'));
            s.token = s.token.slice(0, -6) + 'AAAAAA';
            sessionStorage.setItem('helpdesk.session', JSON.stringify(s));
        }"""
    )
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Вход в консоль")
    expect(page.get_by_role("status")).to_contain_text("Сеанс истёк")

    page.get_by_label("Пользователь").fill("alice")
    page.get_by_label("Пользователь").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text(number)
    expect(page.get_by_label("Ответ", exact=True)).to_have_value("Заказ в пути")
    page.get_by_role("button", name="Отправить").click()
    wait_for(lambda: "Заказ в пути" in outbox_texts(stack))


def test_the_callback_worklist_and_a_lead_puts_a_customer_in_our_clients(
    stack: RunningStack, page: Any
) -> None:
    number = missed_call(stack, "console-missed-1", "+79160000002")
    sign_in(page, stack, "olga", role="lead")
    page.get_by_role("link", name="Перезвонить").click()
    row = page.locator("tr", has=page.get_by_role("link", name=number))
    expect(row).to_contain_text("+79160000002")

    row.get_by_role("link", name="+79160000002").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("+79160000002")
    expect(page.get_by_role("link", name=number)).to_be_visible()
    page.get_by_label("Имя").fill("Пётр")
    page.get_by_label("Группы").fill("our_clients")
    page.get_by_label("Группы").press("Enter")
    expect(page.locator("dd.groups")).to_have_text("our_clients")
    expect(page.get_by_role("heading", level=1)).to_have_text("Пётр")
    assert Api(stack).ticket(number)["our_client"] is True


def test_the_console_and_its_token_door_are_served_locally_only(stack: RunningStack) -> None:
    page = requests.get(f"{stack.api}/", timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    config = requests.get(f"{stack.api}/config.json", timeout=10).json()
    assert config["auth"] == "local"
    assert requests.get(f"{stack.api}/assets/../../README.md", timeout=10).status_code == 404
    assert requests.get(f"{stack.api}/openapi.json", timeout=10).json()["openapi"]

    door = f"{stack.api}/_local/token"
    body = {"role": "lead", "sub": "olga"}
    refused = requests.post(door, json=body, headers={"Origin": "http://evil.example"})
    assert refused.status_code == 403
    port = urlsplit(stack.api).port
    rebound = requests.post(door, json=body, headers={"Host": f"evil.example:{port}"})
    assert rebound.status_code == 403
    assert requests.post(door, json={"role": "root"}).json()["error"]["field"] == "role"

    token = requests.post(door, json=body, headers={"Origin": stack.api}, timeout=10).json()
    assert token["sub"] == "olga" and token["role"] == "lead"
    headers = {"Authorization": f"Bearer {token['token']}"}
    assert requests.get(f"{stack.api}/tickets", headers=headers, timeout=10).status_code == 200
