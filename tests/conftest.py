"""Shared fixtures. Fake credentials everywhere: a forgotten mock can never reach AWS."""

from __future__ import annotations

import os
import re

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_METRICS_NAMESPACE": "HelpdeskTests",
        "POWERTOOLS_SERVICE_NAME": "helpdesk",
        "POWERTOOLS_DEV": "0",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
# moto compiles its condition-expression patterns again and again once its URL patterns have
# crowded them out of re's 512-entry cache; a larger cache about halves the moto suites' time.
re._MAXCACHE = 4096  # type: ignore[attr-defined]
os.environ.pop("AWS_PROFILE", None)
