"""The console's reports page in Debian's Chromium against the real local stack.

Six clients write in through the real Telegram webhook; alice takes, answers and resolves
each through the tickets API, one ticket is a complaint, and five clients rate her through
the real Telegram button press, so every report has something to show. A lead reads the
reports (complaint share, heatmap, charts, the CSAT leaderboard with its crown) and
downloads a CSV; finance reads the costs; an agent has no link to the page, is told it is not
theirs, and never loads the chart code; a reversed range is refused beside its field.
Screenshots of the page at a laptop's and a phone's width go to artifacts/screenshots/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import ROOT, RunningStack
from tests.e2e.console_support import (
    DESKTOP,
    PHONE,
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
CALLBACK_SAMPLE = ROOT / "events" / "telegram" / "callback_query.json"
CHATS = range(700_001, 700_007)  # six clients; the last one complains and does not rate


def rate(stack: RunningStack, chat_id: int, ticket: str, stars: int) -> None:
    """The client presses a rating button under the resolution message (real webhook)."""
    update = json.loads(CALLBACK_SAMPLE.read_text(encoding="utf-8"))
    update["update_id"] = chat_id + 1_000_000
    press = update["callback_query"]
    press["id"] = f"press-{chat_id}"
    press["from"]["id"] = press["message"]["chat"]["id"] = chat_id
    press["data"] = f"csat:{ticket}:{stars}"
    answer = requests.post(
        f"{stack.api}/webhooks/telegram",
        json=update,
        headers={"X-Telegram-Bot-Api-Secret-Token": "local-telegram-secret"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    for running in stack_fixture(tmp_path_factory):
        lead, alice = Api(running, "lead", "lena"), Api(running, "agent", "alice")
        for chat in CHATS:
            number = telegram_client_writes(running, chat, f"Вопрос по заказу {chat}")
            lead.call("POST", f"/tickets/{number}/assign", {"assignee": "alice"})
            alice.call("POST", f"/tickets/{number}/replies", {"text": "Смотрим"})
            if chat == CHATS[-1]:
                alice.call("PATCH", f"/tickets/{number}", {"category": "complaint"})
                continue
            alice.call("POST", f"/tickets/{number}/resolve", {"resolution": "Готово"})
            rate(running, chat, number, 5)
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from browser_fixture(sync_api)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    yield from page_fixture(browser)


def chunk_requests(page: Any, into: list[str]) -> None:
    """Record the console's own script and style files the page fetches."""

    def seen(request: Any) -> None:
        if "/assets/" in request.url:
            into.append(request.url.rsplit("/", 1)[-1])

    page.on("request", seen)


def test_a_lead_reads_the_reports_and_downloads_a_csv(stack: RunningStack, page: Any) -> None:
    files: list[str] = []
    chunk_requests(page, files)
    sign_in(page, stack, "lena", "lead")
    page.get_by_role("link", name="Отчёты").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Отчёты")

    # One complaint among six tickets: the share is said, as a number.
    expect(page.locator("#complaint-share")).to_have_text(re.compile(r"^16,7\s%$"))
    # The heatmap counts the six arrivals in its cells.
    expect(page.locator("td.heat.heat-5").first).to_be_visible()
    cells = page.locator("td.heat").all_inner_texts()
    assert sum(int(text) for text in cells if text.strip().isdigit()) == 6
    # The charts are drawn by the library (canvas), their numbers a click away.
    expect(page.locator("#report-load canvas").first).to_be_visible()
    expect(page.locator("#report-times canvas").first).to_be_visible()
    page.locator("#report-times summary").click()
    expect(page.locator("#report-times table.report-table")).to_contain_text("d0")
    # The leaderboard: alice, five good ratings, ranked first with the crown.
    leader = page.locator(".leaderboard tr.leader")
    expect(leader).to_contain_text("alice")
    expect(leader.get_by_role("img", name="лидер")).to_be_visible()
    # The complaint, newest first, links to its ticket.
    expect(page.locator("#report-complaints li")).to_have_count(1)
    assert any(name.startswith("Reports-") for name in files), files
    # No costs for a lead (finance only).
    expect(page.locator("#report-costs")).to_have_count(0)

    # CSV: the same query with format=csv, fetched with the token and saved as a file.
    with page.expect_download() as heatmap:
        page.get_by_role("button", name="Скачать CSV").nth(1).click()
    assert heatmap.value.suggested_filename.startswith("heatmap-")
    text = Path(heatmap.value.path()).read_text(encoding="utf-8")
    assert text.startswith("direction,date,weekday,00,01,"), text[:80]
    with page.expect_download() as export:
        page.locator("#csv-tickets").click()
    rows = Path(export.value.path()).read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("id,direction,channel,status,"), rows[0]
    assert len(rows) == 1 + len(CHATS)

    page.wait_for_timeout(300)  # the charts settle
    screenshot(page, "reports-desktop")
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(300)
    screenshot(page, "reports-phone")
    page.set_viewport_size(DESKTOP)

    # English on request.
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="CSAT leaderboard")).to_be_visible()


def test_finance_starts_on_the_reports_and_reads_the_costs(stack: RunningStack, page: Any) -> None:
    sign_in(page, stack, "fiona", "finance")
    expect(page).to_have_url(re.compile(r"#/reports$"))
    expect(page.get_by_role("link", name="Очередь")).to_have_count(0)
    costs = page.locator("#report-costs")
    expect(costs.get_by_role("heading", name="Затраты по каналам")).to_be_visible()
    expect(costs.locator("canvas").first).to_be_visible()
    costs.locator("summary").click()
    expect(costs.locator("table.report-table")).to_contain_text("AWS")


def test_an_agent_is_told_the_reports_are_not_theirs(stack: RunningStack, page: Any) -> None:
    files: list[str] = []
    chunk_requests(page, files)
    sign_in(page, stack, "alice")
    expect(page.get_by_role("heading", level=1)).to_have_text("Очередь")
    expect(page.get_by_role("link", name="Отчёты")).to_have_count(0)
    page.goto(f"{stack.api}/#/reports")
    expect(page.locator("#reports-only")).to_contain_text("не открыта")
    # The queue and the refusal never fetch the reports page or its chart library.
    assert files and not any(name.startswith("Reports-") for name in files), files


def test_a_reversed_range_is_refused_beside_its_field(stack: RunningStack, page: Any) -> None:
    sign_in(page, stack, "lena", "lead", "#/reports")
    expect(page.locator("#complaint-share")).to_be_visible()
    page.locator("#r-from").fill("2026-11-20")
    page.locator("#r-to").fill("2026-11-10")
    page.get_by_role("button", name="Показать").click()
    error = page.locator("#r-from-error")
    expect(error).to_contain_text("is after to (2026-11-10)")
    expect(page.locator("#r-from")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#complaint-share")).to_have_count(0)
    # Put right, the reports come back.
    page.locator("#r-from").fill("2026-11-01")
    page.get_by_role("button", name="Показать").click()
    expect(page.locator("#complaint-share")).to_be_visible()
    expect(error).to_have_count(0)
