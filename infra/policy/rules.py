"""Our own policy rules for template.yaml (ids HD001-HD004), as plain functions.

checkov runs them through `checks/helpdesk.py`; the unit tests call them directly on good
and bad templates. Each rule takes the raw template (CloudFormation short tags as long-form
dicts, `infra.template.load_template`) and a resource's logical id, and returns the
problems it finds as sentences (empty: the resource passes).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

Template = dict[str, Any]

# HD004: the routes anyone on the internet may call without a staff token, and who serves
# them (ARCHITECTURE.md, "Contracts others rely on"). A new public route is added here on
# purpose, in the same change that adds it to the template.
PUBLIC_ROUTES: dict[str, str] = {
    "GET /openapi.json": "TicketsFunction",
    "GET /banner": "BroadcastFunction",
    "GET /kb/{direction}/{slug}": "KbFunction",
    "POST /webhooks/telegram": "MessengerWebhookFunction",
    "GET /webhooks/whatsapp": "MessengerWebhookFunction",
    "POST /webhooks/whatsapp": "MessengerWebhookFunction",
    "GET /webhooks/calls/{provider}": "CallWebhookFunction",
    "POST /webhooks/calls/{provider}": "CallWebhookFunction",
    "POST /webhooks/tracker/{provider}": "TrackerWebhookFunction",
}

# HD001: SAM policy templates and managed policies that grant more than a function uses.
BROAD_POLICIES = ("DynamoDBCrudPolicy",)
BROAD_MANAGED_POLICY = re.compile(r"FullAccess$|^AdministratorAccess$|PowerUserAccess$")


def _functions(template: Template) -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in template.get("Resources", {}).items()
        if resource.get("Type") == "AWS::Serverless::Function"
    }


def _properties(resource: dict[str, Any]) -> dict[str, Any]:
    return resource.get("Properties") or {}


# ---- HD001 ------------------------------------------------------------------------------


def broad_policies(template: Template, function: str) -> list[str]:
    """HD001: no DynamoDBCrudPolicy (or a *FullAccess managed policy) on any function."""
    problems = []
    policies = _properties(_functions(template)[function]).get("Policies") or []
    if isinstance(policies, (str, dict)):
        policies = [policies]
    for policy in policies:
        for name in _policy_names(policy):
            if name in BROAD_POLICIES or BROAD_MANAGED_POLICY.search(name):
                problems.append(f"{function} has {name}: grant the actions it uses instead")
    return problems


def _policy_names(policy: Any) -> Iterator[str]:
    if isinstance(policy, str):
        yield policy.rsplit("/", 1)[-1]
    elif isinstance(policy, dict):
        if "Fn::If" in policy:
            for branch in policy["Fn::If"][1:]:
                yield from _policy_names(branch)
        else:
            yield from (key for key in policy if key != "Statement")


# ---- HD002 ------------------------------------------------------------------------------


def secrets_in_environment(template: Template, function: str) -> list[str]:
    """HD002: no environment value of the function (its own or Globals') holds a NoEcho
    parameter, or a Secrets Manager dynamic reference, however deep in an intrinsic."""
    secret_parameters = {
        name for name, spec in template.get("Parameters", {}).items() if spec.get("NoEcho")
    }
    globals_ = template.get("Globals", {}).get("Function", {})
    variables = {
        **((globals_.get("Environment") or {}).get("Variables") or {}),
        **(
            (_properties(_functions(template)[function]).get("Environment") or {}).get("Variables")
            or {}
        ),
    }
    problems = []
    for variable, value in variables.items():
        for found in _secret_references(value, secret_parameters):
            problems.append(f"{function}: {variable} holds {found}")
    return problems


def _secret_references(value: Any, secret_parameters: set[str]) -> Iterator[str]:
    if isinstance(value, str):
        if "{{resolve:secretsmanager:" in value or "{{resolve:ssm-secure:" in value:
            yield "a secret's value (dynamic reference): pass its ARN instead"
    elif isinstance(value, list):
        for item in value:
            yield from _secret_references(item, secret_parameters)
    elif isinstance(value, dict):
        if value.get("Ref") in secret_parameters:
            yield f"the NoEcho parameter {value['Ref']}"
        sub = value.get("Fn::Sub")
        if sub is not None:
            text = sub if isinstance(sub, str) else sub[0]
            for name in re.findall(r"\$\{([^}!.]+)\}", text):
                if name in secret_parameters:
                    yield f"the NoEcho parameter {name}"
        for item in value.values():
            yield from _secret_references(item, secret_parameters)


# ---- HD003 ------------------------------------------------------------------------------


def log_group_with_retention(template: Template, function: str) -> list[str]:
    """HD003: the function logs to a log group of this template that has a retention."""
    resources = template.get("Resources", {})
    properties = _properties(_functions(template)[function])
    target = (properties.get("LoggingConfig") or {}).get("LogGroup")
    groups = {n: r for n, r in resources.items() if r.get("Type") == "AWS::Logs::LogGroup"}
    if isinstance(target, dict) and target.get("Ref") in groups:
        group = target["Ref"]
    else:
        # Lambda's default: /aws/lambda/<function name>, created by the template beforehand
        name = properties.get("FunctionName")
        expected = {
            str({"Fn::Sub": f"/aws/lambda/${{{function}}}"}),
            *(
                [str({"Fn::Sub": f"/aws/lambda/{name['Fn::Sub']}"})]
                if isinstance(name, dict) and _is_sub(name)
                else []
            ),
            *([f"/aws/lambda/{name}"] if isinstance(name, str) else []),
        }
        matching = [
            n for n, r in groups.items() if str(_properties(r).get("LogGroupName")) in expected
        ]
        if not matching:
            return [f"{function} has no log group in the template (LoggingConfig.LogGroup)"]
        group = matching[0]
    if not _properties(groups[group]).get("RetentionInDays"):
        return [f"{function} logs to {group}, which keeps logs forever (no RetentionInDays)"]
    return []


def _is_sub(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str)


# ---- HD004 ------------------------------------------------------------------------------


def public_routes(template: Template, api: str) -> list[str]:
    """HD004: the routes of this HttpApi that need no staff token are exactly PUBLIC_ROUTES,
    each served by the function named there; the API has a default authorizer."""
    auth = _properties(template["Resources"][api]).get("Auth") or {}
    if not auth.get("DefaultAuthorizer"):
        return [f"{api} has no DefaultAuthorizer: every route would be public"]
    found: dict[str, str] = {}
    for function, resource in _functions(template).items():
        for event in (_properties(resource).get("Events") or {}).values():
            event_properties = event.get("Properties") or {}
            if event.get("Type") != "HttpApi" or event_properties.get("ApiId") != {"Ref": api}:
                continue
            if (event_properties.get("Auth") or {}).get("Authorizer") == "NONE":
                route = f"{event_properties['Method'].upper()} {event_properties['Path']}"
                found[route] = function
    problems = [
        f"{route} ({function}) is public but not in the allowed list"
        for route, function in sorted(found.items())
        if PUBLIC_ROUTES.get(route) != function
    ]
    problems += [
        f"{route} should be public (served by {function}) but needs a token or is missing"
        for route, function in sorted(PUBLIC_ROUTES.items())
        if found.get(route) != function
    ]
    return problems


def all_problems(template: Template) -> list[str]:
    """Every rule on every resource it applies to (the unit tests' and a reader's view)."""
    problems = []
    for function in _functions(template):
        problems += broad_policies(template, function)
        problems += secrets_in_environment(template, function)
        problems += log_group_with_retention(template, function)
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") == "AWS::Serverless::HttpApi":
            problems += public_routes(template, name)
    return problems
