"""The console's incidents pages in Debian's Chromium against the real local stack.

An incident commander signs in through the console's own form, starts incidents, follows
their delivery to a client who wrote in through the real Telegram webhook, posts updates and
resolves them, while the public banner (GET /banner, fetched as a client application does)
shows and then drops them. A press whose answer is lost on the way back is pressed again and
posts nothing twice; refusals show beside their fields; agents are told the pages are not
theirs. Screenshots of the list and of an incident, at a laptop's and a phone's width, go to
artifacts/screenshots/.
"""

from __future__ import annotations

import uuid
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
    REFRESH_SECONDS,
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
    for running in stack_fixture(tmp_path_factory):
        # One client of d0 in Telegram: every incident of these tests has one person to tell.
        telegram_client_writes(running, 600_001, "Здравствуйте, у меня вопрос по тарифу")
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from browser_fixture(sync_api)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    yield from page_fixture(browser)


@pytest.fixture(scope="module")
def commander(stack: RunningStack) -> Api:
    """Another commander, through the API (what a colleague in another tab does)."""
    return Api(stack, "commander", "ic-2")


def banner(stack: RunningStack) -> list[dict[str, Any]]:
    """What a client application is shown for d0, in Russian (the public route)."""
    answer = requests.get(f"{stack.api}/banner?direction=d0&lang=ru", timeout=10)
    assert answer.status_code == 200, answer.text
    notices: list[dict[str, Any]] = answer.json()["notices"]
    return notices


