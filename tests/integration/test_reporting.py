"""Reports through the real doors: tickets opened, answered, categorised, resolved, rated and
called about through the webhooks and the tickets API (some events delivered twice), then
every report checked against figures computed here from the tickets themselves."""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from helpdesk.models import iso
from helpdesk.reports import BUCKET_EDGES
from helpdesk.settings import get_settings
from helpdesk.store import Store
from helpdesk.usecases.reporting import ReportDesk
from infra.lambda_runtime import LambdaContext, load_function, scheduled_event
from infra.template import functions
from tests.integration.conftest import Api, claims
from tests.support import TG_SECRET, DispatchDriver, load_event, use_messengers

CTI = "cti-token-for-tests"
LINE, CALLER, OTHER = "+74951234567", "+79161234567", "+79167654321"
MSK = ZoneInfo("Europe/Moscow")
CONFIG = {
    "directions": [
        {
            "id": "d0",
            "phone_numbers": [LINE],
            "team_chat_id": "-100555",
            "staffing": {
                "agents": [
                    {"id": "alice", "team": "red", "hours_per_week": 40},
                    {"id": "bob", "team": "blue", "hours_per_week": 20},
                ]
            },
        },
        {"id": "d1", "language": "en"},
    ],
    "reports": {"min_ratings": 2},
}
MONDAY = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 09:00 in Moscow
RANGE = "from=2026-11-23&to=2026-11-29"


