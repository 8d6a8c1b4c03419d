"""The table's daily export to S3, which the Glue table over `exports/day=.../` reads."""

from __future__ import annotations

import gzip
import json
from datetime import date
from typing import Any

import boto3
import pytest

from helpdesk.settings import get_settings
from helpdesk.usecases.exports import export_prefix
from infra.lambda_runtime import ACCOUNT, REGION, LambdaContext, load_function, scheduled_event
from infra.template import functions, load_template
from tests.integration.conftest import TABLE, Api, claims


def export_now(monkeypatch: pytest.MonkeyPatch, bucket: str | None) -> dict[str, Any]:
    if bucket:
        monkeypatch.setenv("EXPORT_BUCKET", bucket)
    monkeypatch.setenv("HELPDESK_NOW", "2026-11-26T03:30:00Z")
    get_settings.cache_clear()
    spec = functions()["TableExportFunction"]
    handler = load_function(spec).lambda_handler
    result: dict[str, Any] = handler(scheduled_event("export"), LambdaContext(spec.logical_id))
    return result


def test_the_daily_export_puts_every_item_under_its_day_in_dynamodb_json(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="helpdesk-exports")
    aws["dynamodb"].update_continuous_backups(  # the template turns it on; the export needs it
        TableName=TABLE,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )
    agent = Api("TicketsFunction", claims("agent"))
    body = {"direction": "d0", "subject": "Не приходит счёт", "text": "Где счёт?"}
    assert agent.call("POST", "/tickets", body)[0] == 201

    result = export_now(monkeypatch, "helpdesk-exports")

    assert result["prefix"] == "exports/day=2026-11-26"
    export = aws["dynamodb"].describe_export(ExportArn=result["export_arn"])["ExportDescription"]
    assert export["TableArn"] == f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE}"
    assert (export["S3Bucket"], export["S3Prefix"]) == ("helpdesk-exports", result["prefix"])
    listed = s3.list_objects_v2(Bucket="helpdesk-exports", Prefix="exports/day=2026-11-26/")
    rows = []
    for entry in listed["Contents"]:
        raw = s3.get_object(Bucket="helpdesk-exports", Key=entry["Key"])["Body"].read()
        text = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
        rows += [json.loads(line) for line in text.decode().splitlines() if line.strip()]
    tickets = [row["Item"] for row in rows if row["Item"].get("type") == {"S": "ticket"}]
    # what the Glue table's columns expect: Item, each attribute typed ({"S": ...})
    assert [t["id"] for t in tickets] == [{"S": "D0-000001"}]
    assert tickets[0]["direction"] == {"S": "d0"} and "S" in tickets[0]["created_at"]


def test_the_glue_table_reads_the_days_the_export_writes() -> None:
    resources = load_template()["Resources"]
    table = resources["TableExportGlueTable"]["Properties"]["TableInput"]
    template = table["Parameters"]["storage.location.template"]["Fn::Sub"]
    day = template.replace("${!day}", "2026-11-26")
    assert day == f"s3://${{ExportBucket}}/{export_prefix(date(2026, 11, 26))}/"
    columns = table["StorageDescriptor"]["Columns"][0]["Type"].replace(" ", "").replace("\n", "")
    for attribute in ("direction", "status", "category", "created_at", "first_response_at"):
        assert f"{attribute}:struct<s:string>" in columns


def test_without_an_export_bucket_nothing_is_started(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EXPORT_BUCKET", raising=False)
    assert "skipped" in export_now(monkeypatch, None)
