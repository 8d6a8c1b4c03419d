"""Operations in template.yaml: logs, alarms, throttling, concurrency, encryption, config."""

from __future__ import annotations

from typing import Any

import pytest

from infra.template import ROOT, functions, load_template, resources_of_type

FUNCTIONS = sorted(resources_of_type("AWS::Serverless::Function"))
WEBHOOKS = ["MessengerWebhookFunction", "CallWebhookFunction", "TrackerWebhookFunction"]


def resource(name: str) -> dict[str, Any]:
    return load_template()["Resources"][name]


def properties(name: str) -> dict[str, Any]:
    return resource(name)["Properties"]


def alarms() -> dict[str, dict[str, Any]]:
    return {
        name: r["Properties"] for name, r in resources_of_type("AWS::CloudWatch::Alarm").items()
    }


def parameter_default(name: str) -> Any:
    return load_template()["Parameters"][name]["Default"]


def limits(settings: dict[str, Any]) -> tuple[float, float]:
    """(burst, rate) with parameters at their defaults."""

    def value(v: Any) -> float:
        return float(parameter_default(v["Ref"]) if isinstance(v, dict) else v)

    return value(settings["ThrottlingBurstLimit"]), value(settings["ThrottlingRateLimit"])


# ---- logs -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_function_logs_to_its_own_group_with_retention(name: str) -> None:
    function = properties(name)
    group_id = function["LoggingConfig"]["LogGroup"]["Ref"]
    group = resource(group_id)
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    # /aws/lambda/<function name>: where Lambda, the console and `sam logs` look
    function_name = function["FunctionName"]["Fn::Sub"]
    assert group["Properties"]["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/{function_name}"}


def test_log_retention_has_a_default_and_takes_only_values_cloudwatch_accepts() -> None:
    spec = load_template()["Parameters"]["LogRetentionDays"]
    assert spec["Default"] == 30
    assert spec["Default"] in spec["AllowedValues"]


def test_api_access_logs_go_to_a_group_with_retention_and_carry_no_query_string() -> None:
    settings = properties("HttpApi")["AccessLogSettings"]
    group = settings["DestinationArn"]["Fn::GetAtt"][0]
    assert properties(group)["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    # Meta's GET challenge carries the verify token in the query string
    assert "$context.path" not in settings["Format"]
    assert "querystring" not in settings["Format"].lower()


# ---- alarms -----------------------------------------------------------------------------


def test_every_alarm_notifies_the_alarm_topic() -> None:
    for name, alarm in alarms().items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert alarm["TreatMissingData"] == "notBreaching", name


def test_alarms_have_the_names_docs_operations_md_uses() -> None:
    names = {
        alarm["AlarmName"]["Fn::Sub"].removeprefix("${AWS::StackName}-")
        for alarm in alarms().values()
    }
    runbook = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for name in names:
        assert f"`<stack>-{name}`" in runbook, name


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_function_has_an_errors_and_a_throttles_alarm(name: str, metric: str) -> None:
    matching = [
        alarm
        for alarm in alarms().values()
        if alarm["Namespace"] == "AWS/Lambda"
        and alarm["MetricName"] == metric
        and alarm["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": name}}]
    ]
    assert len(matching) == 1
    assert matching[0]["Threshold"] == 0
    assert matching[0]["ComparisonOperator"] == "GreaterThanThreshold"


def test_api_5xx_alarm() -> None:
    (alarm,) = [a for a in alarms().values() if a["Namespace"] == "AWS/ApiGateway"]
    assert alarm["MetricName"] == "5xx"
    assert alarm["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": "HttpApi"}}]


def test_queue_age_and_dead_letter_alarms() -> None:
    by_metric = {
        (a["MetricName"], a["Dimensions"][0]["Value"]["Fn::GetAtt"][0]): a
        for a in alarms().values()
        if a["Namespace"] == "AWS/SQS"
    }
    age = by_metric[("ApproximateAgeOfOldestMessage", "JobQueue")]
    assert age["Threshold"] >= 900  # longer than the longest rate-limit delay
    assert by_metric[("ApproximateNumberOfMessagesVisible", "JobDeadLetterQueue")]["Threshold"] == 0


def test_stuck_messages_alarm_matches_what_powertools_emits() -> None:
    environment = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    (alarm,) = [a for a in alarms().values() if a["MetricName"] == "MessagesStuck"]
    assert alarm["Namespace"] == environment["POWERTOOLS_METRICS_NAMESPACE"]
    assert alarm["Dimensions"] == [
        {"Name": "service", "Value": environment["POWERTOOLS_SERVICE_NAME"]}
    ]
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["Threshold"]) == (300, 2, 0)


def test_alarms_reach_someone_in_prod() -> None:
    rule = load_template()["Rules"]["ProdAlarmsReachSomeone"]
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    assert rule["Assertions"][0]["Assert"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]
    }
    assert properties("AlarmSubscription")["Endpoint"] == {"Ref": "AlarmEmail"}
    assert "AlarmNotifications" in load_template()["Outputs"]


# ---- encryption -------------------------------------------------------------------------


def test_topics_are_encrypted_and_cloudwatch_can_use_the_alarm_topic_key() -> None:
    assert properties("ProblemCallsTopic")["KmsMasterKeyId"] == "alias/aws/sns"
    assert properties("BudgetAlertsTopic")["KmsMasterKeyId"] == "alias/aws/sns"
    key_id = properties("AlarmTopic")["KmsMasterKeyId"]["Ref"]
    key = properties(key_id)
    assert key["EnableKeyRotation"] is True
    granted = {
        action
        for statement in key["KeyPolicy"]["Statement"]
        if statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        for action in statement["Action"]
    }
    assert granted == {"kms:Decrypt", "kms:GenerateDataKey*"}


def test_queues_are_encrypted() -> None:
    for queue in resources_of_type("AWS::SQS::Queue").values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True


def test_config_bucket_is_private_encrypted_versioned_and_tls_only() -> None:
    bucket = properties("ConfigBucket")
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    (statement,) = properties("ConfigBucketPolicy")["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert parameter_default("HelpdeskConfigKey") == "helpdesk-config.json"


# ---- throttling and concurrency ---------------------------------------------------------


def test_every_route_is_throttled_and_public_routes_more_tightly() -> None:
    api = properties("HttpApi")
    default_burst, default_rate = limits(api["DefaultRouteSettings"])
    assert default_burst > 0 and default_rate > 0
    routes = [route for spec in functions().values() for route in spec.routes]
    public = {route.route_key for route in routes if not route.authorized}
    assert set(api["RouteSettings"]) == public
    for route_key, settings in api["RouteSettings"].items():
        burst, rate = limits(settings)
        assert 0 < burst < default_burst and 0 < rate < default_rate, route_key


def test_webhook_reserved_concurrency_is_off_by_default_so_a_new_account_can_deploy() -> None:
    # A new account may have 10 concurrent executions, and Lambda keeps 10 unreserved.
    assert parameter_default("WebhookReservedConcurrency") == 0
    condition = load_template()["Conditions"]["HasWebhookReservedConcurrency"]
    assert condition == {"Fn::Not": [{"Fn::Equals": [{"Ref": "WebhookReservedConcurrency"}, "0"]}]}
    for name in FUNCTIONS:
        reserved = properties(name).get("ReservedConcurrentExecutions")
        if name in WEBHOOKS:
            assert reserved == {
                "Fn::If": [
                    "HasWebhookReservedConcurrency",
                    {"Ref": "WebhookReservedConcurrency"},
                    {"Ref": "AWS::NoValue"},
                ]
            }
        else:
            assert reserved is None, name
