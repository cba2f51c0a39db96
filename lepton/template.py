"""Read template.yaml the way SAM does, for the local stack and `lepton invoke`.

Only what running functions locally needs: each function's handler, code and layer folders,
environment (Globals merged, intrinsics resolved against local names) and HTTP API routes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (!Ref, !Sub, !GetAtt, ...)."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str
    auth: str = "NONE"


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

    @property
    def model_name(self) -> str:
        return self.environment.get("LEPTON_MODEL_NAME", "")


class Template:
    def __init__(self, path: str | Path, names: dict[str, str] | None = None):
        """`names` maps logical ids to the physical names they resolve to (bucket name, ...)."""
        self.path = Path(path).resolve()
        self.root = self.path.parent
        self.doc = yaml.load(self.path.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
        self.names = dict(names or {})
        self.resources: dict[str, dict[str, Any]] = self.doc.get("Resources", {})
        self.parameters = {k: v.get("Default", "") for k, v in self.doc.get("Parameters", {}).items()}

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
                environment={k: self.resolve(v) for k, v in env.items()},
                memory_mb=int(self.resolve(props.get("MemorySize", 128))),  # a number or !Ref <parameter>
                timeout_s=int(self.resolve(props.get("Timeout", 3))),
                properties=props,
            )
            spec.routes = self._routes(logical_id, props.get("Events", {}))
            specs[logical_id] = spec
        return specs

    def routes(self) -> list[Route]:
        return [r for spec in self.functions().values() for r in spec.routes]

    def layer_path(self, ref: Any) -> Path:
        logical_id = ref["Ref"] if isinstance(ref, dict) else str(ref)
        layer = self.resources[logical_id]["Properties"]
        return (self.root / layer["ContentUri"]).resolve()

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
            if "Fn::ToJsonString" in value:  # AWS::LanguageExtensions: compact JSON, as CloudFormation writes it
                return json.dumps(self._resolve_tree(value["Fn::ToJsonString"]), separators=(",", ":"))
        return "" if value is None else str(value)

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
            props = event.get("Properties", {})
            auth = props.get("Auth", {}).get("Authorizer", "NONE")
            routes.append(Route(str(props.get("Method", "ANY")).upper(), props.get("Path", "/"), logical_id, auth))
        return routes
