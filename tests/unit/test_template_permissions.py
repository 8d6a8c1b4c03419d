"""Least privilege in template.yaml: each function's actions, secrets and environment."""

from __future__ import annotations

from typing import Any

import pytest

from infra.template import load_template, resources_of_type

FUNCTIONS = [
    "TicketsFunction",
    "BroadcastFunction",
    "ReportingFunction",
    "KbFunction",
    "DailyDigestFunction",
    "BudgetWatchFunction",
    "MessengerWebhookFunction",
    "CallWebhookFunction",
    "TrackerWebhookFunction",
    "DispatcherFunction",
    "OutboxSweepFunction",
    "SlaSweepFunction",
    "MissedCallSweepFunction",
    "TableExportFunction",
    "EmailIntakeFunction",
]
# Send no jobs: reports read counters; the export hands the table to DynamoDB's own export.
READ_ONLY = ["ReportingFunction", "TableExportFunction", "KbFunction"]
WEBHOOKS = ["MessengerWebhookFunction", "CallWebhookFunction", "TrackerWebhookFunction"]

TABLE = {"Fn::GetAtt": ["Table", "Arn"]}
ALL_INDEXES = {"Fn::Sub": "${Table.Arn}/index/*"}
OUTBOX_INDEX = {"Fn::Sub": "${Table.Arn}/index/GSI3"}
DIRECTION_INDEX = {"Fn::Sub": "${Table.Arn}/index/GSI1"}
ITEM_WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"}

