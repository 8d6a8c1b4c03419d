"""Publish the built console (console/dist) to a deployed stack's console bucket.

    .venv/bin/python console/publish.py --stack helpdesk-dev      (make console-publish)

Reads the stack's outputs (ConsoleBucketName, ConsoleDistributionId, ConsoleConfig), uploads
the hashed assets first (cached for a year), then config.json and index.html (no-cache), so
a browser never gets an index.html whose assets are not there yet; then asks CloudFront to
forget index.html and config.json. Files of older builds stay (versioned bucket, expired
after 30 days), so a page loaded before the publish keeps working.
"""

from __future__ import annotations

import argparse
import mimetypes
import time
from pathlib import Path
from typing import Any

DIST = Path(__file__).resolve().parent / "dist"
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"


def uploads(dist: Path) -> list[tuple[Path, str, str, str]]:
    """(file, key, content type, cache control), assets before the files that name them."""
    if not (dist / "index.html").is_file():
        raise SystemExit(f"{dist}/index.html is missing: run `make console` first")
    found = []
    for path in sorted(p for p in dist.rglob("*") if p.is_file()):
        key = path.relative_to(dist).as_posix()
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind.endswith(("javascript", "json", "svg+xml")):
            kind += "; charset=utf-8"
        cache = IMMUTABLE if key.startswith("assets/") else NO_CACHE
        found.append((path, key, kind, cache))
    return sorted(found, key=lambda upload: upload[1] == "index.html")


def publish(
    dist: Path,
    bucket: str,
    config_json: str,
    s3: Any,
    cloudfront: Any = None,
    distribution_id: str | None = None,
) -> list[str]:
    """Upload the build and config.json; returns the keys written, in order."""
    written = []
    for path, key, kind, cache in uploads(dist):
        if key == "index.html":
            s3.put_object(
                Bucket=bucket,
                Key="config.json",
                Body=config_json.encode(),
                ContentType="application/json; charset=utf-8",
                CacheControl=NO_CACHE,
            )
            written.append("config.json")
        s3.put_object(
            Bucket=bucket, Key=key, Body=path.read_bytes(), ContentType=kind, CacheControl=cache
        )
        written.append(key)
    if cloudfront is not None and distribution_id:
        cloudfront.create_invalidation(
            DistributionId=distribution_id,
            InvalidationBatch={
                "Paths": {"Quantity": 3, "Items": ["/", "/index.html", "/config.json"]},
                "CallerReference": f"console-{time.time_ns()}",
            },
        )
    return written


def main() -> None:
    import boto3

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stack", required=True, help="the deployed stack's name")
    parser.add_argument("--region", default=None)
    arguments = parser.parse_args()
    session = boto3.Session(region_name=arguments.region)
    stack = session.client("cloudformation").describe_stacks(StackName=arguments.stack)
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Stacks"][0].get("Outputs", [])}
    written = publish(
        DIST,
        outputs["ConsoleBucketName"],
        outputs["ConsoleConfig"],
        session.client("s3"),
        session.client("cloudfront"),
        outputs["ConsoleDistributionId"],
    )
    print(f"Published {len(written)} files; the console is at {outputs['ConsoleUrl']}")


if __name__ == "__main__":
    main()
