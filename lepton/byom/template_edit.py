"""Add a model function to template.yaml, or take one out, with a round-trip YAML editor.

ruamel.yaml keeps every comment, quote, flow mapping and blank line of the file, so the only
bytes that change are the model's own: its function (routes, least-privilege policy; the
`live` alias, reserved concurrency and the routes' InferenceAuth come from Globals and the
API's default authorizer), its log group, its capture stream and the subscription filter that
feeds it, its memory parameter, its entry in every LEPTON_FUNCTIONS map (the deployer's and the
control API's) and its ARNs in every IAM statement that lists the model functions
(MoveModelFunctions, MoveLiveAliases, PreTrafficCalls, ReplayCalls) or their capture streams
(ModelCaptureStreams). Removing a model takes out exactly those, so add-then-remove gives back
the file byte for byte.
"""
from __future__ import annotations

import copy
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken

from lepton_serving.capture import FILTER_PATTERN

FUNCTION_TYPE = "AWS::Serverless::Function"
STATE_MACHINE_TYPE = "AWS::Serverless::StateMachine"
FUNCTIONS_ENV = "LEPTON_FUNCTIONS"


@dataclass(frozen=True)
class ModelFunction:
    """What `lepton add` puts in the template for one model."""

    name: str  # the model: URL segment, S3 prefix, LEPTON_MODEL_NAME
    logical_id: str  # ChurnFunction
    package: str  # churn (functions/churn/churn/handler.py)
    memory_parameter: str  # ChurnMemory
    memory_mb: int = 1024

    @property
    def code_uri(self) -> str:
        return f"functions/{self.name}/"

    @property
    def log_group(self) -> str:
        return log_group_id(self.logical_id)

    @property
    def capture_stream(self) -> str:
        return capture_stream_id(self.logical_id)

    @property
    def capture_filter(self) -> str:
        return capture_filter_id(self.logical_id)

    def routes(self) -> list[tuple[str, str, str]]:
        """(event name, method, path): V2 and friendly, the same shape as every model function's."""
        base = f"/v2/models/{self.name}"
        return [
            ("Metadata", "GET", base),
            ("Ready", "GET", f"{base}/ready"),
            ("Infer", "POST", f"{base}/infer"),
            ("VersionMetadata", "GET", f"{base}/versions/{{version}}"),
            ("VersionReady", "GET", f"{base}/versions/{{version}}/ready"),
            ("VersionInfer", "POST", f"{base}/versions/{{version}}/infer"),
            ("Predict", "POST", f"/models/{self.name}/predict"),
        ]


def round_trip() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long line
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