# What each function does with the table, as (action, resource) pairs.
TABLE_ACCESS: dict[str, set[tuple[str, Any]]] = {
    "TicketsFunction": {
        *(
            (action, "Table")
            for action in {
                "dynamodb:GetItem",
                "dynamodb:BatchGetItem",
                "dynamodb:Query",
                *ITEM_WRITES,
            }
        ),
        ("dynamodb:Query", "Table/index/*"),
    },
    # Reports read counters by key; only the ticket export reads an index (GSI1). No Scan.
    "ReportingFunction": {
        *((a, "Table") for a in {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}),
        ("dynamodb:Query", "Table/index/GSI1"),
    },
    # Articles, canned replies, gaps and the search index's chunks, all by key; no index.
    "KbFunction": {
        (a, "Table")
        for a in {
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:Query",
            "dynamodb:DeleteItem",
            "dynamodb:BatchWriteItem",
            *ITEM_WRITES,
        }
    },
    "DailyDigestFunction": {
        ("dynamodb:GetItem", "Table"),
        ("dynamodb:Query", "Table"),
        ("dynamodb:Query", "Table/index/GSI3"),
    },
    "BudgetWatchFunction": {("dynamodb:Query", "Table")},
    "TableExportFunction": {("dynamodb:ExportTableToPointInTime", "Table")},
    "MessengerWebhookFunction": {(a, "Table") for a in {"dynamodb:GetItem", *ITEM_WRITES}},
    "CallWebhookFunction": {(a, "Table") for a in {"dynamodb:GetItem", *ITEM_WRITES}},
    "EmailIntakeFunction": {(a, "Table") for a in {"dynamodb:GetItem", *ITEM_WRITES}},
    # the task's links (Query on TASK#<key>), then each ticket through the desk
    "TrackerWebhookFunction": {
        (a, "Table") for a in {"dynamodb:GetItem", "dynamodb:Query", *ITEM_WRITES}
    },
    "BroadcastFunction": {
        *((a, "Table") for a in {"dynamodb:GetItem", "dynamodb:BatchGetItem", *ITEM_WRITES}),
        ("dynamodb:Query", "Table/index/GSI3"),
    },
    "DispatcherFunction": {
        (a, "Table")
        for a in {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:DeleteItem", *ITEM_WRITES}
    },
    "OutboxSweepFunction": {
        ("dynamodb:GetItem", "Table"),
        ("dynamodb:PutItem", "Table"),
        ("dynamodb:UpdateItem", "Table"),
        ("dynamodb:Query", "Table"),
        ("dynamodb:Query", "Table/index/GSI3"),
    },
    **{
        sweep: {
            *((action, "Table") for action in {"dynamodb:GetItem", "dynamodb:BatchGetItem"}),
            *((action, "Table") for action in ITEM_WRITES),
            ("dynamodb:Query", "Table/index/*"),
        }
        for sweep in ("SlaSweepFunction", "MissedCallSweepFunction")
    },
}

# The secrets each function may read: environment variable -> parameter holding the ARN.
SECRETS: dict[str, dict[str, str]] = {
    "TicketsFunction": {},
    "BroadcastFunction": {},
    "ReportingFunction": {},
    "KbFunction": {},
    "DailyDigestFunction": {},
    "BudgetWatchFunction": {},
    "TableExportFunction": {},
    "MessengerWebhookFunction": {
        "TELEGRAM_SECRET_TOKEN_SECRET_ARN": "TelegramSecretTokenArn",
        "WHATSAPP_APP_SECRET_SECRET_ARN": "WhatsAppAppSecretArn",
        "WHATSAPP_VERIFY_TOKEN_SECRET_ARN": "WhatsAppVerifyTokenArn",
    },
    "CallWebhookFunction": {
        "TWILIO_AUTH_TOKEN_SECRET_ARN": "TwilioAuthTokenArn",
        "ZADARMA_API_SECRET_SECRET_ARN": "ZadarmaApiSecretArn",
        "GENERIC_CTI_TOKEN_SECRET_ARN": "GenericCtiTokenArn",
    },
    "TrackerWebhookFunction": {
        "GITHUB_WEBHOOK_SECRET_SECRET_ARN": "GitHubWebhookSecretArn",
        "GITLAB_WEBHOOK_TOKEN_SECRET_ARN": "GitLabWebhookTokenArn",
        "JIRA_WEBHOOK_SECRET_SECRET_ARN": "JiraWebhookSecretArn",
        "GENERIC_TRACKER_SECRET_SECRET_ARN": "GenericTrackerSecretArn",
    },
    "DispatcherFunction": {
        "TELEGRAM_BOT_TOKEN_SECRET_ARN": "TelegramBotTokenArn",
        "WHATSAPP_ACCESS_TOKEN_SECRET_ARN": "WhatsAppAccessTokenArn",
    },
    "OutboxSweepFunction": {},
    "EmailIntakeFunction": {},
    "SlaSweepFunction": {},
    "MissedCallSweepFunction": {},
}
SECRET_VALUE_VARIABLES = {
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_SECRET_TOKEN",
    "WHATSAPP_APP_SECRET",
    "WHATSAPP_VERIFY_TOKEN",
    "WHATSAPP_ACCESS_TOKEN",
    "TWILIO_AUTH_TOKEN",
    "ZADARMA_API_SECRET",
    "GENERIC_CTI_TOKEN",
    "GITHUB_WEBHOOK_SECRET",
    "GITLAB_WEBHOOK_TOKEN",
    "JIRA_WEBHOOK_SECRET",
    "GENERIC_TRACKER_SECRET",
}


def function(name: str) -> dict[str, Any]:
    return resources_of_type("AWS::Serverless::Function")[name]["Properties"]


def environment(name: str) -> dict[str, Any]:
    globals_ = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    return {**globals_, **function(name).get("Environment", {}).get("Variables", {})}


def statements(name: str) -> list[tuple[str | None, dict[str, Any]]]:
    """(condition or None, statement) for every inline statement of the function."""
    found = []
    for policy in function(name)["Policies"]:
        if policy == {"Ref": "ConfigReadPolicy"}:
            policy = config_policy()
        assert set(policy) == {"Statement"}, f"{name}: only inline statements, got {policy}"
        for statement in policy["Statement"]:
            if "Fn::If" in statement:
                condition, then, otherwise = statement["Fn::If"]
                assert otherwise == {"Ref": "AWS::NoValue"}
                found.append((condition, then))
            else:
                found.append((None, statement))
    return found


def config_policy() -> dict[str, Any]:
    """The one managed policy functions share: reading the configuration object."""
    document = load_template()["Resources"]["ConfigReadPolicy"]["Properties"]["PolicyDocument"]
    return {"Statement": document["Statement"]}


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def resource_name(resource: Any) -> Any:
    """Table / Table/index/* / Table/index/GSI3, or the resource itself."""
    names = {str(TABLE): "Table", str(ALL_INDEXES): "Table/index/*"}
    names[str(OUTBOX_INDEX)] = "Table/index/GSI3"
    names[str(DIRECTION_INDEX)] = "Table/index/GSI1"
    return names.get(str(resource), resource)


def test_the_functions_are_the_ones_this_file_describes() -> None:
    assert sorted(resources_of_type("AWS::Serverless::Function")) == sorted(FUNCTIONS)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_function_has_only_the_table_actions_it_uses(name: str) -> None:
    granted = {
        (action, resource_name(statement["Resource"]))
        for _, statement in statements(name)
        for action in actions(statement)
        if action.startswith("dynamodb:")
    }
    assert granted == TABLE_ACCESS[name]


@pytest.mark.parametrize("name", WEBHOOKS)
def test_internet_facing_webhooks_cannot_scan_delete_or_batch_write(name: str) -> None:
    granted = {action for _, s in statements(name) for action in actions(s)}
    forbidden = {"dynamodb:Scan", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
    assert not granted & forbidden
    assert not any("*" in action for action in granted)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_no_wildcard_actions_and_every_statement_names_its_resource(name: str) -> None:
    for _, statement in statements(name):
        assert statement["Effect"] == "Allow"
        assert all("*" not in action for action in actions(statement))
        assert statement["Resource"] not in ("*", ["*"])


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_function_sends_jobs_only_to_the_job_queue(name: str) -> None:
    sqs = [s for _, s in statements(name) if any(a.startswith("sqs:") for a in actions(s))]
    expected = (
        [] if name in READ_ONLY else [(["sqs:SendMessage"], {"Fn::GetAtt": ["JobQueue", "Arn"]})]
    )
    assert [(actions(s), s["Resource"]) for s in sqs] == expected


def test_only_the_dispatcher_publishes_and_only_to_its_two_topics() -> None:
    for name in FUNCTIONS:
        sns = [s for _, s in statements(name) if any(a.startswith("sns:") for a in actions(s))]
        if name == "DispatcherFunction":
            assert [(actions(s), s["Resource"]) for s in sns] == [
                (["sns:Publish"], {"Ref": "ProblemCallsTopic"}),
                (["sns:Publish"], {"Ref": "BudgetAlertsTopic"}),
            ]
        else:
            assert sns == []


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_function_reads_the_one_config_object_and_nothing_else_in_s3(name: str) -> None:
    s3 = [s for _, s in statements(name) if any(a.startswith("s3:") for a in actions(s))]
    exports = [
        (["s3:AbortMultipartUpload", "s3:PutObject"], {"Fn::Sub": "${ExportBucket.Arn}/exports/*"})
    ]
    mail = [
        (["s3:GetObject"], {"Fn::Sub": "${MailBucket.Arn}/inbound/*"}),
        (["s3:PutObject"], {"Fn::Sub": "${MailBucket.Arn}/attachments/*"}),
    ]
    links = [(["s3:GetObject"], {"Fn::Sub": "${MailBucket.Arn}/attachments/*"})]
    assert [(sorted(actions(s)), s["Resource"]) for s in s3] == [
        (
            ["s3:GetObject", "s3:GetObjectVersion"],
            {"Fn::Sub": "${ConfigBucket.Arn}/${HelpdeskConfigKey}"},
        ),
        (["s3:ListBucket"], {"Fn::GetAtt": ["ConfigBucket", "Arn"]}),
        *(exports if name == "TableExportFunction" else []),  # where DynamoDB writes it
        *(mail if name == "EmailIntakeFunction" else []),  # SES's raw mail, its attachments
        *(links if name == "TicketsFunction" else []),  # download links to the attachments
    ]
    listing = s3[1]["Condition"]
    assert listing == {"StringEquals": {"s3:prefix": {"Ref": "HelpdeskConfigKey"}}}
    variables = environment(name)
    assert variables["HELPDESK_CONFIG_BUCKET"] == {"Ref": "ConfigBucket"}
    assert variables["HELPDESK_CONFIG_KEY"] == {"Ref": "HelpdeskConfigKey"}
    assert variables["HELPDESK_CONFIG_VERSION"] == {"Ref": "HelpdeskConfigVersion"}
    assert "HELPDESK_CONFIG" not in variables


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_function_gets_exactly_its_secrets_as_arns(name: str) -> None:
    variables = environment(name)
    secret_arns = {k: v for k, v in variables.items() if k.endswith("_SECRET_ARN")}
    assert secret_arns == {var: {"Ref": param} for var, param in SECRETS[name].items()}

    conditions = load_template()["Conditions"]
    readable = {}
    for condition, statement in statements(name):
        if "secretsmanager:GetSecretValue" not in actions(statement):
            continue
        assert actions(statement) == ["secretsmanager:GetSecretValue"]
        parameter = statement["Resource"]["Ref"]
        # granted only when the ARN is given, so the policy never names an empty resource
        assert conditions[condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, ""]}]}
        readable[parameter] = condition
    assert set(readable) == set(SECRETS[name].values())


