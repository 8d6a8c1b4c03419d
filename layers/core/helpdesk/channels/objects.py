"""Where e-mail keeps its raw messages and their attachments: S3 (moto on the local stack,
a dict in unit tests). The intake reads and writes through `Objects`; the tickets API hands
out short-lived download links (`download_url`) to what the intake stored."""

from __future__ import annotations

from functools import cached_property
from typing import Any, Protocol
from urllib.parse import quote

from helpdesk.channels.mailer import aws_client

ATTACHMENTS_PREFIX = "attachments/"  # the intake's copies; the only objects handed out


class Objects(Protocol):
    def get(self, bucket: str, key: str) -> bytes: ...

    def put(self, bucket: str, key: str, data: bytes, content_type: str) -> None: ...

    def download_url(
        self, bucket: str, key: str, file_name: str, content_type: str | None, seconds: int
    ) -> str: ...


class S3Objects:
    def __init__(self, client: Any = None) -> None:
        self._client = client

    @cached_property
    def client(self) -> Any:
        return self._client or aws_client("s3")

    def get(self, bucket: str, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=bucket, Key=key)["Body"].read())

    def put(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)

    def download_url(
        self, bucket: str, key: str, file_name: str, content_type: str | None, seconds: int
    ) -> str:
        """A presigned GET that saves the object under its file name. Signed locally (no
        call to S3): it carries the function's own rights, so the role's s3:GetObject on
        attachments/ is what limits it."""
        params = {
            "Bucket": bucket,
            "Key": key,
            "ResponseContentDisposition": content_disposition(file_name),
        }
        if content_type:
            params["ResponseContentType"] = content_type
        return str(
            self.signer.generate_presigned_url("get_object", Params=params, ExpiresIn=seconds)
        )

    @cached_property
    def signer(self) -> Any:
        """SigV4 and, on AWS, the bucket's regional host: the global host answers a redirect
        (which breaks the signature) for hours after a bucket is made. A local endpoint (the
        local stack's moto) keeps path style."""
        if self._client is not None:
            return self._client
        import boto3
        from botocore.config import Config

        on_aws = str(self.client.meta.endpoint_url).endswith(".amazonaws.com")
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "virtual" if on_aws else "path"},
        )
        return boto3.client("s3", config=config)


def content_disposition(file_name: str) -> str:
    """`attachment` with the name as it came (RFC 6266: an ASCII fallback and UTF-8)."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in file_name
    )
    encoded = quote(file_name, safe="")
    return f"attachment; filename=\"{fallback or 'attachment'}\"; filename*=UTF-8''{encoded}"
