"""Configuration is validated once, at start, and every error names the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpdesk.settings import ConfigError, get_settings, load_config


def config(**direction: object) -> str:
    return json.dumps({"directions": [{"id": "d0", **direction}]})


@pytest.mark.parametrize(
    ("direction", "message"),
    [
        (
            {"texts": {"resolved": "Done: {direction} {ticket}"}},
            "directions[0].texts: resolved: unknown placeholder {ticket}",
        ),
        (
            {"texts": {"acknowledgement": "Ваш номер {номер"}},
            "directions[0].texts: acknowledgement:",
        ),
        ({"texts": {"csat_good": "Excellent, thank you so much"}}, "csat_good: a button label"),
        ({"texts": {"csat_good": "Да", "csat_bad": "Да"}}, "csat_good and csat_bad must differ"),
        ({"texts": {"csat_prompt": "x" * 1010 + "{number}"}}, "csat_prompt: with its placeholders"),
        ({"timezone": "Mars/Olympus"}, "directions[0].timezone: unknown time zone 'Mars/Olympus'"),
        ({"problem_call_seconds": -5}, "directions[0].problem_call_seconds"),
        ({"id": "D 0"}, "directions[0].id"),
        ({"language": "de"}, "directions[0].language"),
        ({"colour": "red"}, "directions[0].colour: Extra inputs are not permitted"),
    ],
)
def test_a_bad_direction_stops_the_start_naming_the_field(
    direction: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(config(**direction))
    assert str(refused.value).startswith("HELPDESK_CONFIG: ")
    assert message in str(refused.value)


def test_a_text_may_use_its_own_placeholders_and_override_one_default() -> None:
    loaded = load_config(config(language="en", texts={"resolved": "{number}: {resolution}"}))
    texts = loaded.directions[0].client_texts()
    assert texts.render("resolved", number="D0-000001", resolution="fixed") == "D0-000001: fixed"
    assert texts.greeting.startswith("Hello!")  # the rest keep the language's defaults


def test_two_directions_with_one_id_are_refused() -> None:
    with pytest.raises(ConfigError, match="configured twice"):
        load_config(json.dumps({"directions": [{"id": "d0"}, {"id": "d0"}]}))


def test_config_from_a_file_or_inline_json(tmp_path: Path) -> None:
    path = tmp_path / "helpdesk.json"
    path.write_text(config(name="Billing"), encoding="utf-8")
    assert load_config(str(path)).directions[0].name == "Billing"
    assert load_config(config(name="Inline")).directions[0].name == "Inline"
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(str(tmp_path / "missing.json"))
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config("{oops")


def test_environment_errors_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZADARMA_TIMEZONE", "Europe/Atlantis")
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigError, match="zadarma_timezone: unknown time zone"):
            get_settings()
    finally:
        monkeypatch.delenv("ZADARMA_TIMEZONE")
        get_settings.cache_clear()


def test_the_defaults_pass_their_own_checks() -> None:
    for language in ("ru", "en"):
        loaded = load_config(config(language=language))
        texts = loaded.directions[0].client_texts()
        assert len(texts.csat_good) <= 20 and texts.csat_good != texts.csat_bad
