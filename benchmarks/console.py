"""The web console's first load and its refresh, as an agent's browser sees them.

Starts the real local stack (benchmarks.local_stack), lets 25 clients write in through the
Telegram webhook (a full first page of the queue), then opens the queue page in a fresh
Debian Chromium profile (empty cache: a cold load) with the agent already signed in, and
records every request until the queue is on screen. Then it watches the page refresh a few
times and counts the API calls of each refresh.

Bytes are counted as a CDN would send them. The local stack serves files uncompressed, so
each response body is compressed here the way CloudFront does for the console's files
(template.yaml: CachingOptimized, Compress): gzip and brotli, for bodies of 1,000 bytes to
10 MB of a compressible type; smaller bodies go as they are. gzip is zlib level 6 and
brotli quality 11 here; CloudFront's own levels are not published, so a real transfer may
be a little larger (the gzip column is the safer figure). API responses pass CloudFront
uncompressed (CachingDisabled), as API Gateway's HTTP API sends them: counted raw. Headers
are not counted (HTTP/2 compresses them; about 0.2-0.5 kB a response).

Then a lead opens the reports page (#/reports) cold: its own chunk with the charting library
(uPlot) comes only then, and the queue's cold load must not carry it.

Goals: the cold load under 300 kB compressed; one API call per refresh; no reports code in
the queue's cold load.

Standalone: python -m benchmarks.console (needs `make console` and `make browser`)
"""

from __future__ import annotations

import gzip
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import brotli  # type: ignore[import-untyped]  # no stubs; two calls
import requests

from benchmarks.local_stack import ROOT, StackProcess, local_stack, send_telegram, telegram_update

CHROMIUM = Path("/usr/bin/chromium")
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
REFRESH_SECONDS = 2
REFRESHES = 4
BUDGET_BYTES = 300 * 1024
COMPRESSIBLE = re.compile(r"^(text/|application/(json|javascript)|image/svg)")


@dataclass
class Transfer:
    method: str
    path: str
    kind: str  # Chromium's resource type: document, script, stylesheet, fetch
    content_type: str
    raw: int
    gzip: int
    brotli: int
    api: bool


def measured(method: str, path: str, kind: str, content_type: str, body: bytes) -> Transfer:
    api = not (path == "/" or path.startswith("/assets/") or path == "/config.json")
    compressible = (
        not api and COMPRESSIBLE.match(content_type) is not None and 1000 <= len(body) <= 10**7
    )
    return Transfer(
        method,
        path,
        kind,
        content_type.split(";")[0],
        len(body),
        len(gzip.compress(body, 6)) if compressible else len(body),
        len(brotli.compress(body, quality=11)) if compressible else len(body),
        api,
    )


def signed_in_session(stack: StackProcess, role: str = "agent") -> dict[str, Any]:
    """What the sign-in form leaves in sessionStorage, from the stack's token door."""
    answer = requests.post(
        f"{stack.api}/_local/token", json={"role": role, "sub": "bench"}, timeout=10
    ).json()
    return {
        "token": answer["token"],
        "user": "bench",
        "roles": [role],
        "expires_at": answer["exp"],
    }


def measure_reports(stack: StackProcess) -> tuple[list[Transfer], float]:
    """A lead's cold load of the reports page, to its charts drawn."""
    from playwright.sync_api import sync_playwright

    transfers: list[Transfer] = []
    session = json.dumps(signed_in_session(stack, "lead"))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.add_init_script(
            f"sessionStorage.setItem('helpdesk.session', {json.dumps(session)})"
        )
        page = context.new_page()

        def finished(request: Any) -> None:
            path = re.sub(r"^https?://[^/]+", "", request.url)
            response = request.response()
            body = response.body() if response else b""
            content_type = response.headers.get("content-type", "") if response else ""
            transfers.append(
                measured(request.method, path, request.resource_type, content_type, body)
            )

        page.on("requestfinished", finished)
        started = time.monotonic()
        page.goto(f"{stack.api}/#/reports")
        page.locator("#report-load canvas").first.wait_for()
        page.locator("#report-times canvas").first.wait_for()
        on_screen = time.monotonic() - started
        page.wait_for_load_state("networkidle")
        browser.close()
    return transfers, on_screen


def is_reports_code(transfer: Transfer) -> bool:
    return transfer.path.startswith("/assets/Reports-")


