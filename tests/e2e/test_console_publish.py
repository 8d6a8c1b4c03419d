"""Publishing the built console to the deployed stack's bucket (console/publish.py), on moto."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from tests.e2e.conftest import ROOT


def publisher() -> Any:
    spec = importlib.util.spec_from_file_location(
        "console_publish", ROOT / "console" / "publish.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_assets_go_first_cached_for_a_year_and_index_last_uncached(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)")
    (tmp_path / "assets" / "index-abc123.css").write_text("body{}")
    (tmp_path / "index.html").write_text("<!doctype html>")
    config = json.dumps({"auth": "oidc", "issuer": "https://issuer.example", "client_id": "c"})

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="console")
        written = publisher().publish(tmp_path, "console", config, s3)

        assert written[-2:] == ["config.json", "index.html"]
        assert set(written[:-2]) == {"assets/index-abc123.js", "assets/index-abc123.css"}
        script = s3.get_object(Bucket="console", Key="assets/index-abc123.js")
        assert script["CacheControl"] == "public, max-age=31536000, immutable"
        assert script["ContentType"].startswith("text/javascript")
        page = s3.get_object(Bucket="console", Key="index.html")
        assert page["CacheControl"] == "no-cache" and page["ContentType"].startswith("text/html")
        stored = s3.get_object(Bucket="console", Key="config.json")["Body"].read()
        assert json.loads(stored)["auth"] == "oidc"
