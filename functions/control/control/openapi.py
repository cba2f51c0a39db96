"""One OpenAPI document for the whole HTTP API, saying exactly what each route can answer.

The control routes come from this FastAPI app; the inference routes are served by each
model's own function (template.yaml) and are described here, never served here. Every route
lists every status it can return, including API Gateway's own: 403 for a control route called
without a valid SigV4 signature, 404 for a path no route matches (an unknown model, a typo),
413 for a body over its limit. Those carry API Gateway's `{"message": ...}` body; the
functions' own refusals carry `{"error": ...}`.
"""
from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from lepton_serving.binary import HEADER_PATTERN
from lepton_serving.manifest import V2_TO_NUMPY, Manifest
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from control.friendly_schemas import friendly_schema
from control.schemas import ErrorResponse

REF = "#/components/schemas/{model}"
SIGV4 = {
    "type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4",
    "description": "AWS Signature Version 4 for service `execute-api` (IAM auth): `lepton` signs with "
                   "botocore, `awscurl --service execute-api` works too.",
}
BINARY = "application/octet-stream"
HEADER_LENGTH = "Inference-Header-Content-Length"

Datatype = Literal[tuple(V2_TO_NUMPY)]  # type: ignore[valid-type]


class GatewayMessage(BaseModel):
    """API Gateway's own answer, before any function runs (no route, no IAM signature, too large)."""

    message: str = Field(examples=["Not Found"])


class TensorParameters(BaseModel):
    binary_data_size: int | None = Field(
        default=None, ge=0, description="The tensor is sent as this many bytes of binary data after the JSON "
                                        f"(binary tensor data extension; needs the {HEADER_LENGTH} header).")


class InferTensor(BaseModel):
    """A V2 tensor: ``data`` flat or nested, row-major (BYTES tensors carry strings), or binary data."""

    model_config = ConfigDict(title="InferTensor")
    name: str = Field(min_length=1)
    shape: list[int] = Field(description="Each dimension 0 or more; -1 in metadata marks a free one.")
    datatype: Datatype  # type: ignore[valid-type]
    parameters: TensorParameters | None = None
    data: list[Any] | None = Field(default=None, description="Absent when the tensor is binary data.")


class OutputParameters(BaseModel):
    binary_data: bool | None = Field(default=None, description="Return this output as binary data.")
    classification: int | None = Field(default=None, ge=1, description="Return the top-k classes as BYTES "
                                                                         "\"value:index:label\" strings.")


class RequestedOutput(BaseModel):
    name: str
    parameters: OutputParameters | None = None


class RequestParameters(BaseModel):
    model_config = ConfigDict(extra="allow")
    binary_data_output: bool | None = Field(default=None, description="Every output as binary data, unless "
                                                                      "an output says otherwise.")


class InferenceRequest(BaseModel):
    id: str | None = None
    parameters: RequestParameters | None = None
    inputs: list[InferTensor] = Field(min_length=1)
    outputs: list[RequestedOutput] | None = Field(default=None, description="Default: every output.")


class OutputTensor(BaseModel):
    model_config = ConfigDict(title="OutputTensor")
    name: str
    shape: list[int]
    datatype: Datatype  # type: ignore[valid-type]
    parameters: TensorParameters | None = None
    data: list[Any] | None = None


class InferenceResponse(BaseModel):
    model_name: str
    model_version: str
    id: str | None = None
    parameters: dict[str, Any] | None = None
    outputs: list[OutputTensor]


class TensorMetadata(BaseModel):
    name: str
    datatype: Datatype  # type: ignore[valid-type]
    shape: list[int] = Field(description="-1 marks a free dimension (the batch).")


class ModelMetadataResponse(BaseModel):
    name: str
    versions: list[str]
    platform: str = Field(examples=["onnxruntime_onnx"])
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]


class ModelReadyResponse(BaseModel):
    name: str
    ready: bool


class PredictResponse(BaseModel):
    model_config = ConfigDict(extra="allow")
    model_name: str
    model_version: str


_SCHEMAS = (ErrorResponse, GatewayMessage, InferenceRequest, InferenceResponse, ModelMetadataResponse,
            ModelReadyResponse, PredictResponse)
_OPEN_PATHS = ("/openapi.json", "/docs", "/v2", "/v2/repository/index", "/v2/health/live", "/v2/health/ready",
               "/models/{name}/card", "/status")


def build_openapi(app: FastAPI, models: list[str], manifests: dict[str, Manifest | None] | None = None
                  ) -> dict[str, Any]:
    """The document; ``manifests``: each model's live manifest, which its friendly schema follows."""
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes,
                      tags=app.openapi_tags)
    components = doc.setdefault("components", {})
    components.setdefault("securitySchemes", {})["sigv4"] = SIGV4
    _, defs = models_json_schema([(m, "serialization") for m in _SCHEMAS], ref_template=REF)
    components.setdefault("schemas", {}).update(defs["$defs"])
    for schema in ("HTTPValidationError", "ValidationError"):  # FastAPI's shapes; ours is ErrorResponse
        components["schemas"].pop(schema, None)
    for path, operations in doc["paths"].items():
        for operation in operations.values():
            _control_responses(operation, secured=path not in _OPEN_PATHS)
    doc["paths"].update(inference_paths(models))
    for model in sorted(models):
        schema = f"PredictRequest-{model}"
        components["schemas"][schema] = friendly_schema(model, (manifests or {}).get(model))
        doc["paths"].update(predict_path(model, schema))
    return doc