def test_secret_arn_parameters_take_only_secret_arns_or_nothing() -> None:
    parameters = load_template()["Parameters"]
    for param in {p for secrets in SECRETS.values() for p in secrets.values()}:
        spec = parameters[param]
        assert spec["Default"] == ""
        assert spec["AllowedPattern"].startswith("^$|^arn:aws[a-z-]*:secretsmanager:")


@pytest.mark.parametrize("name", FUNCTIONS)
def test_no_secret_value_is_in_any_environment(name: str) -> None:
    parameters = load_template()["Parameters"]
    variables = environment(name)
    assert not set(variables) & SECRET_VALUE_VARIABLES
    for value in variables.values():
        if isinstance(value, dict) and value.get("Ref") in parameters:
            assert not parameters[value["Ref"]].get("NoEcho"), value


def test_no_noecho_parameters_remain() -> None:
    """Secret values never pass through CloudFormation: they live in Secrets Manager."""
    parameters = load_template()["Parameters"]
    assert [name for name, spec in parameters.items() if spec.get("NoEcho")] == []


@pytest.mark.parametrize("name", FUNCTIONS)
def test_the_local_stack_can_resolve_every_environment_value(name: str) -> None:
    """infra/template.py resolve_environment takes plain strings and !Ref, nothing else."""
    for variable, value in environment(name).items():
        assert isinstance(value, str) or set(value) == {"Ref"}, variable


