"""Telephony webhooks through the HTTP route, on moto: every adapter, every event type,
signed and unsigned, in order, out of order and duplicated."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import boto3
import pytest

from helpdesk.settings import get_settings
from helpdesk.telephony import twilio, zadarma
from infra.lambda_runtime import LambdaContext, load_function, sqs_event
from infra.template import functions
from tests.integration.conftest import Api, claims

CALLS = Path(__file__).resolve().parents[2] / "events" / "calls"
PUBLIC = "https://helpdesk.example.com"
TWILIO_TOKEN = "twilio-token-for-tests"
ZADARMA_SECRET = "zadarma-secret-for-tests"
CTI_TOKEN = "cti-token-for-tests"
CLIENT = "+79161234567"
LINE = "+74951234567"


@pytest.fixture
def calls(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Api:
    monkeypatch.setenv("PUBLIC_BASE_URL", PUBLIC)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
    monkeypatch.setenv("ZADARMA_API_SECRET", ZADARMA_SECRET)
    monkeypatch.setenv("ZADARMA_TIMEZONE", "Europe/Moscow")
    monkeypatch.setenv("GENERIC_CTI_TOKEN", CTI_TOKEN)
    config = {"directions": [{"id": "d0"}, {"id": "d1", "phone_numbers": [LINE]}]}
    monkeypatch.setenv("HELPDESK_CONFIG", json.dumps(config))
    get_settings.cache_clear()
    return Api("CallWebhookFunction", None)


def form(name: str, **changes: str) -> dict[str, str]:
    params = dict(parse_qsl((CALLS / name).read_text().strip(), keep_blank_values=True))
    params.update(changes)
    return params


def generic(name: str, **changes: Any) -> dict[str, Any]:
    return {**json.loads((CALLS / "generic" / name).read_text()), **changes}


def post_twilio(api: Api, params: dict[str, str], token: str = TWILIO_TOKEN) -> tuple[int, Any]:
    signature = twilio.signature_for(f"{PUBLIC}/webhooks/calls/twilio", params, token)
    raw = urlencode(params).encode()
    headers = {"content-type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    return api.call("POST", "/webhooks/calls/twilio", raw=raw, headers=headers)


def post_zadarma(api: Api, params: dict[str, str], secret: str = ZADARMA_SECRET) -> tuple[int, Any]:
    headers = {"content-type": "application/x-www-form-urlencoded"}
    signature = zadarma.signature_for(params, secret)
    if signature:
        headers["Signature"] = signature
    return api.call(
        "POST", "/webhooks/calls/zadarma", raw=urlencode(params).encode(), headers=headers
    )


def post_generic(api: Api, body: Any, token: str = CTI_TOKEN) -> tuple[int, Any]:
    return api.call(
        "POST", "/webhooks/calls/generic", body=body, headers={"Authorization": f"Bearer {token}"}
    )


def ticket_of(call: dict[str, Any]) -> dict[str, Any]:
    """The one ticket there is, in full."""
    lead = Api("TicketsFunction", claims("lead"))
    (summary,) = lead.call("GET", "/tickets")[1]["tickets"]
    return lead.call("GET", f"/tickets/{summary['id']}")[1]["ticket"]


def call_facts(ticket: dict[str, Any]) -> dict[str, Any]:
    """What must not depend on arrival order."""
    call = {k: v for k, v in ticket["call"].items() if k != "timeline"}
    return {
        "call": call,
        # A recording notification carries no time of its own: it is stamped on arrival.
        "timeline": sorted(
            (at if kind != "recording" else "arrival", kind, detail)
            for at, kind, detail in ticket["call"].get("timeline", [])
        ),
        "flags": ticket["flags"],
        "status": ticket["status"],
        "assignee": ticket["assignee"],
        "direction": ticket["direction"],
    }


TWILIO_ANSWERED = [
    "initiated.txt",
    "ringing.txt",
    "in_progress.txt",
    "completed.txt",
    "recording_completed.txt",
]
ZADARMA_ANSWERED = [
    "notify_start.txt",
    "notify_internal.txt",
    "notify_answer.txt",
    "notify_end_answered.txt",
    "notify_record.txt",
]
GENERIC_ANSWERED = ["new_call.json", "answer.json", "hangup.json", "recording.json"]


def deliver(api: Api, provider: str, names: list[str]) -> list[Any]:
    answers = []
    for name in names:
        if provider == "twilio":
            answers.append(post_twilio(api, form(f"twilio/{name}")))
        elif provider == "zadarma":
            answers.append(post_zadarma(api, form(f"zadarma/{name}")))
        else:
            answers.append(post_generic(api, generic(name)))
    assert all(status == 200 for status, _ in answers), answers
    return answers


ORDERS = {
    "in order": lambda names: names,
    "reversed": lambda names: list(reversed(names)),
    "shuffled and duplicated": lambda names: random.Random(7).sample(names * 2, len(names) * 2),
}


@pytest.mark.parametrize(
    ("provider", "names"),
    [("twilio", TWILIO_ANSWERED), ("zadarma", ZADARMA_ANSWERED), ("generic", GENERIC_ANSWERED)],
)
def test_an_answered_call_makes_one_ticket_whatever_the_order(
    provider: str, names: list[str], aws: dict[str, Any], calls: Api
) -> None:
    results = []
    for label, order in ORDERS.items():
        with_fresh_table(aws)
        deliver(calls, provider, order(names))
        ticket = ticket_of({})
        results.append((label, call_facts(ticket)))
        assert ticket["channel"] == "phone"
        assert ticket["direction"] == "d1"  # the called line selects the direction
        assert ticket["call"]["answered"] is True
        assert ticket["call"]["recording_url"]
        assert ticket["call"]["from_number"] == CLIENT
        assert ticket["status"] == "open"
        assert "missed_call" not in ticket["flags"]
    first = results[0][1]
    for label, facts in results[1:]:
        assert facts == first, label


def with_fresh_table(aws: dict[str, Any]) -> None:
    """Empty the table between orders (one moto account per test)."""
    table = get_settings().table_name
    client = aws["dynamodb"]
    for item in client.scan(TableName=table)["Items"]:
        client.delete_item(TableName=table, Key={"PK": item["PK"], "SK": item["SK"]})
    while (
        messages := aws["sqs"]
        .receive_message(QueueUrl=aws["queue_url"], MaxNumberOfMessages=10)
        .get("Messages")
    ):
        for message in messages:
            aws["sqs"].delete_message(
                QueueUrl=aws["queue_url"], ReceiptHandle=message["ReceiptHandle"]
            )


def test_duplicates_change_nothing(calls: Api) -> None:
    deliver(calls, "generic", GENERIC_ANSWERED)
    before = ticket_of({})
    answers = deliver(calls, "generic", GENERIC_ANSWERED)
    assert [body["handled"] for _, body in answers] == ["duplicate"] * 4
    assert ticket_of({}) == before


@pytest.mark.parametrize(
    ("provider", "names"),
    [
        ("twilio", ["initiated.txt", "ringing.txt", "no_answer.txt"]),
        ("twilio", ["busy.txt"]),
        ("twilio", ["canceled.txt"]),
        ("twilio", ["failed.txt"]),
        ("zadarma", ["notify_start.txt", "notify_internal.txt", "notify_end_missed.txt"]),
        ("zadarma", ["notify_end_missed.txt", "notify_internal.txt"]),
        ("generic", ["new_call.json", "hangup_no_answer.json"]),
    ],
)
def test_an_unanswered_call_is_a_missed_call_needing_a_callback(
    provider: str, names: list[str], calls: Api
) -> None:
    deliver(calls, provider, names)
    ticket = ticket_of({})
    assert {"missed_call", "needs_callback"} <= set(ticket["flags"])
    assert ticket["status"] == "new"
    assert ticket["subject"].startswith("Missed call")
    assert ticket["recipient_id"] == CLIENT  # who to call back
    assert ticket["call"]["ended_at"]
    if "notify_internal.txt" in names:
        assert ticket["assignee"] == "101"  # the extension the call was meant for


def test_missed_calls_are_found_by_key_for_the_callback_sweep(
    calls: Api, aws: dict[str, Any]
) -> None:
    deliver(calls, "generic", ["new_call.json", "hangup_no_answer.json"])
    found = aws["dynamodb"].query(
        TableName=get_settings().table_name,
        IndexName="GSI3",
        KeyConditionExpression="GSI3PK = :pk",
        ExpressionAttributeValues={":pk": {"S": "CALLBACK#d1"}},
    )["Items"]
    assert [item["ticket_id"]["S"] for item in found] == [ticket_of({})["id"]]


def test_an_outbound_call_is_recorded_but_not_missed(calls: Api) -> None:
    deliver(calls, "zadarma", ["notify_out_start.txt", "notify_out_end.txt"])
    ticket = ticket_of({})
    assert ticket["call"]["call_direction"] == "outbound"
    assert ticket["recipient_id"] == CLIENT
    assert "missed_call" not in ticket["flags"]
    assert ticket["subject"].startswith("Outbound call")


def test_a_caller_known_from_whatsapp_is_the_same_customer(
    calls: Api, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpdesk.store import Store
    from helpdesk.store.identities import new_identity

    Store().transact([new_identity("phone", CLIENT, "cust-whatsapp")])
    deliver(calls, "generic", ["new_call.json"])
    assert ticket_of({})["customer_id"] == "cust-whatsapp"


def test_a_long_call_is_flagged_and_the_review_mailbox_is_told(
    calls: Api, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    sns = boto3.client("sns")
    topic = sns.create_topic(Name="problem-calls")["TopicArn"]
    inbox = aws["sqs"].create_queue(QueueName="review-mailbox")["QueueUrl"]
    inbox_arn = aws["sqs"].get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    monkeypatch.setenv("PROBLEM_CALLS_TOPIC_ARN", topic)
    get_settings.cache_clear()

    deliver(calls, "generic", ["new_call.json", "answer.json"])
    post_generic(calls, generic("hangup.json", duration=421))
    post_generic(calls, generic("hangup.json", duration=421))  # a duplicate asks again
    deliver(calls, "generic", ["recording.json"])
    ticket = ticket_of({})
    assert "problem_call" in ticket["flags"]

    jobs = aws["sqs"].receive_message(QueueUrl=aws["queue_url"], MaxNumberOfMessages=10)
    spec = functions()["DispatcherFunction"]
    event = sqs_event(jobs["Messages"], "arn:aws:sqs:us-east-1:123456789012:jobs")
    assert load_function(spec).lambda_handler(event, LambdaContext(spec.logical_id)) == {
        "batchItemFailures": []
    }
    notices = aws["sqs"].receive_message(QueueUrl=inbox, MaxNumberOfMessages=10)["Messages"]
    assert len(notices) == 1  # once, however often it was asked for
    text = json.loads(notices[0]["Body"])["Message"]
    assert ticket["id"] in text and "101" in text and "7:01" in text

    lead = Api("TicketsFunction", claims("lead", "reviewer-1"))
    status, reviewed = lead.call(
        "POST", f"/tickets/{ticket['id']}/call-review", {"verdict": "coaching", "note": "long hold"}
    )
    assert status == 200, reviewed
    assert reviewed["call_review"]["verdict"] == "coaching"
    assert reviewed["call_review"]["by"] == "reviewer-1"
    agent = Api("TicketsFunction", claims("agent"))
    assert agent.call("POST", f"/tickets/{ticket['id']}/call-review", {"verdict": "ok"})[0] == 403


def test_the_threshold_is_per_direction(calls: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    config = {"directions": [{"id": "d1", "phone_numbers": [LINE], "problem_call_seconds": 60}]}
    monkeypatch.setenv("HELPDESK_CONFIG", json.dumps(config))
    get_settings.cache_clear()
    deliver(calls, "generic", GENERIC_ANSWERED)  # 147 s
    assert "problem_call" in ticket_of({})["flags"]


def test_an_unmapped_line_goes_to_the_default_direction(calls: Api) -> None:
    post_generic(calls, generic("new_call.json", to="+74990000000"))
    assert ticket_of({})["direction"] == "d0"


# ---- bad input ---------------------------------------------------------------------------


def test_wrong_or_missing_signatures_are_refused_and_store_nothing(
    calls: Api, aws: dict[str, Any]
) -> None:
    params = form("twilio/completed.txt")
    assert post_twilio(calls, params, token="wrong")[0] == 401
    tampered = dict(params, CallDuration="1")
    signature = twilio.signature_for(f"{PUBLIC}/webhooks/calls/twilio", params, TWILIO_TOKEN)
    raw = urlencode(tampered).encode()
    assert (
        calls.call(
            "POST", "/webhooks/calls/twilio", raw=raw, headers={"X-Twilio-Signature": signature}
        )[0]
        == 401
    )
    assert calls.call("POST", "/webhooks/calls/twilio", raw=raw)[0] == 401
    assert post_zadarma(calls, form("zadarma/notify_start.txt"), secret="wrong")[0] == 401
    unsigned = urlencode(form("zadarma/notify_start.txt")).encode()
    assert calls.call("POST", "/webhooks/calls/zadarma", raw=unsigned)[0] == 401
    assert post_generic(calls, generic("new_call.json"), token="wrong")[0] == 401
    assert calls.call("POST", "/webhooks/calls/generic", body=generic("new_call.json"))[0] == 401
    assert aws["dynamodb"].scan(TableName=get_settings().table_name)["Items"] == []


def test_twilio_signature_uses_the_public_url_with_its_query(calls: Api) -> None:
    params = form("twilio/completed.txt")
    url = f"{PUBLIC}/webhooks/calls/twilio?line=support"
    signature = twilio.signature_for(url, params, TWILIO_TOKEN)
    status, _ = calls.call(
        "POST",
        "/webhooks/calls/twilio",
        raw=urlencode(params).encode(),
        headers={"X-Twilio-Signature": signature},
        query="line=support",
    )
    assert status == 200


def test_unknown_provider_is_404(calls: Api) -> None:
    status, body = calls.call("POST", "/webhooks/calls/asterisk", raw=b"a=b")
    assert status == 404
    assert "asterisk" in body["error"]["message"]


def test_malformed_bodies_are_400_and_store_nothing(calls: Api, aws: dict[str, Any]) -> None:
    bad_json = calls.call(
        "POST",
        "/webhooks/calls/generic",
        raw=b"{oops",
        headers={"Authorization": f"Bearer {CTI_TOKEN}"},
    )
    assert bad_json[0] == 400
    status, body = post_generic(calls, {"event": "hangup", "call_id": "x"})
    assert status == 400 and body["error"]["message"]
    assert post_generic(calls, ["not", "an", "object"])[0] == 400
    assert post_twilio(calls, {"CallStatus": "completed"})[0] == 400  # no CallSid
    assert post_zadarma(calls, {"event": "NOTIFY_START", "caller_id": "1"})[0] in (400, 401)
    assert aws["dynamodb"].scan(TableName=get_settings().table_name)["Items"] == []


def test_events_zadarma_does_not_track_are_acknowledged(calls: Api, aws: dict[str, Any]) -> None:
    params = {"event": "NOTIFY_IVR", "call_start": "2024-05-14 13:15:02", "pbx_call_id": "in_1"}
    params["caller_id"], params["called_did"] = "79161234567", "74951234567"
    status, body = post_zadarma(calls, params)
    assert (status, body["handled"]) == (200, "ignored")
    assert aws["dynamodb"].scan(TableName=get_settings().table_name)["Items"] == []


def test_zadarma_url_check_echoes(calls: Api) -> None:
    status, body = calls.call("GET", "/webhooks/calls/zadarma", query="zd_echo=abc123")
    assert (status, body) == (200, b"abc123")
    assert calls.call("GET", "/webhooks/calls/twilio", query="zd_echo=abc")[0] == 400
    assert calls.call("GET", "/webhooks/calls/nope", query="zd_echo=abc")[0] == 404


def test_a_recording_that_overtakes_its_call_waits_for_it(calls: Api, aws: dict[str, Any]) -> None:
    assert post_twilio(calls, form("twilio/recording_completed.txt"))[1]["handled"] == "pending"
    assert Api("TicketsFunction", claims("lead")).call("GET", "/tickets")[1]["tickets"] == []
    deliver(calls, "twilio", ["completed.txt"])
    assert ticket_of({})["call"]["recording_url"].startswith("https://api.twilio.com/")
