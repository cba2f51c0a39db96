"""Read template.yaml the way SAM does, for the local stack and `lepton invoke`.

Only what running functions locally needs: each function's handler, code and layer folders,
environment (Globals merged, intrinsics resolved against local names), HTTP API routes with the
authorizer each one gets, and the JWT authorizers' settings. Parameters take their defaults
unless overridden (`lepton up --inference-auth`), and conditions (Fn::If) are evaluated as
AWS::LanguageExtensions evaluates them before SAM reads the template.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cfn_yaml import load_cfn


#: A route's authorizer when nothing protects it; AWS_IAM is API Gateway's built-in IAM one.
OPEN = "NONE"
IAM = "AWS_IAM"
_NO_VALUE = object()  # !Ref AWS::NoValue: the key it is the value of is left out


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str
    auth: str = OPEN  # NONE, AWS_IAM or the name of one of the API's authorizers


@dataclass(frozen=True)
class JwtAuthorizer:
    """An HTTP API JWT authorizer's settings, as the template gives them."""

    name: str
    issuer: str
    audience: tuple[str, ...]
    identity_source: str = "$request.header.Authorization"


@dataclass
class FunctionSpec:
    logical_id: str
    handler: str
    code_uri: Path
    layers: list[Path]
    environment: dict[str, str]
    routes: list[Route] = field(default_factory=list)
    memory_mb: int = 128
    timeout_s: int = 3
    properties: dict[str, Any] = field(default_factory=dict)
    architectures: tuple[str, ...] = ("x86_64",)  # Lambda's default when a function names none

    @property
    def model_name(self) -> str:
        return self.environment.get("LEPTON_MODEL_NAME", "")


