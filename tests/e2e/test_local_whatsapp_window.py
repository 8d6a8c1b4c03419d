"""The local stack tells the sandbox who wrote on WhatsApp, so the 24-hour window holds."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import requests

from tests.e2e.conftest import ROOT, RunningStack
from tests.e2e.test_local_stack import wait_for

EVENT = json.loads((ROOT / "events" / "whatsapp" / "text_message.json").read_text())


def whatsapp_message(wa_id: str, sent_at: int, message_id: str) -> bytes:
    event = copy.deepcopy(EVENT)
    value = event["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["wa_id"] = wa_id
    value["messages"][0].update({"from": wa_id, "timestamp": str(sent_at), "id": message_id})
    return json.dumps(event).encode()


def deliver(stack: RunningStack, body: bytes) -> None:
    digest = hmac.new(b"local-whatsapp-app-secret", body, hashlib.sha256).hexdigest()
    accepted = requests.post(
        f"{stack.api}/webhooks/whatsapp",
        data=body,
        headers={"content-type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"},
        timeout=10,
    )
    assert accepted.status_code == 200, accepted.text


def test_replies_reach_a_recent_writer_and_are_refused_after_24_hours(
    stack: RunningStack, tmp_path: Path
) -> None:
    now = int(time.time())
    deliver(stack, whatsapp_message("79160000001", now - 3600, "wamid.recent"))
    deliver(stack, whatsapp_message("79160000002", now - 25 * 3600, "wamid.stale"))

    def outbox() -> dict[str, Any]:
        return requests.get(f"{stack.sandbox}/outbox", timeout=5).json()

    def both_seen() -> bool:
        box = outbox()
        return any(m["body"].get("to") == "79160000001" for m in box["sent"]) and any(
            m["body"].get("to") == "79160000002" for m in box["refused"]
        )

    wait_for(both_seen)
    box = outbox()
    assert not [m for m in box["sent"] if m["body"].get("to") == "79160000002"]
    refusal = next(m for m in box["refused"] if m["body"].get("to") == "79160000002")
    assert refusal["error"]["code"] == 131047
