"""template.yaml as CloudFormation deploys it (the SAM transform, offline), as JSON.

checkov reads SAM's own resource types only in part: the roles, permissions and stage that
SAM generates (where least privilege is decided) are checked on this output.
Usage: python -m infra.policy.transform template.yaml > transformed.json
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

PSEUDO_PARAMETERS = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
}


class _NoIamLookups:
    """SAM's bundled managed-policy map covers the policies we name; never call IAM."""

    def load(self) -> dict[str, str]:
        return {}


def transformed(path: Path) -> dict[str, Any]:
    os.environ.setdefault("AWS_DEFAULT_REGION", PSEUDO_PARAMETERS["AWS::Region"])
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    template = yaml_parse(path.read_text(encoding="utf-8"))
    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):  # local folders: sam build uploads them
                properties[key] = "s3://bucket/key"
    return transform(template, dict(PSEUDO_PARAMETERS), _NoIamLookups())


if __name__ == "__main__":
    json.dump(transformed(Path(sys.argv[1])), sys.stdout, indent=1, default=str)
