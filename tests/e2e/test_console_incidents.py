"""The console's incidents pages in Debian's Chromium against the real local stack.

An incident commander signs in through the console's own form, starts an incident, follows
its delivery to a client who wrote in through the real Telegram webhook, posts an update
and resolves it, while the public banner (GET /banner, fetched as a client application
does) shows and then drops it. Screenshots of the incidents list and of an incident, at a
laptop's and a phone's width, go to artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.e2e.conftest import RunningStack
from tests.e2e.console_support import (
    DESKTOP,
    PHONE,
    Api,
    api_requests,
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
MOSCOW = ZoneInfo("Europe/Moscow")  # the browser's zone in these tests


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    yield from stack_fixture(tmp_path_factory)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from browser_fixture(sync_api)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    yield from page_fixture(browser)


def banner(stack: RunningStack) -> list[dict[str, Any]]:
    """What a client application is shown for d0, in Russian (the public route)."""
    answer = requests.get(f"{stack.api}/banner?direction=d0&lang=ru", timeout=10)
    assert answer.status_code == 200, answer.text
    notices: list[dict[str, Any]] = answer.json()["notices"]
    return notices


def in_an_hour() -> tuple[str, str]:
    """An ETA as the commander types it (Moscow time, datetime-local) and as the API says it."""
    eta = (datetime.now(UTC) + timedelta(hours=1)).replace(second=0, microsecond=0)
    typed = eta.astimezone(MOSCOW).strftime("%Y-%m-%dT%H:%M")
    return typed, eta.strftime("%Y-%m-%dT%H:%M:00.000Z")


def delivery(page: Any, revision: int, channel: str, count: str) -> Any:
    return page.locator(
        f".delivery-table tr[data-revision='{revision}'][data-channel='{channel}'] "
        f"td[data-state='{count}']"
    )


def test_a_commander_starts_updates_and_resolves_a_red_incident(
    stack: RunningStack, page: Any
) -> None:
    telegram_client_writes(stack, 600_001, "Здравствуйте, у меня вопрос по тарифу")  # 1 client

    sign_in(page, stack, "ic-1", role="commander")
    expect(page.get_by_role("heading", level=1)).to_have_text("Инциденты")  # a commander's home
    expect(page.get_by_role("link", name="Инциденты")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("link", name="Очередь")).to_have_count(0)

    # WhatsApp is offered for red incidents only.
    whatsapp = page.get_by_label("WhatsApp")
    expect(whatsapp).to_be_checked()
    page.get_by_label("Уровень").select_option("yellow")
    expect(whatsapp).to_be_disabled()
    expect(whatsapp).not_to_be_checked()
    page.get_by_label("Уровень").select_option("red")
    expect(whatsapp).to_be_enabled()

    typed_eta, eta = in_an_hour()
    page.get_by_label("Направления").fill("d0")
    page.get_by_label("Текст по-русски").fill("Не проходят платежи картой. Чиним.")
    page.get_by_label("Текст по-английски").fill("Card payments fail. We are on it.")
    page.get_by_label("Ожидаем решения к (необязательно)").fill(typed_eta)

    # The first press reaches the stack but its answer is lost on the way back; pressing
    # again sends the same request_id, and the API answers with the same incident.
    request_ids: list[str] = []

    def lose_the_first_answer(route: Any) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        request_ids.append(route.request.post_data_json["request_id"])
        if len(request_ids) == 1:
            route.fetch()
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/broadcasts", lose_the_first_answer)
    page.get_by_role("button", name="Начать инцидент").click()
    expect(page.locator("#start-error")).to_contain_text("дважды не опубликуется")
    expect(page.get_by_label("Текст по-русски")).to_have_value("Не проходят платежи картой. Чиним.")
    page.get_by_role("button", name="Начать инцидент").click()
    started = page.get_by_role("status").filter(has_text="начат")
    expect(started).to_contain_text("INC-")
    number = started.inner_text().split()[1]
    assert len(request_ids) == 2 and request_ids[0] == request_ids[1], request_ids
    commander = Api(stack, "commander", "ic-2")
    listed = commander.call("GET", "/broadcasts")["broadcasts"]
    assert [n["id"] for n in listed if n["text"]["ru"].startswith("Не проходят")] == [number]
    page.unroute("**/broadcasts")
    expect(page.get_by_label("Текст по-русски")).to_have_value("")  # the form is ready again

    row = page.locator(f"tr[data-incident='{number}']")
    expect(row.locator(".severity")).to_have_text("красный")
    expect(row).to_contain_text("идёт")
    expect(row).to_contain_text("Не проходят платежи картой")
    shown = banner(stack)
    assert [(n["id"], n["severity"], n["text"], n["eta"]) for n in shown] == [
        (number, "red", "Не проходят платежи картой. Чиним.", eta)
    ]
    screenshot(page, "incidents-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, "incidents-phone")
    page.set_viewport_size(DESKTOP)

    # The incident: its timeline, and the delivery to the one client counted as it goes.
    row.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(number)
    expect(page.locator(".posts li")).to_have_count(1)
    expect(delivery(page, 1, "telegram", "queued")).to_have_text("1")
    expect(delivery(page, 1, "telegram", "sent")).to_have_text("1")
    expect(delivery(page, 1, "whatsapp", "queued")).to_have_text("0")  # nobody in WhatsApp

    # An update (Ctrl+Enter sends): revision 2, counted in place, one API call per refresh.
    calls: list[str] = []
    api_requests(page, calls)
    update = page.locator("#update-form")
    update.get_by_label("Текст по-русски").fill("Платежи проходят с задержкой до 5 минут.")
    update.get_by_label("Текст по-русски").press("Control+Enter")
    expect(page.locator(".posts li")).to_have_count(2)
    expect(page.locator(".posts li").last).to_contain_text("обновление")
    expect(delivery(page, 2, "telegram", "sent")).to_have_text("1")
    expect(delivery(page, 2, "telegram", "pending")).to_have_text("0")
    expect(update.get_by_label("Текст по-русски")).to_have_value("")
    assert calls[0] == f"POST /broadcasts/{number}/updates", calls
    assert set(calls[1:]) == {f"GET /broadcasts/{number}"}, calls
    assert banner(stack)[0]["text"] == "Платежи проходят с задержкой до 5 минут."
    screenshot(page, "incident-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, "incident-phone")
    page.set_viewport_size(DESKTOP)

    # Resolved: the page says so and offers no more forms; the banner is empty.
    resolve = page.locator("#resolve-form")
    resolve.get_by_label("Текст по-русски").fill("Платежи снова проходят. Спасибо за терпение.")
    resolve.get_by_label("Решить и обращения").check()
    resolve.get_by_role("button", name="Завершить инцидент").click()
    expect(page.locator("h1 .incident-state")).to_have_text("решено")
    expect(page.get_by_text("Инцидент решён: больше ничего не публикуется.")).to_be_visible()
    expect(page.locator("#update-form")).to_have_count(0)
    expect(page.locator(".posts li").last).to_contain_text("решён")
    assert banner(stack) == []
    notice = commander.call("GET", f"/broadcasts/{number}")
    assert (notice["state"], notice["resolve_linked"], notice["revision"]) == ("resolved", True, 3)

    page.get_by_role("link", name="Назад к инцидентам").first.click()
    expect(page.locator(f"tr[data-incident='{number}']")).to_contain_text("решено")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Incidents")


def test_a_blank_text_is_refused_beside_its_field_and_the_rest_kept(
    stack: RunningStack, page: Any, browser: Any
) -> None:
    commander = Api(stack, "commander", "ic-2")
    before = len(commander.call("GET", "/broadcasts")["broadcasts"])
    sign_in(page, stack, "ic-1", role="commander", hash="#/incidents")
    page.get_by_label("Уровень").select_option("yellow")
    page.get_by_label("Текст по-русски").fill("   ")
    page.get_by_label("Текст по-английски").fill("Payments are slow")
    page.get_by_role("button", name="Начать инцидент").click()
    expect(page.locator("#start-text-ru-error")).to_contain_text("at least 1 character")
    expect(page.get_by_label("Текст по-русски")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Текст по-английски")).to_have_value("Payments are slow")
    expect(page.get_by_label("Уровень")).to_have_value("yellow")
    expect(page.locator("#start-error")).to_have_count(0)
    assert len(commander.call("GET", "/broadcasts")["broadcasts"]) == before

    # An unknown direction: the API's message under the directions field.
    page.get_by_label("Текст по-русски").fill("Платежи проходят медленно")
    page.get_by_label("Направления").fill("d0 nowhere")
    page.get_by_label("Текст по-русски").press("Control+Enter")
    expect(page.locator("#start-directions-error")).to_contain_text("no direction nowhere")
    expect(page.get_by_label("Текст по-русски")).to_have_value("Платежи проходят медленно")

    # No channel at all is not sent (a notice without channels breaks the API for now).
    page.get_by_label("Направления").fill("d0")
    page.get_by_label("Telegram").uncheck()
    page.get_by_role("button", name="Начать инцидент").click()
    expect(page.locator("#start-channels-error")).to_contain_text("хотя бы один канал")
    assert len(commander.call("GET", "/broadcasts")["broadcasts"]) == before

    # Someone else resolves it while the commander types an update: told at the top, and
    # the page shows it resolved.
    notice = commander.call(
        "POST",
        "/broadcasts",
        {
            "severity": "green",
            "directions": ["d0"],
            "text": {"ru": "Плановые работы в 02:00"},
            "request_id": "e2e-planned-works",
        },
    )
    page.goto(f"{stack.api}/#/incidents/{notice['id']}")
    expect(page.locator("h1 .severity")).to_have_text("зелёный")
    update = page.locator("#update-form")
    update.get_by_role("button", name="Опубликовать обновление").click()  # both texts empty
    expect(page.locator("#update-text-ru-error")).to_be_visible()
    expect(page.locator("#update-text-en-error")).to_be_visible()
    update.get_by_label("Текст по-английски").fill("Works moved to 03:00")

    # The token stops being accepted: sign in again, come back, the draft still there.
    page.evaluate(
        """() => {
            const s = JSON.parse(sessionStorage.getItem('helpdesk.session'));
            s.token = s.token.slice(0, -6) + 'AAAAAA';
            sessionStorage.setItem('helpdesk.session', JSON.stringify(s));
        }"""
    )
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Вход в консоль")
    expect(page.get_by_label("Роль")).to_have_value("commander")
    page.get_by_label("Пользователь").press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text(notice["id"])
    expect(update.get_by_label("Текст по-английски")).to_have_value("Works moved to 03:00")

    commander.call("POST", f"/broadcasts/{notice['id']}/resolve", {"text": {"ru": "Готово"}})
    update.get_by_role("button", name="Опубликовать обновление").click()
    expect(page.locator("#incident-conflict")).to_contain_text("it is resolved")
    expect(page.locator("h1 .incident-state")).to_have_text("решено")

    # Agents and leads have no incidents in their menu.
    agent = browser.new_context(viewport=DESKTOP).new_page()
    sign_in(agent, stack, "alice")
    expect(agent.get_by_role("link", name="Очередь")).to_be_visible()
    expect(agent.get_by_role("link", name="Инциденты")).to_have_count(0)
    agent.context.close()
    assert banner(stack) == []
