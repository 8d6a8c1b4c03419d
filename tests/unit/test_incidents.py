"""The incident rules without AWS: who is told where, the banner, the texts, the line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk import incidents
from helpdesk.errors import InvalidTransition
from helpdesk.models import Actor

IC = Actor(user_id="ic-1", roles=frozenset({"commander"}))
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def red(**changes: object) -> incidents.Notice:
    arguments: dict[str, object] = {
        "actor": IC,
        "severity": "red",
        "directions": ["d1", "d0", "d0"],
        "text": {"ru": "Не работает вход", "en": "Login is down"},
        "eta": None,
        "channels": None,
        "now": NOW,
        **changes,
    }
    return incidents.start("INC-000001", **arguments)  # type: ignore[arg-type]


def test_whatsapp_is_for_red_incidents_only() -> None:
    assert red().channels == ["telegram", "whatsapp"]
    assert red(severity="yellow").channels == ["telegram"]
    assert red(severity="green", channels=["telegram", "whatsapp"]).channels == ["telegram"]
    assert red(channels=[]).channels == []  # the banner and the channel post only
    assert red().directions == ["d0", "d1"]


def test_each_post_is_a_revision_and_a_resolved_notice_takes_no_more() -> None:
    notice = red()
    later = NOW + timedelta(minutes=30)
    eta = NOW + timedelta(hours=2)
    updated = incidents.update(notice, actor=IC, text={"ru": "Нашли"}, eta=eta, now=later)
    assert (updated.revision, updated.version, updated.eta) == (2, 2, eta)
    again = incidents.update(updated, actor=IC, text={"ru": "Ещё"}, eta=None, now=later)
    assert again.eta == eta  # an update without an ETA keeps the last one
    done = incidents.resolve(again, actor=IC, text={"ru": "Всё"}, now=later)
    assert (done.state, done.revision, done.eta, done.resolved_at) == ("resolved", 4, None, later)
    with pytest.raises(InvalidTransition):
        incidents.update(done, actor=IC, text={"ru": "x"}, eta=None, now=later)
    with pytest.raises(InvalidTransition):
        incidents.resolve(done, actor=IC, text={"ru": "x"}, now=later)


def test_the_banner_is_red_first_in_the_asked_language_with_a_stable_etag() -> None:
    yellow = incidents.banner_entry(red(severity="yellow", text={"ru": "Медленно"}))
    loud = incidents.banner_entry(red())
    body, tag = incidents.banner_view([yellow, loud], "en")
    assert [n["severity"] for n in body["notices"]] == ["red", "yellow"]
    assert [n["text"] for n in body["notices"]] == ["Login is down", "Медленно"]
    assert incidents.banner_view([loud, yellow], "en")[1] == tag  # order of storage: no matter
    assert incidents.banner_view([loud, yellow], "ru")[1] != tag
    assert incidents.banner_view([], "ru") == ({"notices": []}, incidents.banner_view([], "ru")[1])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/stop", False),
        ("/stop@helpdesk_bot", False),
        ("STOP", False),
        ("  Стоп ", False),
        ("/start", True),
        ("/start ref-42", True),
        ("СТАРТ", True),
        ("stop it please", None),
        ("I cannot stop the service", None),
        ("/stopwatch", None),
        ("", None),
    ],
)
def test_opt_out_and_back_in_commands(text: str, expected: bool | None) -> None:
    assert incidents.subscription_command(text) is expected


@given(st.text(max_size=1200))
def test_a_template_parameter_never_has_what_meta_refuses(text: str) -> None:
    parameter = incidents.template_text(text)
    assert "\n" not in parameter and "\t" not in parameter and "     " not in parameter
    assert len(parameter) <= incidents.MAX_TEXT + 100


def test_the_channel_post_tells_the_whole_story_within_telegrams_limit() -> None:
    notice = red(eta=NOW + timedelta(hours=2))
    for n in range(60):
        notice = incidents.update(
            notice, actor=IC, text={"ru": f"Обновление {n} " + "x" * 200}, eta=None, now=NOW
        )
    text = incidents.channel_text(notice, "ru")
    assert text.startswith("🔴 Сбой INC-000001") and "Ожидаем решения" in text
    assert len(text) <= 4096
    done = incidents.resolve(notice, actor=IC, text={"ru": "Починили"}, now=NOW)
    assert incidents.channel_text(done, "ru").startswith("✅ Решено: INC-000001\nПочинили")


def test_a_caller_hears_a_red_incident_else_out_of_hours_else_nothing() -> None:
    loud = incidents.banner_entry(red())
    calm = incidents.banner_entry(red(severity="yellow"))
    answer = incidents.line_answer([calm, loud], "ru", working=True, out_of_hours_text="Ночь")
    assert answer == incidents.LineAnswer("incident", "Не работает вход", hang_up=False)
    assert incidents.line_answer([calm], "ru", working=True, out_of_hours_text="Ночь") is None
    night = incidents.line_answer([calm], "ru", working=False, out_of_hours_text="Ночь")
    assert night == incidents.LineAnswer("out_of_hours", "Ночь", hang_up=True)
