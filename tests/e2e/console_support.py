"""What the console's browser tests share: Debian's Chromium under Playwright, one local
stack for the module, clients that write in through the real webhooks, and screenshots.

Playwright's own browser download does not work here; the tests drive Debian's `chromium`
(`make browser`, or `.ci/run`, installs it). Without it the tests are skipped, except in CI
(`CI` set), where a missing browser is a failure.
"""

from __future__ import annotations

import copy
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import ROOT, RunningStack, start_stack

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TELEGRAM_SAMPLE = ROOT / "events" / "telegram" / "text_message.json"
CTI_SAMPLES = ROOT / "events" / "calls" / "generic"
REFRESH_SECONDS = 1  # the console re-reads its list this often in these tests


def chromium_or_skip() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: `make browser` installs Debian's chromium"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def console_stack(state_dir: Path) -> RunningStack:
    return start_stack(state_dir, {"CONSOLE_REFRESH_SECONDS": str(REFRESH_SECONDS)})


def stack_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    running = console_stack(tmp_path_factory.mktemp("console") / "state")
    yield running
    if running.process.poll() is None:
        running.stop()


def browser_fixture(sync_api: Any) -> Iterator[Any]:
    """Debian's Chromium for a module's tests (skipped when it is not installed)."""
    chromium_or_skip()
    # make test runs two files at once on two cores (a stack and a browser each): assertions
    # wait up to 15 s, not Playwright's 5, before they call a slow machine a failure.
    sync_api.expect.set_options(timeout=15_000)
    with sync_api.sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()


def page_fixture(browser: Any) -> Iterator[Any]:
    """A fresh tab with its own sessionStorage and localStorage (a new user), in Russian and
    Moscow time; a script error or a Content-Security-Policy violation fails the test."""
    context = browser.new_context(viewport=DESKTOP, locale="ru-RU", timezone_id="Europe/Moscow")
    context.set_default_timeout(10_000)
    opened = context.new_page()
    errors: list[str] = []

    def refused(message: Any) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            errors.append(message.text)

    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("console", refused)
    yield opened
    context.close()
    assert not errors, errors


def wait_for[T](check: Callable[[], T | None], timeout: float = 30.0) -> T:
    # 30 s: make test runs two files at once on two cores, each with a local stack and a
    # browser, so the queue's worker may take a while to send (a clean clone once took 15+).
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.2)


class Api:
    """The staff API as a script sees it (what a colleague in another tab does)."""

    def __init__(self, stack: RunningStack, role: str = "agent", user: str = "carol") -> None:
        self.stack = stack
        self.headers = {"Authorization": f"Bearer {stack.token(role, user)}"}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        answer = requests.request(
            method, f"{self.stack.api}{path}", json=body, headers=self.headers, timeout=10
        )
        assert answer.status_code < 300, answer.text
        return answer.json()

    def ticket(self, number: str) -> dict[str, Any]:
        found: dict[str, Any] = self.call("GET", f"/tickets/{number}")["ticket"]
        return found


def telegram_client_writes(stack: RunningStack, chat_id: int, text: str) -> str:
    """The Telegram sample from another chat with its own text; the new ticket's number."""
    update = json.loads(TELEGRAM_SAMPLE.read_text(encoding="utf-8"))
    update["update_id"] = chat_id
    update["message"]["message_id"] = chat_id % 100_000
    update["message"]["from"]["id"] = update["message"]["chat"]["id"] = chat_id
    update["message"]["from"]["username"] = update["message"]["chat"]["username"] = f"c{chat_id}"
    update["message"]["text"] = text
    answer = requests.post(
        f"{stack.api}/webhooks/telegram",
        data=json.dumps(update, ensure_ascii=False).encode(),
        headers={
            "content-type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": "local-telegram-secret",
        },
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    api = Api(stack)

    def find() -> str | None:
        page = api.call("GET", "/tickets?direction=d0&limit=100")
        return next((t["id"] for t in page["tickets"] if t["subject"] == text), None)

    return wait_for(find)


def cti(stack: RunningStack, event: dict[str, Any]) -> dict[str, Any]:
    answer = requests.post(
        f"{stack.api}/webhooks/calls/generic",
        json=event,
        headers={"Authorization": "Bearer local-generic-cti-token"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def sample(name: str, call_id: str, client: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((CTI_SAMPLES / f"{name}.json").read_text("utf-8"))
    event = copy.deepcopy(event)
    event["call_id"] = call_id
    event["from"] = client
    event.pop("event_id", None)
    return event


def problem_call(stack: RunningStack, call_id: str, client: str, talk_seconds: int) -> str:
    """The generic CTI samples as one answered call of `talk_seconds` with its recording."""
    cti(stack, sample("new_call", call_id, client))
    cti(stack, sample("answer", call_id, client))
    hangup = sample("hangup", call_id, client)
    hangup["duration"] = talk_seconds
    answered = datetime.fromisoformat(sample("answer", call_id, client)["timestamp"])
    hangup["timestamp"] = (answered + timedelta(seconds=talk_seconds)).isoformat()
    cti(stack, hangup)
    recording = sample("recording", call_id, client)
    recording["event_id"] = f"rec-{call_id}"
    ticket: str = cti(stack, recording)["ticket"]
    return ticket


def missed_call(stack: RunningStack, call_id: str, client: str) -> str:
    cti(stack, sample("new_call", call_id, client))
    ticket: str = cti(stack, sample("hangup_no_answer", call_id, client))["ticket"]
    return ticket


def set_clock(stack: RunningStack, now: datetime | None) -> None:
    """The stack's clock (what `make clock` does); None: real time again."""
    body = {"now": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")} if now else {}
    answer = requests.post(f"{stack.api}/_local/clock", json=body, timeout=10)
    assert answer.status_code == 200, answer.text


def outbox_texts(stack: RunningStack) -> list[str]:
    sent = requests.get(f"{stack.sandbox}/outbox", timeout=10).json()["sent"]
    return [str(item["body"].get("text", "")) for item in sent]


def sign_in(page: Any, stack: RunningStack, user: str, role: str = "agent", hash: str = "") -> None:
    """The local sign-in form, with the keyboard: type the user id, pick the role, Enter."""
    page.goto(f"{stack.api}/{hash}")
    page.get_by_label("Пользователь").fill(user)
    page.get_by_label("Роль").select_option(role)
    page.get_by_label("Пользователь").press("Enter")
    page.wait_for_url(lambda url: "#/signin" not in url)


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def api_requests(page: Any, into: list[str]) -> None:
    """Record every request the page makes to the API (not its own files)."""

    def seen(request: Any) -> None:
        path = re.sub(r"^https?://[^/]+", "", request.url)
        if not (path.startswith("/assets/") or path in ("/", "/config.json")):
            into.append(f"{request.method} {path}")

    page.on("request", seen)
