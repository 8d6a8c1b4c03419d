"""A red incident notice fanned out through the local stack to a fake Telegram / WhatsApp
API that enforces the rate limits and answers 429s, with SQS delivering jobs twice and the
stack killed (-9) mid-fan-out: every recipient is reached once, counted per recipient by the
fake API, except the few whose send was in flight at the crash, which are recorded failed
("outcome unknown"), never sent twice.

`make test` runs it with 1,000 recipients (about a minute); `make soak-notices` with 10,000
(NOTICE_RECIPIENTS), which takes minutes at the local stack's speed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import requests

from helpdesk.store.deliveries import UNKNOWN
from tests.e2e import fanout

RECIPIENTS = int(os.environ.get("NOTICE_RECIPIENTS") or "1000")
WORKERS = 4


def test_a_red_notice_reaches_everyone_once_through_redeliveries_429s_and_a_crash(
    tmp_path: Path,
) -> None:
    telegram = RECIPIENTS * 7 // 10
    run = fanout.start(
        tmp_path / "state",
        telegram,
        RECIPIENTS - telegram,
        caps={"telegram": 60, "whatsapp": 40},
        refuse_every=97,  # 429s beyond the rate limits the fake enforces anyway
        duplicate_every=5,  # every fifth job the dispatcher handles comes again
        workers=WORKERS,
    )
    try:
        run.fake.hold_after = RECIPIENTS // 3
        notice = run.post_red()
        assert run.fake.held.wait(timeout=RECIPIENTS / 10 + 60), "the fan-out never got going"
        run.stack.kill()  # the dispatcher dies mid-batch, a send in the provider's hands
        run.fake.hold_after = None
        run.fake.release.set()
        reached_before_crash = run.reached()
        assert reached_before_crash < RECIPIENTS

        run.restart()  # the local queue is not kept: only the sweep can pick the fan-out up
        swept = []
        for step in range(1, 12):  # the sweep every six minutes, as the clock goes on
            swept.append(run.sweep_at(minutes_later=6 * step)["result"]["fan_outs"])
            if swept[-1]["under_way"] == 0:
                break
            run.wait_idle(timeout=RECIPIENTS / 10 + 120)
        delivery = run.delivery()
        health = requests.get(f"{run.stack.api}/_local/health", timeout=10).json()
        records = run.store().deliveries.states(notice["id"], 1)
    finally:
        run.stop()

    print(
        f"{RECIPIENTS} recipients: reached {run.reached()} ({reached_before_crash} before the "
        f"crash), duplicates {len(run.fake.duplicates())}, failed {len(failed_of(records))} "
        f"(outcome unknown), jobs delivered twice {health['queue_messages_delivered_again']}, "
        f"429s {sum(run.fake.refused.values())}, sweeps {swept}"
    )
    assert health["queue_messages_delivered_again"] > 0, "no job was delivered twice"
    assert run.fake.refused["telegram"] + run.fake.refused["whatsapp"] > 0, "no 429 answered"
    assert swept[-1]["under_way"] == 0, swept  # every fan-out closed
    assert sum(s["restarted"] + s["swept_up"] for s in swept) >= 1, swept

    told = {("telegram", chat): f"telegram#{chat}" for chat in run.telegram} | {
        ("whatsapp", wa): f"whatsapp#+{wa}" for wa in run.whatsapp
    }
    assert run.fake.duplicates() == {}, "someone was told twice"
    assert run.fake.received["telegram", fanout.CHANNEL] == 1, "one channel post, edited after"
    unexpected = set(run.fake.received) - set(told) - {("telegram", fanout.CHANNEL)}
    assert unexpected == set()

    assert len(records) == RECIPIENTS, "every recipient has a delivery record"
    failed = failed_of(records)
    assert len(failed) <= WORKERS, failed  # at most the sends in flight when the stack died
    assert all(r["state"] == "failed" and UNKNOWN in r["error"] for r in failed.values())
    missing = {record for who, record in told.items() if run.fake.received[who] == 0}
    assert missing <= set(failed), "nobody is skipped: whoever was not reached is on record"
    sent = {key for key, r in records.items() if r["state"] == "sent"}
    assert all(run.fake.received[who] == 1 for who, record in told.items() if record in sent)

    for channel, size in (("telegram", telegram), ("whatsapp", RECIPIENTS - telegram)):
        counts = delivery[channel]
        assert counts["queued"] == size, delivery
        assert counts["sent"] + counts["failed"] == size and counts["pending"] == 0, delivery
    assert delivery["telegram"]["sent"] + delivery["whatsapp"]["sent"] == len(sent)


def failed_of(records: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {key: record for key, record in records.items() if record["state"] != "sent"}