class Template:
    def __init__(self, path: str | Path, names: dict[str, str] | None = None,
                 parameters: Mapping[str, str] | None = None):
        """`names` maps logical ids to the physical names they resolve to (bucket name, ...);
        `parameters` overrides parameters' defaults, as `sam deploy --parameter-overrides` does."""
        self.path = Path(path).resolve()
        self.root = self.path.parent
        self.doc = load_cfn(self.path.read_text())
        self.names = dict(names or {})
        self.resources: dict[str, dict[str, Any]] = self.doc.get("Resources", {})
        declared = self.doc.get("Parameters", {})
        unknown = sorted(set(parameters or {}) - set(declared))
        if unknown:
            raise ValueError(f"template.yaml declares no parameter {', '.join(unknown)}")
        self.parameters = {k: v.get("Default", "") for k, v in declared.items()}
        self.parameters.update({k: str(v) for k, v in (parameters or {}).items()})
        for name, value in self.parameters.items():
            allowed = [str(a) for a in declared.get(name, {}).get("AllowedValues", [])]
            if allowed and str(value) not in allowed:
                raise ValueError(f"parameter {name} must be one of {', '.join(allowed)}, not '{value}'")
        self._conditions: dict[str, bool] = {}

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v.get("Type") == kind}

    def functions(self) -> dict[str, FunctionSpec]:
        globals_ = self.doc.get("Globals", {}).get("Function", {})
        specs: dict[str, FunctionSpec] = {}
        for logical_id, resource in self.of_type("AWS::Serverless::Function").items():
            props = {**globals_, **resource.get("Properties", {})}
            env = {
                **globals_.get("Environment", {}).get("Variables", {}),
                **resource.get("Properties", {}).get("Environment", {}).get("Variables", {}),
            }
            spec = FunctionSpec(
                logical_id=logical_id,
                handler=props["Handler"],
                code_uri=(self.root / props["CodeUri"]).resolve(),
                layers=[self.layer_path(ref) for ref in props.get("Layers", [])],
                environment={k: self.resolve(v) for k, v in self.evaluate(env).items()},
                memory_mb=int(self.resolve(props.get("MemorySize", 128))),  # a number or !Ref <parameter>
                timeout_s=int(self.resolve(props.get("Timeout", 3))),
                properties=props,
                architectures=tuple(self.resolve(a) for a in props.get("Architectures") or ["x86_64"]),
            )
            spec.routes = self._routes(logical_id, props.get("Events", {}))
            specs[logical_id] = spec
        return specs

    def routes(self) -> list[Route]:
        return [r for spec in self.functions().values() for r in spec.routes]

    def jwt_authorizers(self) -> dict[str, JwtAuthorizer]:
        """Every HTTP API's JWT authorizers, by name, with the parameters in force."""
        found = {}
        for api in self.of_type("AWS::Serverless::HttpApi").values():
            auth = self.evaluate((api.get("Properties") or {}).get("Auth") or {})
            for name, spec in (auth.get("Authorizers") or {}).items():
                jwt = spec.get("JwtConfiguration")
                if jwt:
                    audience = jwt.get("audience") or []
                    audience = audience.split(",") if isinstance(audience, str) else audience
                    found[name] = JwtAuthorizer(name, str(self.resolve(jwt.get("issuer", ""))),
                                                tuple(str(a) for a in audience if str(a)),
                                                str(spec.get("IdentitySource", "$request.header.Authorization")))
        return found

    # -- conditions, as AWS::LanguageExtensions resolves them -----------------------------------
    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            expression = self.doc.get("Conditions", {}).get(name)
            if expression is None:
                raise ValueError(f"template.yaml declares no condition {name}")
            self._conditions[name] = self._truth(expression)
        return self._conditions[name]

    def _truth(self, expression: Any) -> bool:
        (function, args), = expression.items()
        if function == "Fn::Equals":
            left, right = (self.evaluate(a) for a in args)
            return _flat(left) == _flat(right)
        if function == "Fn::Not":
            return not self._truth(args[0])
        if function == "Fn::And":
            return all(self._truth(a) for a in args)
        if function == "Fn::Or":
            return any(self._truth(a) for a in args)
        if function == "Condition":
            return self.condition(args)
        raise ValueError(f"condition function {function} is not supported locally")

    def evaluate(self, value: Any) -> Any:
        """``value`` with every Fn::If decided, AWS::NoValue left out and parameters' !Ref
        replaced; other intrinsics are left for `resolve`."""
        if isinstance(value, list):
            return [v for v in (self.evaluate(v) for v in value) if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if "Fn::If" in value:
            name, when_true, when_false = value["Fn::If"]
            return self.evaluate(when_true if self.condition(name) else when_false)
        if value.get("Ref") == "AWS::NoValue":
            return _NO_VALUE
        if value.get("Ref") in self.parameters:
            return self.parameters[value["Ref"]]
        out = {}
        for key, item in value.items():
            item = self.evaluate(item)
            if item is not _NO_VALUE:
                out[key] = item
        return out

    def layer_path(self, ref: Any) -> Path:
        logical_id = ref["Ref"] if isinstance(ref, dict) else str(ref)
        layer = self.resources[logical_id]["Properties"]
        return (self.root / layer["ContentUri"]).resolve()

    def text(self, value: Any) -> str:
        """A property's value as the deployed stack would have it (conditions and parameters applied)."""
        return self.resolve(self.evaluate(value))

    def resolve(self, value: Any) -> str:
        """Resolve the intrinsics an environment variable may use against local names."""
        if isinstance(value, dict):
            if "Ref" in value:
                ref = value["Ref"]
                if ref in self.names:
                    return self.names[ref]
                if ref in self.parameters:
                    return str(self.parameters[ref])
                return ref
            if "Fn::Sub" in value:
                text = value["Fn::Sub"]
                if isinstance(text, list):
                    text, extra = text[0], {k: self.resolve(v) for k, v in text[1].items()}
                else:
                    extra = {}
                for key, val in {**{k: str(v) for k, v in self.parameters.items()}, **self.names, **extra}.items():
                    text = text.replace("${" + key + "}", val)
                return text
            if "Fn::GetAtt" in value:
                return self.names.get(".".join(value["Fn::GetAtt"]), ".".join(value["Fn::GetAtt"]))
            if "Fn::Select" in value:  # e.g. a stack-unique suffix cut out of AWS::StackId
                index, items = value["Fn::Select"]
                listed = self._list(items)
                return listed[int(index)] if 0 <= int(index) < len(listed) else ""
            if "Fn::ToJsonString" in value:  # AWS::LanguageExtensions: compact JSON, as CloudFormation writes it
                return json.dumps(self._resolve_tree(value["Fn::ToJsonString"]), separators=(",", ":"))
        return "" if value is None else str(value)

    def _list(self, value: Any) -> list[str]:
        if isinstance(value, dict) and "Fn::Split" in value:
            delimiter, source = value["Fn::Split"]
            return self.resolve(source).split(delimiter)
        return [self.resolve(v) for v in value] if isinstance(value, list) else [self.resolve(value)]

    def _resolve_tree(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self._resolve_tree(v) for v in value]
        if isinstance(value, dict) and not any(k == "Ref" or k.startswith("Fn::") for k in value):
            return {k: self._resolve_tree(v) for k, v in value.items()}
        return self.resolve(value) if isinstance(value, dict) else value

    def _routes(self, logical_id: str, events: dict[str, Any]) -> list[Route]:
        routes = []
        for event in events.values():
            if event.get("Type") != "HttpApi":
                continue
            props = self.evaluate(event.get("Properties", {}))
            # A route's own Authorizer, else its API's DefaultAuthorizer (SAM's rule).
            auth = (props.get("Auth") or {}).get("Authorizer") or self._default_authorizer(props.get("ApiId"))
            routes.append(Route(str(props.get("Method", "ANY")).upper(), props.get("Path", "/"), logical_id, auth))
        return routes

    def _default_authorizer(self, api: Any) -> str:
        logical_id = api.get("Ref") if isinstance(api, dict) else None
        resource = self.resources.get(logical_id or "", {})
        auth = self.evaluate((resource.get("Properties") or {}).get("Auth") or {})
        return str(auth.get("DefaultAuthorizer") or OPEN)


def _flat(value: Any) -> Any:
    """A CommaDelimitedList parameter compares as its text."""
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)