class TemplateFile:
    """template.yaml, loaded for editing; `text()` is the file as it would be written."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.yaml = round_trip()
        self.doc = self.yaml.load(self.path.read_text(encoding="utf-8"))
        self.resources: CommentedMap = self.doc["Resources"]

    # -- reading -------------------------------------------------------------------------------
    def functions(self) -> dict[str, CommentedMap]:
        return {lid: r for lid, r in self.resources.items() if r.get("Type") == FUNCTION_TYPE}

    def model_functions(self) -> dict[str, str]:
        """Logical id -> model name, for every function with a LEPTON_MODEL_NAME."""
        found = {}
        for lid, resource in self.functions().items():
            name = _variables(resource).get("LEPTON_MODEL_NAME")
            if name:
                found[lid] = str(name)
        return found

    def routes(self) -> set[tuple[str, str]]:
        out = set()
        for resource in self.functions().values():
            for event in (resource["Properties"].get("Events") or {}).values():
                if event.get("Type") == "HttpApi":
                    props = event.get("Properties") or {}
                    out.add((str(props.get("Method", "ANY")).upper(), str(props.get("Path", "/"))))
        return out

    def parameters(self) -> CommentedMap:
        return self.doc["Parameters"]

    def env_value(self, logical_id: str, variable: str, default: str = "") -> str:
        value = _variables(self.resources[logical_id]).get(variable, default)
        return str(value)

    # -- editing -------------------------------------------------------------------------------
    def add_model(self, fn: ModelFunction, description: str, tokenizers: bool = False) -> None:
        """``tokenizers``: the function also gets the TokenizersLayer (a model served from text with its tokenizer.json)."""
        models = self.model_functions()
        after = self._after(list(models)[-1]) if models else len(self.resources)
        # checkov's suppressions (their reasons) as the other model functions and log groups have them
        first = next(iter(models), None)
        self.resources.insert(after, fn.logical_id, _function(fn, description, self._metadata(first), tokenizers))
        _blank_line_before(self.resources, fn.logical_id)
        self.resources.insert(after + 1, fn.capture_stream, _capture_stream(fn))
        _blank_line_before(self.resources, fn.capture_stream)
        self.resources.insert(after + 2, fn.capture_filter, _capture_filter(fn))
        _blank_line_before(self.resources, fn.capture_filter)
        self.resources.insert(after + 3, fn.log_group,
                              _log_group(fn, self._metadata(first and log_group_id(first))))
        _blank_line_before(self.resources, fn.log_group)
        # Before the last parameter, never after it: a block value that ends the section would
        # take the blank line below it, and removing the model would then take that line too.
        parameters = self.parameters()
        parameters.insert(max(0, len(parameters) - 1), fn.memory_parameter, _memory_parameter(fn))
        for mapping in self._function_maps():
            mapping.insert(len(mapping), fn.name, _tag("!Ref", fn.logical_id))
        for resources in self._model_arn_lists(models):
            # The same forms the list has: the function and its versions, or its versions only.
            if any(isinstance(r, TaggedScalar) and r.tag.value == "!GetAtt" for r in resources):
                resources.append(_tag("!GetAtt", f"{fn.logical_id}.Arn"))
            resources.append(_tag("!Sub", DoubleQuotedScalarString(f"${{{fn.logical_id}.Arn}}:*")))
        for resources in self._capture_stream_lists(models):
            resources.append(_tag("!GetAtt", f"{fn.capture_stream}.Arn"))

    def remove_model(self, logical_id: str, name: str, memory_parameter: str) -> None:
        arns = {f"{logical_id}.Arn", f"${{{logical_id}.Arn}}:*"}
        for resources in self._model_arn_lists({logical_id: name}):
            for item in [i for i in resources if isinstance(i, TaggedScalar) and i.value in arns]:
                resources.remove(item)
        stream = f"{capture_stream_id(logical_id)}.Arn"
        for resources in self._capture_stream_lists({logical_id: name}):
            for item in [i for i in resources if isinstance(i, TaggedScalar) and i.value == stream]:
                resources.remove(item)
        for mapping in self._function_maps():
            value = mapping.get(name)
            if isinstance(value, TaggedScalar) and value.value == logical_id:
                del mapping[name]
        self.parameters().pop(memory_parameter, None)
        for companion in companions(logical_id):
            self.resources.pop(companion, None)
        del self.resources[logical_id]

    def text(self) -> str:
        out = io.StringIO()
        self.yaml.dump(self.doc, out)
        return out.getvalue()

    def save(self) -> None:
        """Write the whole file at once (a rename), so a running stack never reads half of it."""
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        temporary.write_text(self.text(), encoding="utf-8")
        os.replace(temporary, self.path)

    # -- where the model functions are listed --------------------------------------------------
    def _function_maps(self) -> list[CommentedMap]:
        """Every LEPTON_FUNCTIONS that is a YAML map (!ToJsonString): the deployer's, the control API's."""
        maps = []
        for resource in self.functions().values():
            value = _variables(resource).get(FUNCTIONS_ENV)
            if isinstance(value, CommentedMap):
                maps.append(value)
        return maps

    def _metadata(self, logical_id: str | None) -> CommentedMap | None:
        resource = self.resources.get(logical_id) if logical_id else None
        return copy.deepcopy(resource["Metadata"]) if resource and "Metadata" in resource else None

    def _after(self, logical_id: str) -> int:
        """Where the resource after ``logical_id`` (and its log group and capture resources) goes."""
        keys = list(self.resources)
        index = keys.index(logical_id) + 1
        while index < len(keys) and keys[index] in companions(logical_id):
            index += 1
        return index

    def _model_arn_lists(self, models: dict[str, str]) -> list[CommentedSeq]:
        """Every IAM statement's Resource list (of a function or a state machine) that names one of
        ``models``' functions (or its versions) by ARN."""
        wanted = {f"{lid}.Arn" for lid in models} | {f"${{{lid}.Arn}}:*" for lid in models}
        lists = []
        # the functions' roles, and the batch state machine's (it invokes the model functions' versions)
        for lid, resource in self.resources.items():
            if lid in models or resource.get("Type") not in (FUNCTION_TYPE, STATE_MACHINE_TYPE):
                continue
            for policy in resource["Properties"].get("Policies") or []:
                for statement in (policy.get("Statement") or []) if isinstance(policy, dict) else []:
                    resources = statement.get("Resource")
                    if isinstance(resources, CommentedSeq) and any(
                            isinstance(r, TaggedScalar) and r.value in wanted for r in resources):
                        lists.append(resources)
        return lists


    def _capture_stream_lists(self, models: dict[str, str]) -> list[CommentedSeq]:
        """Every IAM statement's Resource list (in any role or function) that names one of
        ``models``' capture streams: the logs role's ModelCaptureStreams."""
        wanted = {f"{capture_stream_id(lid)}.Arn" for lid in models}
        lists = []

        def visit(node: Any) -> None:
            if isinstance(node, CommentedMap):
                resources = node.get("Resource")
                if isinstance(resources, CommentedSeq) and any(
                        isinstance(r, TaggedScalar) and r.value in wanted for r in resources):
                    lists.append(resources)
                for value in node.values():
                    visit(value)
            elif isinstance(node, CommentedSeq):
                for value in node:
                    visit(value)

        for lid, resource in self.resources.items():
            if lid not in models:
                visit(resource.get("Properties"))
        return lists


