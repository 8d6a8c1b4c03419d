"""Deployed, HELPDESK_CONFIG is a versioned S3 object and secrets come from Secrets Manager."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from helpdesk.settings import ConfigError, get_settings, load_config


def test_config_is_read_from_a_versioned_s3_object(aws: dict[str, Any]) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="helpdesk-config")
    s3.put_bucket_versioning(
        Bucket="helpdesk-config", VersioningConfiguration={"Status": "Enabled"}
    )
    first = s3.put_object(
        Bucket="helpdesk-config",
        Key="helpdesk-config.json",
        Body=json.dumps({"directions": [{"id": "d0", "name": "Billing"}]}).encode(),
    )
    s3.put_object(
        Bucket="helpdesk-config",
        Key="helpdesk-config.json",
        Body=json.dumps({"directions": [{"id": "d0", "name": "Billing v2"}]}).encode(),
    )
    latest = load_config("s3://helpdesk-config/helpdesk-config.json")
    assert latest.directions[0].name == "Billing v2"
    pinned = load_config(
        f"s3://helpdesk-config/helpdesk-config.json?versionId={first['VersionId']}"
    )
    assert pinned.directions[0].name == "Billing"
    # A bucket without the object yet (the first deploy) means: no configuration.
    assert load_config("s3://helpdesk-config/absent.json").directions == []
    s3.put_object(Bucket="helpdesk-config", Key="bad.json", Body=b'{"directions": [{"id": 7}]}')
    with pytest.raises(ConfigError, match=r"directions\[0\].id"):
        load_config("s3://helpdesk-config/bad.json")


def test_secrets_come_from_secrets_manager_by_arn(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = boto3.client("secretsmanager").create_secret(
        Name="helpdesk/telegram-secret-token", SecretString="from-secrets-manager"
    )["ARN"]
    monkeypatch.delenv("TELEGRAM_SECRET_TOKEN", raising=False)
    monkeypatch.setenv("TELEGRAM_SECRET_TOKEN_SECRET_ARN", arn)
    get_settings.cache_clear()
    assert get_settings().secret("telegram_secret_token") == "from-secrets-manager"
    assert get_settings().secret("whatsapp_app_secret") == ""  # unset: refuse everything
    # Locally a plain variable still wins.
    monkeypatch.setenv("TELEGRAM_SECRET_TOKEN", "plain")
    get_settings.cache_clear()
    assert get_settings().secret("telegram_secret_token") == "plain"


def test_deployed_the_template_names_bucket_key_and_version(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="stack-config")
    s3.put_object(
        Bucket="stack-config",
        Key="helpdesk-config.json",
        Body=json.dumps({"directions": [{"id": "d7"}]}).encode(),
    )
    monkeypatch.setenv("HELPDESK_CONFIG_BUCKET", "stack-config")
    monkeypatch.setenv("HELPDESK_CONFIG_KEY", "helpdesk-config.json")
    monkeypatch.setenv("HELPDESK_CONFIG_VERSION", "")
    get_settings.cache_clear()
    assert get_settings().direction_ids() == ["d7", "d0"]
