"""One OpenAPI document for the whole HTTP API: the control routes FastAPI generates from this
app, plus the inference routes that the model functions serve (V2 and the friendly predict).

The inference routes are described here, never served here: API Gateway sends them to each
model's function (template.yaml). The control routes carry the SigV4 security scheme.
"""
from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from lepton_serving.manifest import V2_TO_NUMPY
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from control.schemas import ErrorResponse

REF = "#/components/schemas/{model}"
SIGV4 = {
    "type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4",
    "description": "AWS Signature Version 4 for service `execute-api` (IAM auth): `lepton` signs with "
                   "botocore, `awscurl --service execute-api` works too.",
}

Datatype = Literal[tuple(V2_TO_NUMPY)]  # type: ignore[valid-type]


class InferTensor(BaseModel):
    """A V2 tensor in JSON: ``data`` is flat or nested, row-major; BYTES tensors carry strings."""

    model_config = ConfigDict(title="InferTensor")
    name: str
    shape: list[int]
    datatype: Datatype  # type: ignore[valid-type]
    parameters: dict[str, Any] | None = None
    data: list[Any]


class RequestedOutput(BaseModel):
    name: str
    parameters: dict[str, Any] | None = Field(default=None, description="`binary_data` must be false (JSON only).")


class InferenceRequest(BaseModel):
    id: str | None = None
    parameters: dict[str, Any] | None = None
    inputs: list[InferTensor]
    outputs: list[RequestedOutput] | None = Field(default=None, description="Default: every output.")


class InferenceResponse(BaseModel):
    model_name: str
    model_version: str
    id: str | None = None
    parameters: dict[str, Any] | None = None
    outputs: list[InferTensor]


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


class ServerLiveResponse(BaseModel):
    live: bool


class ServerReadyResponse(BaseModel):
    ready: bool


class PredictRequest(BaseModel):
    """Each model's own JSON shape; see docs/models.md."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [
        {"instances": [[13.0, 0.12, 22.0]]},
        {"pixels": [[0, 0, 5, 13, 9, 1, 0, 0]] * 8, "k": 3},
        {"text": "the movie was great"},
        {"user_ids": [7, 42], "k": 3},
        {"digit": 3, "count": 4, "seed": 7},
    ]})


class PredictResponse(BaseModel):
    model_config = ConfigDict(extra="allow")
    model_name: str
    model_version: str
    predictions: list[Any]


_SCHEMAS = (ErrorResponse, InferenceRequest, InferenceResponse, ModelMetadataResponse, ModelReadyResponse, ServerLiveResponse,
            ServerReadyResponse, PredictRequest, PredictResponse)


def build_openapi(app: FastAPI, models: list[str]) -> dict[str, Any]:
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes,
                      tags=app.openapi_tags)
    components = doc.setdefault("components", {})
    components.setdefault("securitySchemes", {})["sigv4"] = SIGV4
    for path, operations in doc["paths"].items():
        if path not in _OPEN_PATHS:
            for operation in operations.values():
                operation["security"] = [{"sigv4": []}]
    _, defs = models_json_schema([(m, "serialization") for m in _SCHEMAS], ref_template=REF)
    components.setdefault("schemas", {}).update(defs["$defs"])
    doc["paths"].update(inference_paths(models))
    return doc


_OPEN_PATHS = ("/openapi.json", "/docs")


def inference_paths(models: list[str]) -> dict[str, Any]:
    name = {"name": "name", "in": "path", "required": True, "description": "The model.",
            "schema": {"type": "string", "enum": sorted(models)}}
    version = {"name": "version", "in": "path", "required": True, "schema": {"type": "string"},
               "description": "A version the model function currently serves (its model_version)."}
    tag = ["inference (V2)"]

    def op(operation_id: str, summary: str, response: str, *, params: list[dict[str, Any]] = (),  # type: ignore[assignment]
           body: str | None = None, tags: list[str] = tag) -> dict[str, Any]:
        out: dict[str, Any] = {
            "operationId": operation_id, "summary": summary, "tags": tags, "parameters": list(params),
            "responses": {
                "200": _json(response, "OK"),
                "400": _json("ErrorResponse", "The request does not fit the model (message says how)"),
                "404": _json("ErrorResponse", "Unknown model or version"),
                "503": _json("ErrorResponse", "The model is not loaded"),
            },
        }
        if body:
            out["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"$ref": REF.format(model=body)}}}}
        return out

    return {
        "/v2/health/live": {"get": op("serverLive", "Server liveness", "ServerLiveResponse")},
        "/v2/health/ready": {"get": op("serverReady", "Server readiness", "ServerReadyResponse")},
        "/v2/models/{name}": {"get": op("modelMetadata", "Model metadata", "ModelMetadataResponse", params=[name])},
        "/v2/models/{name}/ready": {"get": op("modelReady", "Model readiness", "ModelReadyResponse", params=[name])},
        "/v2/models/{name}/infer": {"post": op("modelInfer", "Inference (JSON tensors)", "InferenceResponse",
                                               params=[name], body="InferenceRequest")},
        "/v2/models/{name}/versions/{version}": {"get": op(
            "modelVersionMetadata", "Metadata of one served version", "ModelMetadataResponse", params=[name, version])},
        "/v2/models/{name}/versions/{version}/ready": {"get": op(
            "modelVersionReady", "Readiness of one served version", "ModelReadyResponse", params=[name, version])},
        "/v2/models/{name}/versions/{version}/infer": {"post": op(
            "modelVersionInfer", "Inference on one served version", "InferenceResponse", params=[name, version],
            body="InferenceRequest")},
        "/models/{name}/predict": {"post": op(
            "predict", "Friendly prediction in the model's own JSON shape (docs/models.md)", "PredictResponse",
            params=[name], body="PredictRequest", tags=["inference (friendly)"])},
    }


def _json(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": REF.format(model=schema)}}}}
