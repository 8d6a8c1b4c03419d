"""The local stack's environment: local resources, then shell, template default, dev default."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from infra import clock
from infra.local_stack import Ports, local_environment
from infra.template import FunctionSpec, functions, resolve_environment

REFERENCES = {"Table": "helpdesk-local", "JobQueue": "http://127.0.0.1:5005/q"}


def test_template_parameter_defaults_apply_locally() -> None:
    environment = local_environment(functions(), REFERENCES, {}, Ports())
    assert environment["ZADARMA_TIMEZONE"] == "Europe/Moscow"  # was UTC locally
    assert environment["GROUPS_CLAIM"] == "cognito:groups"
    assert environment["STAGE"] == "dev"
    assert environment["TABLE_NAME"] == "helpdesk-local"
    # no template default: the development default
    assert environment["TELEGRAM_SECRET_TOKEN"] == "local-telegram-secret"
    assert environment["TELEGRAM_API_BASE"] == "http://127.0.0.1:3001/telegram"
    assert "HELPDESK_CONFIG" not in environment  # empty everywhere: left unset


def test_the_shell_wins_but_never_over_the_local_resources() -> None:
    shell = {"ZADARMA_TIMEZONE": "Asia/Yekaterinburg", "TABLE_NAME": "prod-table", "STAGE": ""}
    environment = local_environment(functions(), REFERENCES, shell, Ports(api=3100))
    assert environment["ZADARMA_TIMEZONE"] == "Asia/Yekaterinburg"
    assert environment["TABLE_NAME"] == "helpdesk-local"
    assert environment["STAGE"] == "dev"  # an empty shell value counts as unset
    assert environment["PUBLIC_BASE_URL"] == "http://127.0.0.1:3100"


def test_references_the_local_stack_cannot_resolve_are_unset_not_a_crash() -> None:
    spec = FunctionSpec(
        "Fn",
        code_dir=functions()["TicketsFunction"].code_dir,
        module="app",
        handler="lambda_handler",
        timeout=3,
        environment={
            "BOT_SECRET_ARN": {"Ref": "TelegramBotSecret"},
            "KEY_ARN": {"Fn::GetAtt": ["SigningKey", "Arn"]},
            "TOKEN": "{{resolve:secretsmanager:helpdesk/telegram:SecretString:token}}",
            "WITH_SUB": {"Fn::Sub": "arn:aws:secretsmanager:${AWS::Region}:x:secret:${Missing}"},
            "ODD": {"Fn::If": ["Cond", "a", "b"]},
            "REGION_NAME": {"Fn::Sub": "${AWS::Region}-${Table}"},
        },
    )
    environment = local_environment({"Fn": spec}, REFERENCES, {}, Ports())
    for name in ("BOT_SECRET_ARN", "KEY_ARN", "TOKEN", "WITH_SUB", "ODD"):
        assert name not in environment
    resolved = resolve_environment(spec.environment, REFERENCES, {})
    assert resolved["REGION_NAME"] == "us-east-1-helpdesk-local"
    assert resolved["KEY_ARN"] == ""


def test_ports_come_from_the_shell() -> None:
    ports = Ports.from_environment({"LOCAL_PORT": "3100", "MOTO_PORT": "5105"})
    assert (ports.api, ports.sandbox, ports.moto) == (3100, 3001, 5105)


def test_the_local_clock_honours_helpdesk_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELPDESK_NOW", "2026-11-30T10:00:00Z")
    assert clock.now() == datetime(2026, 11, 30, 10, tzinfo=UTC)
    monkeypatch.setenv("HELPDESK_NOW", "2026-11-30T13:00:00+03:00")
    assert clock.now() == datetime(2026, 11, 30, 10, tzinfo=UTC)
    monkeypatch.setenv("HELPDESK_NOW", "2026-11-30T10:00:00")
    with pytest.raises(ValueError, match="time zone"):
        clock.now()
    monkeypatch.delenv("HELPDESK_NOW")
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 5
