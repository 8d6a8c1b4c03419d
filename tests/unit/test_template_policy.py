"""Our policy rules (infra/policy/rules.py): the template passes, and each rule catches its case."""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.policy import rules
from infra.template import ROOT, load_template

POLICY = ROOT / "infra" / "policy"


@pytest.fixture
def template() -> dict[str, Any]:
    return copy.deepcopy(load_template())


def test_the_template_passes_every_rule(template: dict[str, Any]) -> None:
    assert rules.all_problems(template) == []


def test_hd001_finds_a_crud_policy(template: dict[str, Any]) -> None:
    policies = template["Resources"]["MessengerWebhookFunction"]["Properties"]["Policies"]
    policies.append({"DynamoDBCrudPolicy": {"TableName": {"Ref": "Table"}}})
    assert rules.broad_policies(template, "MessengerWebhookFunction") == [
        "MessengerWebhookFunction has DynamoDBCrudPolicy: grant the actions it uses instead"
    ]
    policies[-1] = "arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess"
    assert rules.broad_policies(template, "MessengerWebhookFunction")


@pytest.mark.parametrize(
    "value",
    [
        {"Ref": "TelegramBotToken"},
        {"Fn::Sub": "bot${TelegramBotToken}"},
        {"Fn::Select": [0, {"Fn::Split": [":", {"Ref": "TelegramBotToken"}]}]},
        {"Fn::If": ["HasAlarmEmail", {"Ref": "TelegramBotToken"}, ""]},
    ],
)
def test_hd002_finds_a_noecho_parameter_however_deep(template: dict[str, Any], value: Any) -> None:
    template["Parameters"]["TelegramBotToken"] = {"Type": "String", "NoEcho": True}
    variables = template["Resources"]["DispatcherFunction"]["Properties"]["Environment"]
    variables["Variables"]["TELEGRAM_BOT_TOKEN"] = value
    assert rules.secrets_in_environment(template, "DispatcherFunction") == [
        "DispatcherFunction: TELEGRAM_BOT_TOKEN holds the NoEcho parameter TelegramBotToken"
    ]


def test_hd002_looks_at_globals_and_dynamic_references(template: dict[str, Any]) -> None:
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    variables["GENERIC_CTI_TOKEN"] = "{{resolve:secretsmanager:helpdesk/cti}}"
    problems = rules.secrets_in_environment(template, "OutboxSweepFunction")
    assert problems == [
        "OutboxSweepFunction: GENERIC_CTI_TOKEN holds a secret's value (dynamic reference): "
        "pass its ARN instead"
    ]


def test_hd003_finds_a_function_without_a_log_group(template: dict[str, Any]) -> None:
    del template["Resources"]["OutboxSweepFunction"]["Properties"]["LoggingConfig"]
    del template["Resources"]["OutboxSweepLogs"]
    assert rules.log_group_with_retention(template, "OutboxSweepFunction") == [
        "OutboxSweepFunction has no log group in the template (LoggingConfig.LogGroup)"
    ]


def test_hd003_accepts_the_default_group_name_and_needs_retention(
    template: dict[str, Any],
) -> None:
    del template["Resources"]["OutboxSweepFunction"]["Properties"]["LoggingConfig"]
    assert rules.log_group_with_retention(template, "OutboxSweepFunction") == []
    del template["Resources"]["OutboxSweepLogs"]["Properties"]["RetentionInDays"]
    assert rules.log_group_with_retention(template, "OutboxSweepFunction") == [
        "OutboxSweepFunction logs to OutboxSweepLogs, which keeps logs forever (no RetentionInDays)"
    ]


def test_hd004_finds_an_extra_public_route(template: dict[str, Any]) -> None:
    events = template["Resources"]["TicketsFunction"]["Properties"]["Events"]
    events["ListTickets"]["Properties"]["Auth"] = {"Authorizer": "NONE"}
    assert rules.public_routes(template, "HttpApi") == [
        "GET /tickets (TicketsFunction) is public but not in the allowed list"
    ]


def test_hd004_finds_a_webhook_that_providers_could_not_reach(template: dict[str, Any]) -> None:
    events = template["Resources"]["MessengerWebhookFunction"]["Properties"]["Events"]
    del events["Telegram"]["Properties"]["Auth"]
    assert rules.public_routes(template, "HttpApi") == [
        "POST /webhooks/telegram should be public (served by MessengerWebhookFunction) "
        "but needs a token or is missing"
    ]


def test_hd004_needs_a_default_authorizer(template: dict[str, Any]) -> None:
    del template["Resources"]["HttpApi"]["Properties"]["Auth"]
    assert rules.public_routes(template, "HttpApi") == [
        "HttpApi has no DefaultAuthorizer: every route would be public"
    ]


def test_every_skipped_checkov_check_is_explained_in_the_readme() -> None:
    config = yaml.safe_load((POLICY / "checkov.yaml").read_text(encoding="utf-8"))
    readme = (POLICY / "README.md").read_text(encoding="utf-8")
    skipped_section = readme.split("## Skipped checks", 1)[1].split("\n## ", 1)[0]
    explained = re.findall(r"^\| `(CKV2?_AWS_\d+)` \|", skipped_section, flags=re.M)
    assert sorted(explained) == sorted(config["skip-check"])


def test_our_checks_are_wired_into_checkov() -> None:
    source = (POLICY / "checks" / "helpdesk.py").read_text(encoding="utf-8")
    for rule in ("broad_policies", "secrets_in_environment", "log_group_with_retention"):
        assert f"rules.{rule}" in source
    assert "rules.public_routes" in source
    assert os.access(POLICY / "check.sh", os.X_OK)
    assert Path(POLICY / "requirements.txt").read_text(encoding="utf-8").count("checkov==") == 1
