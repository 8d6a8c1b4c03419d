"""Hostile content behind a valid signature, through the five webhook doors, on moto.

A provider's signature proves who sent a body, not that the body is sane. Whatever a signed
body holds, the door answers 200 or a 4xx with a JSON error body, never a 5xx (which would
make the provider retry the same bytes for days), and a 4xx stores nothing. Payloads start
from the real samples of events/ (the providers' own formats) with values made hostile.
"""

from __future__ import annotations

import copy
import json
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto.dynamodb.models import dynamodb_backends

from helpdesk.channels.base import SendResult
from helpdesk.settings import get_settings
from helpdesk.telephony import twilio, zadarma
from infra.lambda_runtime import ACCOUNT, REGION
from tests.integration.conftest import Api, claims
from tests.support import (
    TG_SECRET,
    DispatchDriver,
    load_event,
    use_messengers,
    whatsapp_signature,
)

EVENTS = Path(__file__).resolve().parents[2] / "events"
PUBLIC = "https://helpdesk.example.com"
TWILIO_TOKEN = "twilio-token-for-fuzz"
ZADARMA_SECRET = "zadarma-secret-for-fuzz"
CTI_TOKEN = "cti-token-for-fuzz"
MB = 1024 * 1024


class Doors:
    """Signs any body the way each provider does and posts it to its webhook."""

    def __init__(self, aws: dict[str, Any]) -> None:
        self.aws = aws
        self.messenger = Api("MessengerWebhookFunction", None)
        self.calls = Api("CallWebhookFunction", None)
        self.answers: list[tuple[str, int]] = []

    # -- what is stored -----------------------------------------------------------------
    def stored(self) -> list[str]:
        """Every item, off moto's backend (a Scan through boto costs 50 ms here)."""
        table = dynamodb_backends[ACCOUNT][REGION].get_table(get_settings().table_name)
        return sorted(json.dumps(item.to_json(), sort_keys=True) for item in table.all_items())

    def queued(self) -> int:
        attributes = self.aws["sqs"].get_queue_attributes(
            QueueUrl=self.aws["queue_url"], AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    # -- the doors ----------------------------------------------------------------------
    def telegram(self, body: Any) -> tuple[int, Any]:
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
        return self._post(self.messenger, "/webhooks/telegram", raw, headers)

    def whatsapp(self, body: Any) -> tuple[int, Any]:
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        return self._post(self.messenger, "/webhooks/whatsapp", raw, whatsapp_signature(raw))

    def twilio(self, params: dict[str, str]) -> tuple[int, Any]:
        signature = twilio.signature_for(f"{PUBLIC}/webhooks/calls/twilio", params, TWILIO_TOKEN)
        headers = {
            "content-type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        }
        raw = urlencode(params).encode()
        return self._post(self.calls, "/webhooks/calls/twilio", raw, headers)

    def zadarma(self, params: dict[str, str]) -> tuple[int, Any]:
        headers = {"content-type": "application/x-www-form-urlencoded"}
        signature = zadarma.signature_for(params, ZADARMA_SECRET)
        if signature:
            headers["Signature"] = signature
        raw = urlencode(params).encode()
        return self._post(self.calls, "/webhooks/calls/zadarma", raw, headers)

    def generic(self, body: Any) -> tuple[int, Any]:
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        headers = {"Authorization": f"Bearer {CTI_TOKEN}"}
        return self._post(self.calls, "/webhooks/calls/generic", raw, headers)

    def _post(self, api: Api, path: str, raw: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        """One signed request: 200 or a 4xx naming the problem, and a 4xx stores nothing."""
        before, queued = self.stored(), self.queued()
        try:
            status, body = api.call("POST", path, raw=raw, headers=headers)
        except Exception:  # an unhandled error is what Lambda turns into a 502
            pytest.fail(f"{path} raised (a 5xx) on {raw[:300]!r}:\n{traceback.format_exc()}")
        self.answers.append((path, status))
        assert status == 200 or 400 <= status < 500, (path, status, body, raw[:300])
        if status != 200:
            assert isinstance(body, dict), (path, status, body)
            assert body["error"]["code"] and body["error"]["message"], body
            assert self.stored() == before, f"{path} answered {status} but stored: {body}"
            assert self.queued() == queued, f"{path} answered {status} but queued a job"
        return status, body


@pytest.fixture
def doors(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Doors:
    use_messengers(monkeypatch)
    monkeypatch.setenv("PUBLIC_BASE_URL", PUBLIC)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
    monkeypatch.setenv("ZADARMA_API_SECRET", ZADARMA_SECRET)
    monkeypatch.setenv("ZADARMA_TIMEZONE", "Europe/Moscow")
    monkeypatch.setenv("GENERIC_CTI_TOKEN", CTI_TOKEN)
    get_settings.cache_clear()
    return Doors(aws)


def form(name: str) -> dict[str, str]:
    return dict(parse_qsl((EVENTS / "calls" / name).read_text().strip(), keep_blank_values=True))


def generic_event(name: str, **changes: Any) -> dict[str, Any]:
    return {**load_event(f"calls/generic/{name}"), **changes}


def nested(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = {"a": [value]}
    return value


def telegram_text(**changes: Any) -> dict[str, Any]:
    update = load_event("telegram/text_message")
    update["message"].update(changes)
    return update


def whatsapp_message(**changes: Any) -> dict[str, Any]:
    body = load_event("whatsapp/text_message")
    body["entry"][0]["changes"][0]["value"]["messages"][0].update(changes)
    return body


def whatsapp_status(**changes: Any) -> dict[str, Any]:
    body = load_event("whatsapp/status_sent")
    body["entry"][0]["changes"][0]["value"]["statuses"][0].update(changes)
    return body


def deep_json(levels: int) -> bytes:
    return b'{"a":' * levels + b"1" + b"}" * levels


HUGE = "я" * 250_000  # 500 KB in UTF-8
LONG_ID = "9" * 2100  # over DynamoDB's 2,048-byte partition key
BIG = 10**40
SURROGATE = '"\\ud800 hello"'  # a lone surrogate, as JSON escapes it


def with_surrogate(body: dict[str, Any], where: str) -> bytes:
    """The JSON of `body` with the string `where` (a unique marker) as a lone surrogate."""
    raw = json.dumps(body, ensure_ascii=False)
    assert f'"{where}"' in raw
    return raw.replace(f'"{where}"', SURROGATE).encode()


# (name, door, payload, the status it must answer; None: 200 or any 4xx)
CASES: list[tuple[str, str, Any, int | None]] = [
    # key parts over 2,048 bytes
    ("wa message id", "whatsapp", whatsapp_message(id=LONG_ID), 400),
    ("wa sender", "whatsapp", whatsapp_message(**{"from": LONG_ID}), 400),
    ("wa status id", "whatsapp", whatsapp_status(id=LONG_ID), 400),
    ("twilio CallSid", "twilio", {**form("twilio/ringing.txt"), "CallSid": LONG_ID}, 400),
    ("twilio From", "twilio", {**form("twilio/ringing.txt"), "From": LONG_ID}, 400),
    (
        "zadarma pbx_call_id",
        "zadarma",
        {**form("zadarma/notify_start.txt"), "pbx_call_id": LONG_ID},
        400,
    ),
    (
        "zadarma caller_id",
        "zadarma",
        {**form("zadarma/notify_start.txt"), "caller_id": LONG_ID},
        400,
    ),
    ("generic from", "generic", generic_event("new_call.json", **{"from": LONG_ID}), 400),
    # the agent's extension and the dialled number feed the assignee (a key part too)
    *[
        (
            f"zadarma {field} in {sample}",
            "zadarma",
            {**form(f"zadarma/{sample}"), field: LONG_ID},
            None,
        )
        for field, sample in (
            ("internal", "notify_internal.txt"),
            ("internal", "notify_out_start.txt"),
            ("destination", "notify_answer.txt"),
            ("destination", "notify_out_end.txt"),
        )
    ],
    ("generic user", "generic", generic_event("answer.json", user=LONG_ID), None),
    # items over 400 KB
    ("tg 500 KB text", "telegram", telegram_text(text=HUGE), 200),
    (
        "tg 500 KB caption",
        "telegram",
        load_event("telegram/photo_with_caption")
        | {"message": {**load_event("telegram/photo_with_caption")["message"], "caption": HUGE}},
        200,
    ),
    (
        "tg 500 KB first name",
        "telegram",
        telegram_text(
            **{
                "from": {
                    **load_event("telegram/text_message")["message"]["from"],
                    "first_name": HUGE,
                }
            }
        ),
        200,
    ),
    ("wa 500 KB text", "whatsapp", whatsapp_message(text={"body": HUGE}), 200),
    ("generic 500 KB user", "generic", generic_event("answer.json", user=HUGE), 400),
    ("generic 500 KB to", "generic", generic_event("new_call.json", to=HUGE), 400),
    ("generic 500 KB unknown field", "generic", generic_event("new_call.json", note=HUGE), 200),
    (
        "twilio 500 KB caller city",
        "twilio",
        {**form("twilio/ringing.txt"), "CallerCity": "a" * 500_000},
        200,
    ),
    (
        "twilio 500 KB recording url",
        "twilio",
        {
            **form("twilio/recording_completed.txt"),
            "RecordingUrl": "https://r.example/" + "a" * 500_000,
        },
        400,
    ),
    # integers over 38 digits
    ("generic duration", "generic", generic_event("hangup.json", duration=BIG), 400),
    (
        "twilio CallDuration",
        "twilio",
        {**form("twilio/completed.txt"), "CallDuration": str(BIG)},
        400,
    ),
    (
        "zadarma duration",
        "zadarma",
        {**form("zadarma/notify_end_answered.txt"), "duration": str(BIG)},
        400,
    ),
    (
        "wa pricing integer",
        "whatsapp",
        whatsapp_status(pricing={"billable": True, "amount": BIG}),
        200,
    ),
    # floats in WhatsApp objects
    (
        "wa conversation float",
        "whatsapp",
        whatsapp_status(conversation={"id": "c1", "expiration_timestamp": 1.5e300}),
        200,
    ),
    ("wa pricing float", "whatsapp", whatsapp_status(pricing={"rate": 0.0123, "huge": 1e308}), 200),
    (
        "wa errors float",
        "whatsapp",
        whatsapp_status(status="failed", errors=[{"code": 1.5, "title": 2e300}]),
        200,
    ),
    (
        "wa empty conversation key",
        "whatsapp",
        whatsapp_status(conversation={"": "x", " ": 1, "origin": {"": "y"}}),
        200,
    ),
    # nested 1,000 levels
    ("tg nested", "telegram", deep_json(1000), 400),
    ("wa nested", "whatsapp", deep_json(1000), 400),
    ("generic nested", "generic", deep_json(1000), 400),
    (
        "tg nested in a field",
        "telegram",
        json.dumps(telegram_text(reply_markup=nested(40))).encode(),
        400,
    ),
    # lone surrogates
    ("tg text surrogate", "telegram", with_surrogate(telegram_text(text="MARK"), "MARK"), 200),
    (
        "wa text surrogate",
        "whatsapp",
        with_surrogate(whatsapp_message(text={"body": "MARK"}), "MARK"),
        200,
    ),
    (
        "generic from surrogate",
        "generic",
        with_surrogate(generic_event("new_call.json", **{"from": "MARK"}), "MARK"),
        400,
    ),
    (
        "generic recording surrogate",
        "generic",
        with_surrogate(generic_event("recording.json", recording_url="MARK"), "MARK").replace(
            b'"\\ud800', b'"https://r.example/\\ud800'
        ),
        400,
    ),
    # not UTF-8
    ("tg not utf-8", "telegram", b'{"update_id": 1, "message": "\xff"}', 400),
    ("wa not utf-8", "whatsapp", b'{"object": "\xff\xfe"}', 400),
    ("generic not utf-8", "generic", b'{"event": "\xc3"}', 400),
    ("over 1 MB", "generic", b'{"pad": "' + b"x" * MB + b'"}', 400),
]


def test_hostile_signed_bodies_found_by_the_probe(doors: Doors) -> None:
    """One account for all the cases (each call checks its own before and after)."""
    wrong = []
    for name, door, payload, expected in CASES:
        try:
            status, body = getattr(doors, door)(copy.deepcopy(payload))
            assert expected is None or status == expected, (status, body)
        except (AssertionError, pytest.fail.Exception) as problem:
            wrong.append(f"{name}: {str(problem)[:500]}")
    assert not wrong, "\n".join(wrong)


def test_a_non_utf8_form_is_refused(doors: Doors) -> None:
    headers = {"content-type": "application/x-www-form-urlencoded", "Signature": "x"}
    assert doors._post(doors.calls, "/webhooks/calls/zadarma", b"event=\xff", headers)[0] == 400
    headers = {"content-type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"}
    assert doors._post(doors.calls, "/webhooks/calls/twilio", b"CallSid=\xfe", headers)[0] == 400


def test_statuses_of_a_sent_message_with_hostile_objects(
    doors: Doors, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Statuses of a message we really sent reach its item: their objects must fit it."""
    assert doors.whatsapp(load_event("whatsapp/text_message"))[0] == 200
    wamid = load_event("whatsapp/status_sent")["entry"][0]["changes"][0]["value"]["statuses"][0]
    DispatchDriver(aws, monkeypatch).drain(_Sender([wamid["id"], "wamid.other"]))
    wide: Any = 1.5e300
    for level in range(5):
        wide = {f"k{level}{index}": wide for index in range(6)}
    hostile = {"": "x", " ": BIG, "f": 1e308, "n": nested(8), "w": wide, "s": "я" * 5000}
    for status in ("sent", "delivered", "read", "failed"):
        body = whatsapp_status(
            status=status, conversation=hostile, pricing=hostile, errors=[hostile, hostile]
        )
        answer = doors.whatsapp(body)
        assert answer[0] == 200, str(answer)[:300]
    view = Api("TicketsFunction", claims("agent")).call("GET", "/tickets/D0-000001")[1]
    (sent,) = [m for m in view["messages"] if m["provider_message_id"] == wamid["id"]]
    assert [entry["status"] for entry in sent["status_history"]][-1] == "failed"
    assert len(json.dumps(sent)) < 50_000


def test_what_a_500_kb_text_becomes(doors: Doors) -> None:
    assert doors.telegram(telegram_text(text=HUGE))[0] == 200
    view = Api("TicketsFunction", claims("agent")).call("GET", "/tickets/D0-000001")[1]
    text = view["messages"][0]["text"]
    assert len(text) == 4096 and text.endswith(" […]")


def test_an_item_too_large_for_dynamodb_is_refused_before_any_write(
    doors: Doors, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The edge limits stop every known case first; should one slip through, the store's
    preflight refuses it at once: 422 `unstorable`, no write tried, no ticket number spent."""
    from collections import Counter

    import botocore.client

    from helpdesk import limits

    cut = limits.text
    monkeypatch.setattr(limits, "text", lambda value, limit=0: cut(value, 10**7))
    calls: Counter[str] = Counter()
    real = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]

    def counted(client: Any, operation: str, params: dict[str, Any]) -> Any:
        calls[operation] += 1
        if "COUNTER#" in str(params.get("Key")):
            calls["counter"] += 1
        return real(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counted)
    status, body = doors.telegram(telegram_text(text="я" * 250_000))  # 500 KB in UTF-8
    assert status == 422 and body["error"]["code"] == "unstorable", body
    assert "400 KB" in body["error"]["message"]
    assert calls["TransactWriteItems"] == 0 and calls["PutItem"] == 0
    assert calls["counter"] == 0, "no ticket number was spent"


class _Sender:
    def __init__(self, ids: list[str]) -> None:
        self.ids = ids

    def send(self, message: Any) -> SendResult:
        return SendResult(provider_message_id=self.ids.pop(0) if self.ids else None)


# ---- generated: signed samples with hostile values -------------------------------------

huge = st.builds(
    lambda char, count: char * count,
    st.sampled_from(["a", "я", "7", "😀"]),
    st.sampled_from([257, 2049, 4097, 250_000]),
)
hostile_str = st.one_of(
    st.text(max_size=20), huge, st.just(""), st.integers(30, 60).map("9".__mul__)
)
hostile_value = st.one_of(
    hostile_str,
    st.integers(-(10**40), 10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.dictionaries(st.one_of(st.just(""), hostile_str), hostile_str, max_size=3),
    st.sampled_from([31, 33]).map(nested),
)


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, samples: list[Any]) -> Any:
    document = copy.deepcopy(draw(st.sampled_from(samples)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths(document)[1:]))
        parent = document
        for part in path[:-1]:
            parent = parent[part]
        parent[path[-1]] = draw(hostile_value)
    return document


@st.composite
def mutated_form(draw: st.DrawFn, samples: list[dict[str, str]]) -> dict[str, str]:
    params = dict(draw(st.sampled_from(samples)))
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.one_of(st.sampled_from(sorted(params)), hostile_str))
        params[key] = draw(st.one_of(hostile_str, st.integers(-(10**40), 10**40).map(str)))
    return params


def samples(folder: str) -> list[Any]:
    return [json.loads(p.read_text()) for p in sorted((EVENTS / folder).glob("*.json"))]


def forms(folder: str) -> list[dict[str, str]]:
    return [form(f"{folder}/{p.name}") for p in sorted((EVENTS / "calls" / folder).glob("*.txt"))]


GENERATED = settings(
    max_examples=40,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
DOORS: dict[str, tuple[str, st.SearchStrategy[Any]]] = {
    "telegram": ("telegram", mutated(samples("telegram"))),
    "whatsapp": ("whatsapp", mutated(samples("whatsapp"))),
    "twilio": ("twilio", mutated_form(forms("twilio"))),
    "zadarma": ("zadarma", mutated_form(forms("zadarma"))),
    "generic": ("generic", mutated(samples("calls/generic"))),
}


@pytest.mark.parametrize("door", sorted(DOORS))
def test_generated_hostile_signed_bodies(doors: Doors, door: str) -> None:
    method, strategy = DOORS[door]
    post: Callable[[Any], tuple[int, Any]] = getattr(doors, method)

    @GENERATED
    @given(strategy)
    def one(payload: Any) -> None:
        post(payload)

    one()
    assert len(doors.answers) >= 10
