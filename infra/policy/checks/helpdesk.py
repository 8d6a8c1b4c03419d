"""Our rules (infra/policy/rules.py) as checkov checks CKV_HD_1..CKV_HD_4.

checkov hands a check one resource, with parameters already replaced by their defaults;
our rules need the template as written (which parameter is NoEcho, which log group a
function names), so each check reads the file the resource came from.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from checkov.cloudformation.checks.resource.base_resource_check import BaseResourceCheck
from checkov.common.models.enums import CheckCategories, CheckResult

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from infra.policy import rules  # noqa: E402
from infra.template import load_template  # noqa: E402

GUIDELINE = "infra/policy/README.md"


class TemplateRule(BaseResourceCheck):
    rule: Any = None

    def __init__(self, id: str, name: str, resources: list[str], category: CheckCategories):
        super().__init__(
            name=name,
            id=id,
            categories=[category],
            supported_resources=resources,
            guideline=GUIDELINE,
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        source = conf.get("__file__") or (conf.get("Properties") or {}).get("__file__")
        if not source or not str(source).endswith((".yaml", ".yml")):
            return CheckResult.UNKNOWN
        logical_id = self.entity_path.rsplit(":", 1)[-1]
        problems = type(self).rule(load_template(Path(source)), logical_id)
        self.details = problems
        return CheckResult.FAILED if problems else CheckResult.PASSED


class NoBroadPolicies(TemplateRule):
    rule = staticmethod(rules.broad_policies)


class NoSecretsInEnvironment(TemplateRule):
    rule = staticmethod(rules.secrets_in_environment)


class LogGroupWithRetention(TemplateRule):
    rule = staticmethod(rules.log_group_with_retention)


class PublicRoutesAreTheAllowedOnes(TemplateRule):
    rule = staticmethod(rules.public_routes)


FUNCTION = ["AWS::Serverless::Function"]
NoBroadPolicies(
    "CKV_HD_1",
    "HD001 No DynamoDBCrudPolicy or *FullAccess on a function",
    FUNCTION,
    CheckCategories.IAM,
)
NoSecretsInEnvironment(
    "CKV_HD_2",
    "HD002 No NoEcho parameter or secret value in a function's environment",
    FUNCTION,
    CheckCategories.SECRETS,
)
LogGroupWithRetention(
    "CKV_HD_3",
    "HD003 Every function logs to a log group with retention",
    FUNCTION,
    CheckCategories.LOGGING,
)
PublicRoutesAreTheAllowedOnes(
    "CKV_HD_4",
    "HD004 Public routes are exactly the allowed list",
    ["AWS::Serverless::HttpApi"],
    CheckCategories.NETWORKING,
)
