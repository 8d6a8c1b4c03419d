"""Reads `template.yaml` so the local stack and the tests build exactly what AWS would.

Only what running without AWS needs: the table and queues (created from their own
properties), the functions (code folder, handler, environment, timeout), their HttpApi
routes, SQS event sources and schedules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !GetAtt, !Sub ...) as long-form dicts."""


def _tag(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise yaml.constructor.ConstructorError(None, None, f"unexpected node {node!r}")
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


@cache
def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    template: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)
    return template


def resources_of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {
        name: resource
        for name, resource in load_template()["Resources"].items()
        if resource["Type"] == kind
    }


def table_definition(table_name: str) -> dict[str, Any]:
    """create_table arguments from the template's one table."""
    (properties,) = [r["Properties"] for r in resources_of_type("AWS::DynamoDB::Table").values()]
    definition = {
        "TableName": table_name,
        "BillingMode": properties["BillingMode"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
    }
    if "GlobalSecondaryIndexes" in properties:
        definition["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
    return definition


def ttl_attribute() -> str | None:
    (properties,) = [r["Properties"] for r in resources_of_type("AWS::DynamoDB::Table").values()]
    spec = properties.get("TimeToLiveSpecification") or {}
    return spec.get("AttributeName") if spec.get("Enabled") else None


@dataclass
class QueueSpec:
    logical_id: str
    visibility_timeout: int
    dead_letter_logical_id: str | None
    max_receive_count: int | None


def queues() -> list[QueueSpec]:
    """Queues, dead-letter queues first so redrive policies can point at them."""
    specs = []
    for name, resource in resources_of_type("AWS::SQS::Queue").items():
        properties = resource.get("Properties", {})
        redrive = properties.get("RedrivePolicy") or {}
        target = redrive.get("deadLetterTargetArn", {}).get("Fn::GetAtt", [None])[0]
        specs.append(
            QueueSpec(
                name,
                int(properties.get("VisibilityTimeout", 30)),
                target,
                int(redrive["maxReceiveCount"]) if redrive else None,
            )
        )
    return sorted(specs, key=lambda spec: spec.dead_letter_logical_id is not None)


@dataclass
class Route:
    method: str
    path: str  # e.g. /tickets/{ticket_id}
    function: str  # logical id
    authorized: bool

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        pattern = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        found = re.fullmatch(pattern, path)
        return found.groupdict() if found else None


@dataclass
class FunctionSpec:
    logical_id: str
    code_dir: Path
    module: str
    handler: str
    timeout: int
    environment: dict[str, Any]
    routes: list[Route] = field(default_factory=list)
    queue_sources: list[tuple[str, int]] = field(default_factory=list)  # (queue id, batch)
    schedules: list[str] = field(default_factory=list)  # rate(...) expressions


def _default_authorized() -> bool:
    apis = resources_of_type("AWS::Serverless::HttpApi")
    return any(
        (api.get("Properties", {}).get("Auth") or {}).get("DefaultAuthorizer")
        for api in apis.values()
    )


def functions() -> dict[str, FunctionSpec]:
    template = load_template()
    globals_ = template.get("Globals", {}).get("Function", {})
    default_auth = _default_authorized()
    specs = {}
    for name, resource in resources_of_type("AWS::Serverless::Function").items():
        properties = resource["Properties"]
        module, handler = properties["Handler"].rsplit(".", 1)
        environment = {
            **globals_.get("Environment", {}).get("Variables", {}),
            **properties.get("Environment", {}).get("Variables", {}),
        }
        spec = FunctionSpec(
            logical_id=name,
            code_dir=ROOT / properties["CodeUri"],
            module=module,
            handler=handler,
            timeout=int(properties.get("Timeout", globals_.get("Timeout", 3))),
            environment=environment,
        )
        for event in (properties.get("Events") or {}).values():
            event_properties = event.get("Properties", {})
            if event["Type"] == "HttpApi":
                auth = (event_properties.get("Auth") or {}).get("Authorizer")
                spec.routes.append(
                    Route(
                        event_properties["Method"].upper(),
                        event_properties["Path"],
                        name,
                        authorized=default_auth and auth != "NONE",
                    )
                )
            elif event["Type"] == "SQS":
                queue_id = event_properties["Queue"]["Fn::GetAtt"][0]
                spec.queue_sources.append((queue_id, int(event_properties.get("BatchSize", 10))))
            elif event["Type"] in ("Schedule", "ScheduleV2"):
                spec.schedules.append(
                    event_properties.get("Schedule") or event_properties["ScheduleExpression"]
                )
        specs[name] = spec
    return specs


def rate_seconds(expression: str) -> int:
    """Seconds between runs for rate(...) schedules; cron schedules are not run locally."""
    found = re.fullmatch(r"rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)", expression)
    if not found:
        raise ValueError(f"only rate() schedules run locally, not {expression!r}")
    unit = {"minute": 60, "hour": 3600, "day": 86400}[found.group(2).rstrip("s")]
    return int(found.group(1)) * unit


PSEUDO_PARAMETERS = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "helpdesk-local",
    "AWS::NoValue": "",
}
_SUB_NAME = re.compile(r"\$\{([^}!][^}]*)\}")


class Unresolvable(LookupError):
    """A value that names something the local stack does not have (a secret, an output)."""


def resolve_environment(
    variables: dict[str, Any], references: dict[str, str], parameters: dict[str, str]
) -> dict[str, str]:
    """Environment values with intrinsics resolved against local names and parameter values.

    `references` maps logical ids (and `Id.Attribute` for !GetAtt) to local values;
    `parameters` maps parameter names to values. Whatever cannot be resolved locally (a
    Secrets Manager secret, `{{resolve:...}}`, a condition) becomes "", which the core reads
    as unset: the local stack starts, and the feature behind it is off.
    """
    resolved = {}
    for name, value in variables.items():
        try:
            resolved[name] = _resolve(value, references, parameters)
        except Unresolvable:
            resolved[name] = ""
    return resolved


def _resolve(value: Any, references: dict[str, str], parameters: dict[str, str]) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        if "{{resolve:" in value:
            raise Unresolvable(value)
        return value
    if isinstance(value, dict) and len(value) == 1:
        function, argument = next(iter(value.items()))
        if function == "Ref":
            return _lookup(str(argument), references, parameters)
        if function == "Fn::GetAtt":
            target = argument if isinstance(argument, str) else ".".join(map(str, argument))
            return _lookup(target, references, parameters)
        if function == "Fn::Sub":
            text, extra = (argument, {}) if isinstance(argument, str) else argument
            local = {k: _resolve(v, references, parameters) for k, v in extra.items()}
            if "{{resolve:" in text:
                raise Unresolvable(text)

            def substitute(match: re.Match[str]) -> str:
                name = match.group(1)
                return local[name] if name in local else _lookup(name, references, parameters)

            return _SUB_NAME.sub(substitute, text).replace("${!", "${")
        if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            separator, parts = argument
            return str(separator).join(_resolve(part, references, parameters) for part in parts)
    raise Unresolvable(repr(value))


def _lookup(name: str, references: dict[str, str], parameters: dict[str, str]) -> str:
    for source in (references, parameters, PSEUDO_PARAMETERS):
        if name in source:
            return source[name]
    raise Unresolvable(name)


def parameter_defaults() -> dict[str, str]:
    """Each template parameter's Default ("" when it has none), as deploys without overrides get."""
    return {
        name: str(spec.get("Default", ""))
        for name, spec in load_template().get("Parameters", {}).items()
    }