def test_environment_variables_go_only_where_they_are_used() -> None:
    assert set(environment("OutboxSweepFunction")) == set(
        load_template()["Globals"]["Function"]["Environment"]["Variables"]
    )
    assert environment("MessengerWebhookFunction")["TELEGRAM_BOT_ID"] == {"Ref": "TelegramBotId"}
    assert "GROUPS_CLAIM" in environment("TicketsFunction")
    assert environment("TicketsFunction")["EMAIL_BUCKET"] == {"Ref": "MailBucket"}
    assert "PROBLEM_CALLS_TOPIC_ARN" in environment("DispatcherFunction")
    for name in ("TicketsFunction", "MessengerWebhookFunction", "CallWebhookFunction"):
        assert "PROBLEM_CALLS_TOPIC_ARN" not in environment(name)
        assert "TELEGRAM_API_BASE" not in environment(name)


def test_only_the_dispatcher_sends_mail_and_only_from_the_domain() -> None:
    for name in FUNCTIONS:
        ses = [
            (condition, s)
            for condition, s in statements(name)
            if any(a.startswith("ses:") for a in actions(s))
        ]
        if name != "DispatcherFunction":
            assert ses == []
            continue
        ((condition, statement),) = ses
        assert condition == "HasEmailDomain"
        assert sorted(actions(statement)) == ["ses:SendEmail", "ses:SendRawEmail"]
        assert [r["Fn::Sub"].rsplit(":", 1)[-1] for r in statement["Resource"]] == [
            "identity/${EmailDomain}",
            "configuration-set/${MailConfigurationSet}",
        ]