def _control_responses(operation: dict[str, Any], secured: bool) -> None:
    """What API Gateway and the app's error handlers add to FastAPI's own list."""
    responses = operation.setdefault("responses", {})
    if "422" in responses:
        responses["422"] = _json("ErrorResponse", "The body breaks the schema (`detail` lists where)")
    if "requestBody" in operation:
        responses.setdefault("400", _json("ErrorResponse", "The body is not valid JSON"))
        responses.setdefault("413", _either("The body is over the size limit"))
    responses.setdefault("404", _either("No such route (API Gateway), or an unknown model"))
    if secured:
        operation["security"] = [{"sigv4": []}]
        responses["403"] = _json("GatewayMessage", "API Gateway refused the request: no or a wrong SigV4 signature")


# Described as the function reads it: ASCII digits only (lepton_serving/binary.py).
_HEADER_LENGTH = {"name": HEADER_LENGTH, "in": "header", "required": False,
                  "description": "Length in bytes of the JSON part when binary tensor data follows it.",
                  "schema": {"type": "string", "pattern": HEADER_PATTERN}}


def inference_paths(models: list[str]) -> dict[str, Any]:
    """The V2 routes, shared by every model function (the friendly ones: `predict_path`)."""
    name = {"name": "name", "in": "path", "required": True, "description": "The model.",
            "schema": {"type": "string", "enum": sorted(models)}}
    version = {"name": "version", "in": "path", "required": True, "schema": {"type": "string", "examples": ["1"]},
               "description": "A version the model function currently serves (its model_version)."}
    op = _operation
    return {
        "/v2/models/{name}": {"get": op("modelMetadata", "Model metadata", "ModelMetadataResponse", params=[name])},
        "/v2/models/{name}/ready": {"get": op("modelReady", "Model readiness", "ModelReadyResponse", params=[name])},
        "/v2/models/{name}/infer": {"post": op("modelInfer", "Inference: JSON or binary tensors", "InferenceResponse",
                                               params=[name], body="InferenceRequest", binary=True)},
        "/v2/models/{name}/versions/{version}": {"get": op(
            "modelVersionMetadata", "Metadata of one served version", "ModelMetadataResponse", params=[name, version])},
        "/v2/models/{name}/versions/{version}/ready": {"get": op(
            "modelVersionReady", "Readiness of one served version", "ModelReadyResponse", params=[name, version])},
        "/v2/models/{name}/versions/{version}/infer": {"post": op(
            "modelVersionInfer", "Inference on one served version", "InferenceResponse", params=[name, version],
            body="InferenceRequest", binary=True)},
    }


def _operation(operation_id: str, summary: str, response: str, *, params: list[dict[str, Any]] | None = None,
               body: str | None = None, tags: list[str] | None = None, binary: bool = False) -> dict[str, Any]:
    """An inference operation with every status the function (or API Gateway before it) can answer."""
    ok: dict[str, Any] = _json(response, "OK")
    responses: dict[str, Any] = {
        "200": ok,
        "404": _either("No such model (API Gateway: no route), or a version this function does not serve"),
        "503": {**_json("ErrorResponse", "The model is not loaded (yet): the message says why"),
                "headers": {"Retry-After": {"description": "Seconds until the function tries to load it again",
                                            "schema": {"type": "integer", "minimum": 1}}}},
    }
    out: dict[str, Any] = {"operationId": operation_id, "summary": summary, "tags": tags or ["inference (V2)"],
                           "parameters": list(params or []), "responses": responses}
    if body:
        content: dict[str, Any] = {"application/json": {"schema": {"$ref": REF.format(model=body)}}}
        if binary:
            content[BINARY] = {"schema": {"type": "string", "format": "binary"},
                               "description": f"The JSON request, then binary tensor data; {HEADER_LENGTH} "
                                              "gives the JSON's length"}
            ok["content"][BINARY] = {"schema": {"type": "string", "format": "binary"}}
            ok["headers"] = {HEADER_LENGTH: {"description": "Present when binary tensor data follows the JSON",
                                             "schema": {"type": "integer", "minimum": 0}}}
            out["parameters"].append(_HEADER_LENGTH)
        out["requestBody"] = {"required": True, "content": content}
        responses.update({
            "400": _json("ErrorResponse", "The request does not fit the model (the message says how)"),
            "413": _either("The body is over the function's 6 MB payload limit"),
            "415": _json("ErrorResponse", "A content type the route does not read"),
            "422": _json("ErrorResponse", "Above a limit (batch size, k, text length), or values onnxruntime "
                                          "cannot compute on (the message says which)"),
        })
    return out


def predict_path(model: str, schema: str) -> dict[str, Any]:
    """One model's friendly route, with the request schema of its own JSON shape."""
    return {f"/models/{model}/predict": {"post": _operation(
        f"predict-{model}", f"{model}: prediction in its own JSON shape (docs/models.md)", "PredictResponse",
        body=schema, tags=["inference (friendly)"])}}


def _json(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": REF.format(model=schema)}}}}


def _either(description: str) -> dict[str, Any]:
    """A status API Gateway or the function may answer, each with its own body."""
    return {"description": description, "content": {"application/json": {"schema": {"anyOf": [
        {"$ref": REF.format(model="ErrorResponse")}, {"$ref": REF.format(model="GatewayMessage")}]}}}}