def incidents_with(commander: Api, prefix: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = commander.call("GET", "/broadcasts")["broadcasts"]
    return [n for n in listed if n["text"].get("ru", "").startswith(prefix)]


def start(commander: Api, text: str, severity: str = "yellow", **more: Any) -> str:
    body = {"severity": severity, "directions": ["d0"], "text": {"ru": text}, **more}
    notice = commander.call("POST", "/broadcasts", {"request_id": str(uuid.uuid4()), **body})
    number: str = notice["id"]
    return number


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


def lose_first_answer(page: Any, pattern: str) -> list[str]:
    """The first POST to `pattern` reaches the stack, which carries it out, but its answer is
    lost on the way back (the connection resets); later ones go through. Returns the
    request_id of every POST seen."""
    seen: list[str] = []

    def handle(route: Any) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        seen.append(route.request.post_data_json["request_id"])
        if len(seen) == 1:
            route.fetch()  # the stack answers; the browser never hears it
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(pattern, handle)
    return seen


def test_a_commander_starts_an_incident_listed_active_first_and_on_the_banner(
    stack: RunningStack, page: Any, commander: Api
) -> None:
    older = start(commander, "Вчерашний сбой входа")  # started first, still active
    newer = start(commander, "Плановые работы ночью", severity="green")
    commander.call("POST", f"/broadcasts/{newer}/resolve", {"text": {"ru": "Работы окончены"}})

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
    page.get_by_role("button", name="Начать инцидент").click()
    started = page.get_by_role("status").filter(has_text="начат")
    expect(started).to_contain_text("INC-")
    number = started.inner_text().split()[1]
    expect(page.get_by_label("Текст по-русски")).to_have_value("")  # the form is ready again

    # Active incidents first, the newest on top; the resolved one after them.
    rows = page.locator("tr[data-incident]")
    expect(rows).to_have_count(3)
    order = [rows.nth(i).get_attribute("data-incident") for i in range(3)]
    assert order == [number, older, newer], order
    row = page.locator(f"tr[data-incident='{number}']")
    expect(row.locator(".severity")).to_have_text("красный")
    expect(row).to_contain_text("идёт")
    expect(row).to_contain_text("d0")
    expect(row).to_contain_text("Не проходят платежи картой")
    expect(page.locator(f"tr[data-incident='{newer}']")).to_contain_text("решено")
    shown = [(n["id"], n["severity"], n["text"], n["eta"]) for n in banner(stack)]
    assert shown == [
        (number, "red", "Не проходят платежи картой. Чиним.", eta),
        (older, "yellow", "Вчерашний сбой входа", None),
    ], shown
    screenshot(page, "incidents-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, "incidents-phone")
    page.set_viewport_size(DESKTOP)
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Incidents")
    expect(row.locator(".severity")).to_have_text("red")

    for notice in (number, older):  # the banner is shared by the module's tests
        commander.call("POST", f"/broadcasts/{notice}/resolve", {"text": {"ru": "Решено"}})


def test_an_incident_shows_its_posts_and_delivery_then_stops_refreshing(
    stack: RunningStack, page: Any, commander: Api
) -> None:
    number = start(commander, "Медленно открываются счета", channels=["telegram"])
    sign_in(page, stack, "ic-1", role="commander", hash="#/incidents")
    page.locator(f"tr[data-incident='{number}']").get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(number)
    expect(page.locator(".posts li")).to_have_count(1)
    expect(page.locator(".posts li").first).to_contain_text("начат")

    # The one client is told; counts per revision and channel, refreshed until all is sent.
    expect(delivery(page, 1, "telegram", "queued")).to_have_text("1")
    expect(delivery(page, 1, "telegram", "sent")).to_have_text("1")
    expect(delivery(page, 1, "telegram", "pending")).to_have_text("0")
    expect(page.locator("#delivery-watch")).to_contain_text("обновление остановлено")

    # Nothing waits to be sent: the page stops asking.
    calls: list[str] = []
    api_requests(page, calls)
    page.wait_for_timeout(REFRESH_SECONDS * 3000)
    assert calls == [], calls

    # An update (Ctrl+Enter sends): revision 2, counted in place, one API call per refresh.
    typed_eta, eta = in_an_hour()
    update = page.locator("#update-form")
    update.get_by_label("Текст по-русски").fill("Счета открываются с задержкой до минуты.")
    update.get_by_label("Ожидаем решения к (необязательно)").fill(typed_eta)
    update.get_by_label("Текст по-русски").press("Control+Enter")
    expect(page.locator(".posts li")).to_have_count(2)
    expect(page.locator(".posts li").last).to_contain_text("обновление")
    expect(page.locator(".posts li").last).to_contain_text("Счета открываются с задержкой")
    expect(delivery(page, 2, "telegram", "sent")).to_have_text("1")
    expect(delivery(page, 2, "telegram", "pending")).to_have_text("0")
    expect(update.get_by_label("Текст по-русски")).to_have_value("")
    assert calls[0] == f"POST /broadcasts/{number}/updates", calls
    assert set(calls[1:]) == {f"GET /broadcasts/{number}"}, calls
    assert [(n["text"], n["eta"]) for n in banner(stack)] == [
        ("Счета открываются с задержкой до минуты.", eta)
    ]
    screenshot(page, "incident-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, "incident-phone")
    page.set_viewport_size(DESKTOP)

    # Resolved, with its linked tickets: the page says so and offers no more forms.
    resolve = page.locator("#resolve-form")
    resolve.get_by_label("Текст по-русски").fill("Счета снова открываются быстро.")
    resolve.get_by_label("Решить и обращения").check()
    resolve.get_by_role("button", name="Завершить инцидент").click()
    expect(page.locator("h1 .incident-state")).to_have_text("решено")
    expect(page.get_by_text("Инцидент решён: больше ничего не публикуется.")).to_be_visible()
    expect(page.locator("#update-form")).to_have_count(0)
    expect(page.locator(".posts li")).to_have_count(3)
    expect(page.locator(".posts li").last).to_contain_text("решён")
    # Linked tickets hear first; the fan-out of the resolution follows seconds later, and
    # the page keeps watching for it.
    expect(delivery(page, 3, "telegram", "queued").locator("xpath=..")).to_contain_text(
        "ещё не посчитано"
    )
    expect(page.locator("#delivery-watch")).to_contain_text("Обновляется раз в 1 с")
    assert banner(stack) == []
    notice = commander.call("GET", f"/broadcasts/{number}")
    assert (notice["state"], notice["resolve_linked"], notice["revision"]) == ("resolved", True, 3)

    page.get_by_role("link", name="Назад к инцидентам").first.click()
    expect(page.locator(f"tr[data-incident='{number}']")).to_contain_text("решено")


def test_a_press_whose_answer_was_lost_is_pressed_again_and_posts_nothing_twice(
    stack: RunningStack, page: Any, commander: Api
) -> None:
    sign_in(page, stack, "ic-1", role="commander", hash="#/incidents")
    page.get_by_label("Уровень").select_option("yellow")
    page.get_by_label("Текст по-русски").fill("Не доходят письма с кодом.")

    # Started, but the answer is lost: told that pressing again is safe, the text kept.
    ids = lose_first_answer(page, "**/broadcasts")
    page.get_by_role("button", name="Начать инцидент").click()
    expect(page.locator("#start-error")).to_contain_text("дважды не опубликуется")
    expect(page.get_by_label("Текст по-русски")).to_have_value("Не доходят письма с кодом.")
    page.get_by_role("button", name="Начать инцидент").click()
    started = page.get_by_role("status").filter(has_text="начат")
    expect(started).to_contain_text("INC-")
    number = started.inner_text().split()[1]
    assert len(ids) == 2 and ids[0] == ids[1], ids
    assert [n["id"] for n in incidents_with(commander, "Не доходят письма")] == [number]
    page.unroute("**/broadcasts")

    # An update whose answer is lost, then changed before pressing again: the API answers
    # with the first attempt's post, so nothing is posted twice; the commander is told the
    # change was not posted, and it stays in the form.
    page.goto(f"{stack.api}/#/incidents/{number}")
    update = page.locator("#update-form")
    ids = lose_first_answer(page, f"**/broadcasts/{number}/updates")
    update.get_by_label("Текст по-русски").fill("Письма уходят с задержкой.")
    update.get_by_role("button", name="Опубликовать обновление").click()
    expect(page.locator("#update-error")).to_contain_text("дважды не опубликуется")
    update.get_by_label("Текст по-русски").fill("Письма уходят с задержкой до 10 минут.")
    update.get_by_role("button", name="Опубликовать обновление").click()
    expect(page.locator("#update-earlier")).to_contain_text("изменения не опубликованы")
    expect(update.get_by_label("Текст по-русски")).to_have_value(
        "Письма уходят с задержкой до 10 минут."
    )
    expect(page.locator(".posts li")).to_have_count(2)
    assert len(ids) == 2 and ids[0] == ids[1], ids
    page.unroute(f"**/broadcasts/{number}/updates")

    # Pressed once more, the change is a post of its own.
    update.get_by_role("button", name="Опубликовать обновление").click()
    expect(page.locator(".posts li")).to_have_count(3)
    expect(page.locator(".posts li").last).to_contain_text("до 10 минут")
    posts = commander.call("GET", f"/broadcasts/{number}")["posts"]
    assert [p["text"]["ru"] for p in posts] == [
        "Не доходят письма с кодом.",
        "Письма уходят с задержкой.",
        "Письма уходят с задержкой до 10 минут.",
    ]
    commander.call("POST", f"/broadcasts/{number}/resolve", {"text": {"ru": "Решено"}})

    # The same with a start: one incident, and the changed text waits in its update form.
    page.goto(f"{stack.api}/#/incidents")
    page.get_by_label("Уровень").select_option("yellow")
    page.get_by_label("Текст по-русски").fill("Не работает поиск.")
    ids = lose_first_answer(page, "**/broadcasts")
    page.get_by_role("button", name="Начать инцидент").click()
    expect(page.locator("#start-error")).to_contain_text("дважды не опубликуется")
    page.get_by_label("Текст по-русски").fill("Не работает поиск по номеру.")
    page.get_by_role("button", name="Начать инцидент").click()
    started = page.get_by_role("status").filter(has_text="начат")
    expect(started).to_contain_text("изменения не отправлены")
    second = started.inner_text().split()[1]
    assert len(ids) == 2 and ids[0] == ids[1], ids
    assert [n["id"] for n in incidents_with(commander, "Не работает поиск")] == [second]
    assert commander.call("GET", f"/broadcasts/{second}")["text"] == {"ru": "Не работает поиск."}
    page.unroute("**/broadcasts")
    started.get_by_role("link").click()
    expect(page.locator("#update-form").get_by_label("Текст по-русски")).to_have_value(
        "Не работает поиск по номеру."
    )
    commander.call("POST", f"/broadcasts/{second}/resolve", {"text": {"ru": "Решено"}})


def test_a_blank_text_is_refused_beside_its_field_and_nothing_is_stored(
    stack: RunningStack, page: Any, commander: Api
) -> None:
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

    # No channel at all is not sent (a notice without channels breaks the API's list).
    page.get_by_label("Направления").fill("d0")
    page.get_by_label("Telegram").uncheck()
    page.get_by_role("button", name="Начать инцидент").click()
    expect(page.locator("#start-channels-error")).to_contain_text("хотя бы один канал")
    assert len(commander.call("GET", "/broadcasts")["broadcasts"]) == before

    # Both texts of an update empty: each refused beside its own field.
    number = start(commander, "Плановые работы в 02:00", severity="green")
    page.goto(f"{stack.api}/#/incidents/{number}")
    expect(page.locator("h1 .severity")).to_have_text("зелёный")
    update = page.locator("#update-form")
    update.get_by_role("button", name="Опубликовать обновление").click()
    expect(page.locator("#update-text-ru-error")).to_be_visible()
    expect(page.locator("#update-text-en-error")).to_be_visible()
    assert commander.call("GET", f"/broadcasts/{number}")["revision"] == 1
    commander.call("POST", f"/broadcasts/{number}/resolve", {"text": {"ru": "Готово"}})


def test_an_update_on_an_incident_resolved_meanwhile_is_told_and_the_draft_kept(
    stack: RunningStack, page: Any, commander: Api
) -> None:
    number = start(commander, "Перебои с SMS")
    sign_in(page, stack, "ic-1", role="commander", hash=f"#/incidents/{number}")
    update = page.locator("#update-form")
    update.get_by_label("Текст по-английски").fill("SMS are back to normal")

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
    expect(page.get_by_role("heading", level=1)).to_contain_text(number)
    expect(update.get_by_label("Текст по-английски")).to_have_value("SMS are back to normal")

    # Someone else resolves it meanwhile: the 409 is told at the top, the page reloaded.
    commander.call("POST", f"/broadcasts/{number}/resolve", {"text": {"ru": "Готово"}})
    update.get_by_role("button", name="Опубликовать обновление").click()
    conflict = page.locator("#incident-conflict")
    expect(conflict).to_contain_text("Инцидент уже решён")
    expect(conflict).to_contain_text("it is resolved")  # the API's own words
    expect(page.locator("h1 .incident-state")).to_have_text("решено")
    expect(page.locator("#update-form")).to_have_count(0)
    assert commander.call("GET", f"/broadcasts/{number}")["revision"] == 2


def test_agents_have_no_incidents_link_and_are_told_so_on_its_address(
    stack: RunningStack, page: Any, commander: Api
) -> None:
    number = start(commander, "Сбой для проверки доступа")
    calls: list[str] = []
    api_requests(page, calls)
    sign_in(page, stack, "alice")
    expect(page.get_by_role("link", name="Очередь")).to_be_visible()
    expect(page.get_by_role("link", name="Инциденты")).to_have_count(0)

    for address in ("#/incidents", f"#/incidents/{number}"):
        page.goto(f"{stack.api}/{address}")
        told = page.locator("#commanders-only")
        expect(told).to_contain_text("Инцидентами занимаются координаторы инцидентов")
        expect(told).to_contain_text("alice (agent)")
        expect(page.get_by_role("button", name="Начать инцидент")).to_have_count(0)
        expect(page.get_by_role("link", name="Назад к очереди")).to_be_visible()
    assert not [c for c in calls if "/broadcasts" in c], calls  # nothing asked of the API
    commander.call("POST", f"/broadcasts/{number}/resolve", {"text": {"ru": "Решено"}})