def measure(stack: StackProcess) -> tuple[list[Transfer], list[int], float]:
    """Cold-load transfers, API calls per refresh, and the time to a full queue on screen."""
    from playwright.sync_api import sync_playwright

    transfers: list[Transfer] = []
    api_calls: list[float] = []
    session = json.dumps(signed_in_session(stack))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.add_init_script(
            f"sessionStorage.setItem('helpdesk.session', {json.dumps(session)})"
        )
        page = context.new_page()

        def finished(request: Any) -> None:
            path = re.sub(r"^https?://[^/]+", "", request.url)
            response = request.response()
            body = response.body() if response else b""
            content_type = response.headers.get("content-type", "") if response else ""
            transfer = measured(request.method, path, request.resource_type, content_type, body)
            transfers.append(transfer)
            if transfer.api:
                api_calls.append(time.monotonic())

        page.on("requestfinished", finished)
        started = time.monotonic()
        page.goto(f"{stack.api}/#/queue?direction=d0&sort=created")
        page.locator("table.tickets tbody tr").nth(24).wait_for()
        on_screen = time.monotonic() - started
        page.wait_for_load_state("networkidle")
        cold = list(transfers)

        # The refreshes: count the API calls in each refresh period after the first load.
        first_refresh = time.monotonic()
        page.wait_for_timeout(REFRESHES * REFRESH_SECONDS * 1000 + 500)
        periods = [0] * REFRESHES
        for moment in api_calls:
            index = int((moment - first_refresh) // REFRESH_SECONDS)
            if 0 <= index < REFRESHES:
                periods[index] += 1
        browser.close()
    return cold, periods, on_screen


def console_report(clients: int = 25) -> list[str]:
    if not (ROOT / "console" / "dist" / "index.html").is_file():
        raise SystemExit("console/dist is missing: run `make console` first")
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: run `make browser` first")
    with local_stack({"CONSOLE_REFRESH_SECONDS": str(REFRESH_SECONDS)}) as stack:
        with requests.Session() as http:
            for n in range(clients):
                send_telegram(http, stack, telegram_update(n))
        cold, periods, on_screen = measure(stack)
        reports, reports_on_screen = measure_reports(stack)

    raw = sum(t.raw for t in cold)
    by_gzip = sum(t.gzip for t in cold)
    by_brotli = sum(t.brotli for t in cold)
    api = [t for t in cold if t.api]
    lines = [
        "## Web console: first load and refresh",
        "",
        f"Cold load of the queue page (fresh profile, signed in, {clients} tickets on the "
        f"page): {len(cold)} requests, {len(api)} of them to the API; the full queue on "
        f"screen in {on_screen * 1000:.0f} ms on loopback.",
        "",
        "| request | type | body | gzip-6 | brotli-11 |",
        "|---|---|--:|--:|--:|",
    ]
    for t in cold:
        name = t.path if len(t.path) <= 60 else t.path[:57] + "..."
        lines.append(
            f"| {t.method} `{name}` | {t.content_type or t.kind} | {t.raw:,} | {t.gzip:,} | "
            f"{t.brotli:,} |"
        )
    verdict = "met" if by_gzip <= BUDGET_BYTES else "NOT met"
    per_refresh = ", ".join(str(n) for n in periods)
    refresh_verdict = "met" if all(n == 1 for n in periods) else "NOT met"
    lines += [
        f"| **total** | | **{raw:,}** | **{by_gzip:,}** | **{by_brotli:,}** |",
        "",
        f"Goal under {BUDGET_BYTES // 1024} kB compressed: {verdict} "
        f"({by_gzip / 1024:.1f} kB with gzip, {by_brotli / 1024:.1f} kB with brotli). Files are "
        "compressed as CloudFront does (1,000 bytes to 10 MB, compressible types); API "
        "answers are counted as sent, uncompressed; headers are not counted.",
        "",
        f"API calls per refresh ({REFRESHES} refreshes of {REFRESH_SECONDS} s): {per_refresh}. "
        f"Goal one per refresh: {refresh_verdict}.",
    ]
    return lines + reports_lines(cold, reports, reports_on_screen)


def reports_lines(cold: list[Transfer], reports: list[Transfer], on_screen: float) -> list[str]:
    """The reports route's cold load: its files (the lazily loaded chunk named), its API calls."""
    files = [t for t in reports if not t.api]
    api = [t for t in reports if t.api]
    chunk = [t for t in files if is_reports_code(t)]
    leaked = [t.path for t in cold if is_reports_code(t)]
    lines = [
        "",
        "### The reports page (#/reports), a lead's cold load",
        "",
        f"{len(reports)} requests ({len(api)} to the API); both charts drawn in "
        f"{on_screen * 1000:.0f} ms on loopback.",
        "",
        "| what | requests | body | gzip-6 | brotli-11 |",
        "|---|--:|--:|--:|--:|",
    ]
    for label, group in (
        ("the reports chunk (page and uPlot, lazily loaded)", chunk),
        ("all files (shell, main bundle, the chunk)", files),
        ("API answers (uncompressed)", api),
        ("**total**", reports),
    ):
        lines.append(
            f"| {label} | {len(group)} | {sum(t.raw for t in group):,} | "
            f"{sum(t.gzip for t in group):,} | {sum(t.brotli for t in group):,} |"
        )
    lines += [
        "",
        "Reports code in the queue's cold load: "
        + (f"NOT met, it loaded {', '.join(leaked)}" if leaked else "none (goal: none, met).")
        + f" Goal under {BUDGET_BYTES // 1024} kB compressed for the reports page too: "
        + ("met." if sum(t.gzip for t in reports) <= BUDGET_BYTES else "NOT met."),
    ]
    return lines


def main() -> None:
    print("\n".join(console_report()))


if __name__ == "__main__":
    main()