# -- the pieces of a model function ----------------------------------------------------------------
def _function(fn: ModelFunction, description: str, metadata: CommentedMap | None = None,
              tokenizers: bool = False) -> CommentedMap:
    events = CommentedMap()
    for event, method, path in fn.routes():
        quoted = DoubleQuotedScalarString(path) if "{" in path else path
        events[event] = CommentedMap([("Type", "HttpApi"), ("Properties", _flow(
            [("ApiId", _tag("!Ref", "HttpApi")), ("Method", method), ("Path", quoted)]))])
    read_model = CommentedMap([("Effect", "Allow"), ("Action", "s3:GetObject"),
                               ("Resource", _tag("!Sub", DoubleQuotedScalarString(
                                   f"${{ModelBucket.Arn}}/models/{fn.name}/*")))])
    own_items = CommentedMap([("ForAllValues:StringEquals", CommentedMap([
        ("dynamodb:LeadingKeys", _flow_seq([DoubleQuotedScalarString(f"model#{fn.name}")]))]))])
    read_live = CommentedMap([("Effect", "Allow"), ("Action", "dynamodb:GetItem"),
                              ("Resource", _tag("!GetAtt", "DeploymentsTable.Arn")), ("Condition", own_items)])
    read_live.yaml_add_eol_comment("# live_model_ref: the promoted version survives a `sam deploy`", "Effect")
    read_live.yaml_add_eol_comment("# this model's items only", "Condition")
    layers = CommentedSeq([_tag("!Ref", "OnnxRuntimeLayer"), _tag("!Ref", "ServingLayer"),
                           *([_tag("!Ref", "TokenizersLayer")] if tokenizers else [])])
    layers.fa.set_flow_style()
    properties = CommentedMap([
        ("Description", description),
        ("CodeUri", fn.code_uri),
        ("Handler", f"{fn.package}.handler.lambda_handler"),
        ("Layers", layers),
        ("MemorySize", _tag("!Ref", fn.memory_parameter)),
        ("Environment", CommentedMap([("Variables", CommentedMap([
            ("LEPTON_MODEL_NAME", fn.name), ("POWERTOOLS_SERVICE_NAME", fn.name)]))])),
        ("Policies", CommentedSeq([CommentedMap([("Statement", CommentedSeq([read_model, read_live]))])])),
        ("Events", events),
    ])
    return _resource(FUNCTION_TYPE, metadata, properties)