class Desk:
    """The doors a week of work goes through, with the clock set per step."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.webhook = Api("MessengerWebhookFunction", None)
        self.calls = Api("CallWebhookFunction", None)
        self.alice = Api("TicketsFunction", claims("agent", "alice"))
        self.bob = Api("TicketsFunction", claims("agent", "bob"))
        self.lead = Api("TicketsFunction", claims("lead", "lead-1"))
        self.reports = Api("ReportingFunction", claims("lead", "lead-1"))
        self.updates = 500

    def at(self, moment: datetime) -> None:
        self.monkeypatch.setenv("HELPDESK_NOW", iso(moment))

    def telegram(self, update: dict[str, Any], times: int = 1) -> dict[str, Any]:
        raw = json.dumps(update, ensure_ascii=False).encode()
        body: dict[str, Any] = {}
        for _ in range(times):  # the same update again: Telegram's redelivery
            status, body = self.webhook.call(
                "POST",
                "/webhooks/telegram",
                raw=raw,
                headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET},
            )
            assert status == 200, body
        return body

    def message(self, chat: int, text: str, times: int = 1) -> str:
        self.updates += 1
        update = load_event("telegram/text_message")
        update["update_id"] = update["message"]["message_id"] = self.updates
        update["message"]["chat"]["id"] = update["message"]["from"]["id"] = chat
        update["message"]["text"] = text
        self.telegram(update, times)
        status, body = self.lead.call("GET", "/tickets", query="channel=telegram&limit=100")
        assert status == 200, body
        return str(body["tickets"][0]["id"])  # the newest: the clock stands still per step

    def press(self, chat: int, ticket: str, value: str, times: int = 1) -> None:
        self.updates += 1
        update = load_event("telegram/callback_query")
        update["update_id"] = self.updates
        query = update["callback_query"]
        query["id"] = f"q{self.updates}"
        query["from"]["id"] = query["message"]["chat"]["id"] = chat
        query["data"] = f"csat:{ticket}:{value}"
        self.telegram(update, times)

    def call(
        self, call_id: str, event: str, out: bool = False, times: int = 1, **extra: Any
    ) -> Any:
        client = extra.pop("client", CALLER)
        body = {
            "event": event,
            "call_id": call_id,
            "direction": "out" if out else "in",
            "from": LINE if out else client,
            "to": client if out else LINE,
            **extra,
        }
        answer: Any = None
        for _ in range(times):
            status, answer = self.calls.call(
                "POST",
                "/webhooks/calls/generic",
                raw=json.dumps(body).encode(),
                headers={"Authorization": f"Bearer {CTI}"},
            )
            assert status == 200, answer
        return answer

    def act(self, api: Api, method: str, path: str, body: Any = None, times: int = 1) -> Any:
        answer: Any = None
        for _ in range(times):
            status, answer = api.call(method, path, body or {})
            assert status in (200, 201), answer
        return answer

    def ticket(self, number: str) -> dict[str, Any]:
        status, body = self.lead.call("GET", f"/tickets/{number}")
        assert status == 200, body
        return dict(body)

    def report(self, name: str, query: str = RANGE) -> dict[str, Any]:
        status, body = self.reports.call("GET", f"/reports/{name}", query=query)
        assert status == 200, body
        return dict(body)


def sweep(name: str) -> None:
    spec = functions()[name]
    load_function(spec).lambda_handler(scheduled_event(name), LambdaContext(spec.logical_id))


@pytest.fixture
def desk(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Desk:
    use_messengers(monkeypatch)
    monkeypatch.setenv("GENERIC_CTI_TOKEN", CTI)
    monkeypatch.setenv("HELPDESK_CONFIG", json.dumps(CONFIG))
    get_settings.cache_clear()
    return Desk(monkeypatch)


@pytest.fixture
def week(desk: Desk) -> list[str]:
    """A week of work in d0 and d1; every event marked 'twice' is delivered twice."""
    h = timedelta(hours=1)
    desk.at(MONDAY + 10 * h / 60)
    t1 = desk.message(101, "I cannot log in", times=2)  # redelivered
    desk.at(MONDAY + 90 * h / 60)
    t2 = desk.message(102, "Где мой счёт?")
    desk.at(MONDAY + 2 * h)
    m1 = desk.act(
        desk.alice, "POST", "/tickets", {"direction": "d0", "subject": "walk-in", "text": "x"}
    )["id"]
    m2 = desk.act(
        desk.alice, "POST", "/tickets", {"direction": "d1", "subject": "letter", "text": "y"}
    )["id"]

    desk.at(MONDAY + 30 * h / 60)
    desk.act(
        desk.alice,
        "POST",
        f"/tickets/{t1}/replies",
        {"text": "Looking", "request_id": "r1"},
        times=2,
    )
    desk.act(desk.alice, "PATCH", f"/tickets/{t1}", {"category": "complaint", "topic": "Login"})
    desk.at(MONDAY + 3 * h)
    desk.act(desk.alice, "POST", f"/tickets/{t1}/resolve", {"resolution": "Reset"})
    desk.at(MONDAY + 3.5 * h)
    desk.press(101, t1, "good", times=2)  # redelivered
    desk.at(MONDAY + 4 * h)
    desk.act(desk.bob, "POST", f"/tickets/{t2}/replies", {"text": "Checking"})
    desk.act(desk.bob, "PATCH", f"/tickets/{t2}", {"category": "problem", "topic": " login"})
    desk.act(desk.alice, "POST", f"/tickets/{m1}/comments", {"text": "Told in person"})
    desk.act(desk.alice, "POST", f"/tickets/{m1}/resolve", {})
    desk.act(desk.alice, "PATCH", f"/tickets/{m1}", {"topic": "Billing"})

    tuesday = MONDAY + 24 * h
    desk.at(tuesday)
    desk.act(desk.bob, "POST", f"/tickets/{t2}/resolve", {})
    desk.press(102, t2, "bad")
    # A missed call (its hangup delivered twice), called back by bob the same day.
    desk.call("m1", "newCall")
    missed = desk.call("m1", "hangup", cause="noAnswer", user="bob", times=2)["ticket"]
    desk.at(tuesday + 2 * h)
    desk.call("o1", "newCall", out=True)
    desk.call("o1", "answer", out=True, user="bob")
    desk.call("o1", "hangup", out=True, cause="normalClearing", duration=30, user="bob", times=2)
    # A long answered call: a problem call, reviewed by the lead.
    desk.call("p1", "newCall", client=OTHER)
    desk.call("p1", "answer", user="alice", client=OTHER)
    problem = desk.call(
        "p1", "hangup", cause="normalClearing", duration=420, user="alice", client=OTHER
    )["ticket"]
    version = desk.ticket(problem)["ticket"]["version"]
    desk.act(
        desk.lead,
        "POST",
        f"/tickets/{problem}/call-review",
        {"verdict": "coaching", "version": version},
    )

    late = MONDAY + 40 * h + 30 * h / 60  # Tuesday 22:30 UTC: Wednesday 01:30 in Moscow
    desk.at(late)
    t3 = desk.message(103, "Жалоба")
    desk.act(desk.alice, "PATCH", f"/tickets/{t3}", {"category": "complaint"})
    desk.act(desk.alice, "PATCH", f"/tickets/{t3}", {"category": "question"})  # not after all
    t4 = desk.message(104, "Опять не работает")
    desk.act(desk.bob, "PATCH", f"/tickets/{t4}", {"category": "complaint"})
    # Nobody answers t3, t4 or m2: the SLA sweep finds them breached on Friday.
    desk.at(MONDAY + 4 * 24 * h)
    sweep("SlaSweepFunction")
    sweep("SlaSweepFunction")  # again: nothing new
    return [t1, t2, m1, m2, missed, problem, t3, t4]


# ---- the reference: plain computations over the tickets themselves ---------------------------


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def local(text: str) -> datetime:
    return moment(text).astimezone(MSK)


def bucketed(durations: list[float], share: float) -> int | None:
    """Nearest-rank percentile, answered as the upper edge of the bucket it falls in."""
    if not durations:
        return None
    exact = sorted(durations)[max(1, math.ceil(share * len(durations))) - 1]
    return next((edge for edge in BUCKET_EDGES if exact <= edge), BUCKET_EDGES[-1])


def pct(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def test_every_report_matches_figures_computed_from_the_tickets(
    desk: Desk, week: list[str]
) -> None:
    status, listed = desk.lead.call("GET", "/tickets", query="direction=d0&limit=100")
    assert status == 200, listed
    d0 = [desk.ticket(summary["id"]) for summary in listed["tickets"]]
    tickets = [c["ticket"] for c in d0]
    # The week's 7 and the outbound callback's own ticket; the redeliveries opened none.
    assert len(tickets) == 8 and set(week) - {t["id"] for t in tickets} == {week[3]}

    channels = desk.report("channels", RANGE + "&direction=d0")
    assert {r["channel"]: r["tickets"] for r in channels["rows"] if r["tickets"]} == Counter(
        t["channel"] for t in tickets
    )
    categories = desk.report("categories", RANGE + "&direction=d0")
    expected_categories = Counter(t.get("category") or "none" for t in tickets)
    assert {r["category"]: r["tickets"] for r in categories["rows"] if r["tickets"]} == (
        expected_categories
    )
    complaints = expected_categories["complaint"]
    assert categories["notes"]["complaint_share_percent"] == pct(complaints, len(tickets))
    topics = desk.report("topics", RANGE + "&direction=d0")
    assert {r["topic"]: r["tickets"] for r in topics["rows"]} == Counter(
        (t.get("topic") or "none").strip().lower() for t in tickets
    )

    heatmap = desk.report("heatmap", RANGE + "&direction=d0")
    cells = {
        (r["date"], hour): r[hour] for r in heatmap["rows"] for hour in heatmap["columns"][3:-1]
    }
    expected_cells = Counter(
        (local(t["created_at"]).date().isoformat(), f"{local(t['created_at']).hour:02d}")
        for t in tickets
    )
    assert {key: value for key, value in cells.items() if value} == expected_cells
    assert len(heatmap["rows"]) == 7  # every day of the range, empty ones too

    times = desk.report("times", RANGE + "&direction=d0")["rows"][0]
    first = [
        (moment(t["first_response_at"]) - moment(t["created_at"])).total_seconds()
        for t in tickets
        if t.get("first_response_at")
    ]
    resolved = [
        (moment(t["resolved_at"]) - moment(t["created_at"])).total_seconds()
        for t in tickets
        if t["status"] == "resolved"
    ]
    assert times == {
        "direction": "d0",
        "first_responses": len(first),
        "frt_median_seconds": bucketed(first, 0.5),
        "frt_p90_seconds": bucketed(first, 0.9),
        "resolved": len(resolved),
        "resolution_median_seconds": bucketed(resolved, 0.5),
        "resolution_p90_seconds": bucketed(resolved, 0.9),
        "reopened": 0,
        "no_article": 0,
    }

    overdue = desk.report("overdue", RANGE + "&direction=d0")["rows"][0]
    late = [t for t in tickets if any(c.get("breached_at") for c in t["sla"].values())]
    assert (overdue["opened"], overdue["overdue"]) == (len(tickets), len(late))
    assert overdue["overdue_percent"] == pct(len(late), len(tickets))
    for clock in ("first_response", "resolution"):
        assert overdue[f"breached_{clock}"] == sum(
            1 for t in tickets if (t["sla"].get(clock) or {}).get("breached_at")
        )

    csat = desk.report("csat", RANGE + "&direction=d0")["rows"]
    rated = [t for t in tickets if t.get("csat")]
    per_agent: dict[str, list[str]] = defaultdict(list)
    for t in rated:
        per_agent[t["assignee"]].append(t["csat"]["value"])
    agents = {r["name"]: (r["ratings"], r["good"]) for r in csat if r["scope"] == "agent"}
    assert agents == {a: (len(v), v.count("good")) for a, v in per_agent.items()}
    direction_row = next(r for r in csat if r["scope"] == "direction")
    good = sum(1 for t in rated if t["csat"]["value"] == "good")
    assert (direction_row["ratings"], direction_row["good"]) == (len(rated), good)
    assert direction_row["share_good_percent"] == pct(good, len(rated))
    assert direction_row["rank"] == 1  # 2 ratings: enough to rank (min_ratings 2)
    assert all(r["rank"] is None for r in csat if r["scope"] == "agent")  # one rating each

    load = desk.report("load", RANGE + "&direction=d0")
    replies = Counter(m["author"] for c in d0 for m in c["messages"] if m["kind"] == "reply")
    by_agent = {r["agent"]: r for r in load["rows"] if r["scope"] == "agent"}
    assert {a: r["replies"] for a, r in by_agent.items() if r["replies"]} == replies
    assert replies["alice"] == 1  # her reply was retried (same request_id): counted once
    assert by_agent["alice"]["staffed_hours"] == 40 and by_agent["bob"]["staffed_hours"] == 20
    direction_load = next(r for r in load["rows"] if r["scope"] == "direction")
    assert direction_load["per_staffed_hour"] == round(len(tickets) / 60, 3)

    callbacks = desk.report("callbacks", RANGE + "&direction=d0")["rows"][0]
    missed = [t for t in tickets if "missed_call" in t["flags"]]
    outcomes = Counter((t.get("callback") or {}).get("outcome") for t in missed)
    assert callbacks["missed"] == len(missed) == 1
    assert callbacks["called_back"] == outcomes["called_back"] == 1
    assert callbacks["closure_percent"] == 100.0

    problems = desk.report("problem_calls", RANGE + "&direction=d0")["rows"][0]
    flagged = [t for t in tickets if "problem_call" in t["flags"]]
    assert problems["problem_calls"] == len(flagged) == 1
    assert problems["verdict_coaching"] == 1 and problems["reviewed"] == 1
    answered = [t for t in tickets if (t.get("call") or {}).get("answered_at")]
    assert problems["answered_calls"] == len(answered)

    everywhere = desk.report("channels", RANGE)
    assert everywhere["directions"] == ["d0", "d1"]
    assert sum(r["tickets"] for r in everywhere["rows"] if r["direction"] == "d1") == 1

    status, feed = desk.reports.call("GET", "/reports/complaints", query="direction=d0")
    assert status == 200, feed
    expected_feed = sorted(
        (t for t in tickets if t.get("category") == "complaint"),
        key=lambda t: t["created_at"],
        reverse=True,
    )
    assert [(r["ticket_id"], r["subject"]) for r in feed["rows"]] == [
        (t["id"], t["subject"]) for t in expected_feed
    ]


def test_reports_as_csv_and_the_ticket_export_in_pages(desk: Desk, week: list[str]) -> None:
    status, text = desk.reports.call(
        "GET", "/reports/categories", query=RANGE + "&direction=d0&format=csv"
    )
    assert status == 200
    rows = list(csv.DictReader(io.StringIO(text.decode() if isinstance(text, bytes) else text)))
    json_rows = desk.report("categories", RANGE + "&direction=d0")["rows"]
    assert [row["category"] for row in rows] == [row["category"] for row in json_rows]
    assert [float(row["share_percent"]) for row in rows] == [
        row["share_percent"] for row in json_rows
    ]
    status, raw = desk.reports.call(
        "GET", "/reports/heatmap", query=RANGE, headers={"accept": "text/csv"}
    )
    assert status == 200
    header = (raw.decode() if isinstance(raw, bytes) else raw).splitlines()[0]
    assert header.startswith("direction,date,weekday,00,01")

    # Reports read counters only, by key: never a ticket, never an index.
    seen: list[dict[str, Any]] = []
    store = Store()
    original = store.table.client.query

    def watched(**query: Any) -> Any:
        seen.append(query)
        return original(**query)

    store.table.client.query = watched  # type: ignore[method-assign]
    ReportDesk(store=store).report("times", "2026-11-01", "2026-12-31", "d0")
    assert [q["ExpressionAttributeValues"][":pk"]["S"] for q in seen] == [
        "REPORT#d0#2026-11",
        "REPORT#d0#2026-12",
    ]
    assert all("IndexName" not in q for q in seen)

    # The one-row-per-ticket export pages through the tickets of the range.
    status, listed = desk.lead.call("GET", "/tickets", query="direction=d0&limit=100")
    assert status == 200, listed
    exported: list[dict[str, Any]] = []
    cursor = ""
    pages = 0
    while True:
        query = RANGE + "&direction=d0&limit=3" + (f"&cursor={cursor}" if cursor else "")
        status, page = desk.reports.call("GET", "/reports/tickets", query=query)
        assert status == 200, page
        exported += page["rows"]
        pages += 1
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(r["id"] for r in exported) == sorted(t["id"] for t in listed["tickets"])
    assert pages >= 3
    wednesday = {
        t["id"]
        for t in listed["tickets"]
        if local(t["created_at"]).date().isoformat() == "2026-11-25"
    }
    status, text = desk.reports.call(
        "GET", "/reports/tickets", query="from=2026-11-25&to=2026-11-25&direction=d0&format=csv"
    )
    assert status == 200
    found = list(csv.DictReader(io.StringIO(text.decode() if isinstance(text, bytes) else text)))
    assert {row["id"] for row in found} == wednesday == {week[6], week[7]}  # 01:30 local
    status, body = desk.reports.call("GET", "/reports/tickets", query="cursor=nonsense")
    assert status == 400 and "cursor" in body["error"]["message"]


def test_bad_input_is_refused_naming_the_problem(desk: Desk) -> None:
    cases = {
        "from=2026-11-30&to=2026-11-01": (400, "after"),
        "from=2024-01-01&to=2026-11-01": (400, "at most 366"),
        "from=2026-11-01&to=2026-11-30&direction=d9": (404, "d9"),
        "from=2026-02-31": (400, "2026-02-31"),
        "from=yesterday": (422, "from"),
        "form=2026-11-01": (422, "form"),
        "format=xml": (422, "format"),
    }
    for query, (code, named) in cases.items():
        status, body = desk.reports.call("GET", "/reports/channels", query=query)
        assert status == code, (query, body)
        assert named in body["error"]["message"], (query, body)
    status, body = desk.reports.call("GET", "/reports/nonsense")
    assert status == 404 and "nonsense" in body["error"]["message"]


@pytest.mark.parametrize(("role", "expected"), [("agent", 403), ("lead", 200), ("finance", 200)])
def test_only_leads_and_finance_read_reports(desk: Desk, role: str, expected: int) -> None:
    api = Api("ReportingFunction", claims(role, "someone"))
    assert api.call("GET", "/reports/load")[0] == expected
    assert api.call("GET", "/reports/complaints")[0] == expected
    assert Api("ReportingFunction", {}).call("GET", "/reports/load")[0] == 401


class Recorder:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, message: Any) -> Any:
        from helpdesk.channels.base import SendResult

        self.sent.append(message)
        return SendResult(provider_message_id=None)


def test_the_daily_digest_tells_the_team_chat_about_yesterday_once(
    desk: Desk, week: list[str], aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    driver = DispatchDriver(aws, monkeypatch)
    driver.drain(Recorder())  # the week's own sends
    desk.at(MONDAY + timedelta(hours=24))  # Tuesday 09:00 in Moscow: yesterday is Monday
    sweep("DailyDigestFunction")
    sweep("DailyDigestFunction")  # a retried schedule
    recorder = Recorder()
    assert driver.drain(recorder) == {"batchItemFailures": []}
    (digest,) = [m for m in recorder.sent if m.recipient_id == "-100555"]
    status, listed = desk.lead.call("GET", "/tickets", query="direction=d0&limit=100")
    assert status == 200, listed
    monday = [
        t for t in listed["tickets"] if local(t["created_at"]).date().isoformat() == "2026-11-23"
    ]
    t1, t3, t4 = week[0], week[6], week[7]
    lines = digest.text.splitlines()
    assert lines[0] == "Сводка D0 за 2026-11-23"
    assert f"Обращений: {len(monday)}" in lines
    assert "Первый ответ, медиана: ≤ 30 min" in lines  # 20 min and 2 h 30: nearest rank
    assert "Оценки: 1, хороших 100.0 %, средняя 5.0" in lines
    assert "Лучшая оценка: alice (1 из 1)" in lines
    assert "Жалобы: 1" in lines and f"— {t1}: I cannot log in" in lines
    assert not any(t3 in line or t4 in line for line in lines)  # not Monday's complaints


# ---- finance: the cost ledger and the costs report ---------------------------------------------

RATE_CARD = {
    "currency": "RUB",
    "call_minute": 150,
    "call_minute_by_line": {LINE: 200},
    "whatsapp": {"utility": 520, "marketing": 900},
}


@pytest.fixture
def finance(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> Api:
    config = json.loads(json.dumps(CONFIG))
    config["directions"][0]["rate_card"] = RATE_CARD
    monkeypatch.setenv("HELPDESK_CONFIG", json.dumps(config))
    get_settings.cache_clear()
    return Api("ReportingFunction", claims("finance", "fin-1"))


def whatsapp_status(name: str, at: datetime) -> tuple[bytes, dict[str, str]]:
    from tests.support import whatsapp_signature

    body = load_event(f"whatsapp/{name}")
    body["entry"][0]["changes"][0]["value"]["statuses"][0]["timestamp"] = str(int(at.timestamp()))
    raw = json.dumps(body).encode()
    return raw, whatsapp_signature(raw)


def test_the_costs_report_matches_the_ledger_to_the_minor_unit(desk: Desk, finance: Api) -> None:
    h = timedelta(hours=1)
    desk.at(MONDAY)
    desk.call("p1", "newCall")
    desk.call("p1", "answer", user="alice")
    desk.call("p1", "hangup", cause="normalClearing", duration=420, user="alice", times=2)
    desk.at(MONDAY + h)
    desk.call("p1", "hangup", cause="normalClearing", duration=430, user="alice")  # again, late
    desk.call("o1", "newCall", out=True)
    desk.call("o1", "answer", out=True, user="bob")
    desk.call("o1", "hangup", out=True, cause="normalClearing", duration=30, user="bob")
    for name in ("status_sent", "status_delivered", "status_sent"):  # priced each time
        raw, headers = whatsapp_status(name, MONDAY + 2 * h)
        status, body = desk.webhook.call("POST", "/webhooks/whatsapp", raw=raw, headers=headers)
        assert status == 200, body

    status, costs = finance.call("GET", "/reports/costs", query=RANGE + "&direction=d0")
    assert status == 200, costs
    rows = {(row["channel"], row["currency"]): row for row in costs["rows"]}
    phone, whatsapp = rows["phone", "RUB"], rows["whatsapp", "RUB"]
    assert phone["amount_minor"] == 7 * 200 + 1 * 200  # 7:00 and 0:30, in started minutes
    assert (phone["charges"], phone["quantity"]) == (2, 8)
    assert (whatsapp["amount_minor"], whatsapp["charges"]) == (520, 1)
    assert rows["all", "RUB"]["amount_minor"] == 2120
    # The helpdesk's own AWS usage, estimated: one event per call change, in US cents.
    aws = rows["aws", "USD"]
    assert aws["charges"] >= 6 and aws["quantity"] > 10 * aws["charges"]
    assert aws["amount_minor"] == rows["all", "USD"]["amount_minor"] == 0  # well under a cent

    entries: list[dict[str, Any]] = []
    cursor = ""
    while True:
        status, page = finance.call(
            "GET",
            "/reports/ledger",
            query=RANGE + "&direction=d0&limit=2" + (f"&cursor={cursor}" if cursor else ""),
        )
        assert status == 200, page
        entries += page["rows"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sum(entry["amount"] for entry in entries) == rows["all", "RUB"]["amount_minor"]
    assert sorted((e["source"].split(":")[0], e["amount"]) for e in entries) == [
        ("call", 200),
        ("call", 1400),
        ("whatsapp", 520),
    ]
    status, text = finance.call("GET", "/reports/ledger", query=RANGE + "&direction=d0&format=csv")
    lines = (text.decode() if isinstance(text, bytes) else text).splitlines()
    assert status == 200 and lines[0].startswith("day,at,direction,channel") and len(lines) == 4

    lead = Api("ReportingFunction", claims("lead", "lead-1"))
    status, body = lead.call("GET", "/reports/costs", query=RANGE)
    assert status == 403 and "finance" in body["error"]["message"]
    assert lead.call("GET", "/reports/ledger", query="direction=d0")[0] == 403


def test_a_months_budget_is_told_once_at_80_and_once_at_100_percent(
    desk: Desk, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    config = json.loads(json.dumps(CONFIG))
    config["directions"][0]["rate_card"] = {**RATE_CARD, "monthly_budget": 2500}
    monkeypatch.setenv("HELPDESK_CONFIG", json.dumps(config))
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="budget-alerts")["TopicArn"]
    inbox = sqs.create_queue(QueueName="finance-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn["Attributes"]["QueueArn"])
    monkeypatch.setenv("BUDGET_ALERTS_TOPIC_ARN", topic)
    get_settings.cache_clear()
    driver = DispatchDriver(aws, monkeypatch)
    told: list[str] = []

    def watch_and_send() -> list[str]:
        sweep("BudgetWatchFunction")
        recorder = Recorder()
        assert driver.drain(recorder) == {"batchItemFailures": []}
        found = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", [])
        for message in found:
            sqs.delete_message(QueueUrl=inbox, ReceiptHandle=message["ReceiptHandle"])
        chat = [m.text for m in recorder.sent if m.recipient_id == "-100555"]
        return chat + [json.loads(m["Body"])["Subject"] for m in found]

    desk.at(MONDAY)
    desk.call("p1", "newCall")
    desk.call("p1", "answer", user="alice")
    desk.call("p1", "hangup", cause="normalClearing", duration=420, user="alice")  # 1400
    assert watch_and_send() == []  # 56 %
    desk.call("o1", "newCall", out=True)
    desk.call("o1", "answer", out=True, user="bob")
    desk.call("o1", "hangup", out=True, cause="normalClearing", duration=30, user="bob")  # 200
    raw, headers = whatsapp_status("status_sent", MONDAY)  # 520
    assert desk.webhook.call("POST", "/webhooks/whatsapp", raw=raw, headers=headers)[0] == 200
    told = watch_and_send()  # 2120 of 2500: 84 %
    assert told == [
        "Бюджет D0 за 2026-11: потрачено 21.20 из 25.00 RUB (84 %).",
        "Budget 80 %: D0 2026-11",
    ]
    assert watch_and_send() == []  # told once
    desk.call("p2", "newCall", client=OTHER)
    desk.call("p2", "answer", user="alice", client=OTHER)
    desk.call("p2", "hangup", cause="normalClearing", duration=300, user="alice", client=OTHER)
    told = watch_and_send()  # 3120 of 2500
    assert [line.split(":")[0] for line in told] == ["Бюджет D0 за 2026-11", "Budget 100 %"]
    assert watch_and_send() == []