def _log_group(fn: ModelFunction, metadata: CommentedMap | None = None) -> CommentedMap:
    return _resource("AWS::Logs::LogGroup", metadata, _flow([
        ("LogGroupName", _tag("!Sub", DoubleQuotedScalarString(f"/aws/lambda/${{{fn.logical_id}}}"))),
        ("RetentionInDays", _tag("!Ref", "LogRetentionDays")),
    ]))


def _capture_stream(fn: ModelFunction) -> CommentedMap:
    """The model's Firehose stream: its captured requests to captures/<model>/ in CaptureBucket."""
    destination = CommentedMap([
        ("BucketARN", _tag("!GetAtt", "CaptureBucket.Arn")),
        ("RoleARN", _tag("!GetAtt", "CaptureDeliveryRole.Arn")),
        ("Prefix", f"captures/{fn.name}/"),
        ("ErrorOutputPrefix", f"capture-errors/{fn.name}/"),
        ("CompressionFormat", "UNCOMPRESSED"),
        ("BufferingHints", _flow([("IntervalInSeconds", 60), ("SizeInMBs", 5)])),
    ])
    return _resource("AWS::KinesisFirehose::DeliveryStream", None, CommentedMap([
        ("DeliveryStreamType", "DirectPut"),
        ("DeliveryStreamEncryptionConfigurationInput", _flow([("KeyType", "AWS_OWNED_CMK")])),
        ("ExtendedS3DestinationConfiguration", destination),
    ]))


def _capture_filter(fn: ModelFunction) -> CommentedMap:
    """The subscription filter that sends the model function's capture records to its stream."""
    return _resource("AWS::Logs::SubscriptionFilter", None, CommentedMap([
        ("LogGroupName", _tag("!Ref", fn.log_group)),
        ("FilterPattern", DoubleQuotedScalarString(FILTER_PATTERN)),
        ("DestinationArn", _tag("!GetAtt", f"{fn.capture_stream}.Arn")),
        ("RoleArn", _tag("!GetAtt", "CaptureLogsRole.Arn")),
    ]))


def _resource(kind: str, metadata: CommentedMap | None, properties: CommentedMap) -> CommentedMap:
    """Type, Metadata (when there is one), Properties: the order of the template's own resources."""
    return CommentedMap([("Type", kind), *([("Metadata", metadata)] if metadata else []), ("Properties", properties)])


def log_group_id(function_id: str) -> str:
    """A function's log group, by the template's naming: TabularFunction -> TabularFunctionLogs."""
    return f"{function_id}Logs"


def capture_stream_id(function_id: str) -> str:
    """TabularFunction -> TabularFunctionCaptureStream (its Firehose delivery stream)."""
    return f"{function_id}CaptureStream"


def capture_filter_id(function_id: str) -> str:
    """TabularFunction -> TabularFunctionCaptures (its log group's subscription filter)."""
    return f"{function_id}Captures"


def companions(function_id: str) -> tuple[str, ...]:
    """The resources a model function brings with it, in the order they follow it (the log group
    last: a flow mapping, which keeps the blank line and comment below it where they are)."""
    return capture_stream_id(function_id), capture_filter_id(function_id), log_group_id(function_id)


def _memory_parameter(fn: ModelFunction) -> CommentedMap:
    return CommentedMap([
        ("Type", "Number"),
        ("Default", fn.memory_mb),
        ("MinValue", 128),
        ("MaxValue", 10240),
        ("Description", f"Memory (MB) of {fn.logical_id}, the '{fn.name}' model; one vCPU per 1,769 MB."),
    ])


def _flow(items: list[tuple[str, Any]]) -> CommentedMap:
    mapping = CommentedMap(items)
    mapping.fa.set_flow_style()
    return mapping


def _flow_seq(items: list[Any]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _tag(tag: str, value: str) -> TaggedScalar:
    style = '"' if isinstance(value, DoubleQuotedScalarString) else None
    return TaggedScalar(value=str(value), style=style, tag=tag)


def _blank_line_before(mapping: CommentedMap, key: str) -> None:
    """A blank line above the new resource, as between the template's other resources."""
    mapping.ca.items[key] = [None, [CommentToken("\n", CommentMark(0))], None, None]


def _variables(resource: CommentedMap) -> CommentedMap:
    return ((resource.get("Properties") or {}).get("Environment") or {}).get("Variables") or CommentedMap()
