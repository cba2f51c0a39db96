"""The control API: thin FastAPI routes over ControlService, one handler for domain errors."""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from fastapi import Body, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from lepton_serving import __version__
from lepton_serving.errors import InvalidRequest, LeptonError, MethodNotAllowed, NotFound, SchemaViolation, status_for
from lepton_serving.manifest import MODEL_NAME_PATTERN, V2_EXTENSIONS
from starlette.exceptions import HTTPException

from control import backends, site
from control.openapi import build_openapi
from control.schemas import (AttemptOut, BatchInputRequest, BatchInputUpload, BatchJobOut, BatchJobRequest,
                             BatchJobsResponse, DeploymentsResponse, ErrorResponse, ModelCard, ModelDetail,
                             ModelsResponse, PromoteRequest, PublicStatus, ReplayOut, ReplayRequest,
                             RepositoryIndexRequest, RepositoryModel, RollbackRequest, ServerLive, ServerMetadata,
                             ServerReady, UploadRequest, UploadResponse)
from control.service import ControlService
from control.settings import Settings

logger = Logger(service="control")

DESCRIPTION = """\
Lepton's HTTP API. **Control** routes (`/models`, `/deployments`) manage model versions and need
IAM auth (SigV4, service `execute-api`). **Inference** routes are served by each model's own
function: the Open Inference Protocol (V2, JSON tensors) and one friendly `predict` per model.
**Public** routes (`/models/{name}/card`, `/status`) are open: what the playground page at `/`
shows, without the names of the deployment's resources.
"""
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "Unknown model"},
    409: {"model": ErrorResponse, "description": "Not possible in the model's current state"},
    502: {"model": ErrorResponse, "description": "An AWS service failed (message names it)"},
}


def caller(request: Request) -> str:
    """Who asked: the IAM principal API Gateway authenticated (recorded with rollbacks)."""
    event = request.scope.get("aws.event") or {}
    iam = ((event.get("requestContext") or {}).get("authorizer") or {}).get("iam") or {}
    return str(iam.get("userArn") or "api")


def environment(app: FastAPI) -> Mapping[str, str]:
    """The function's environment: bound at creation (the local stack), else the process's."""
    return app.state.env if app.state.env is not None else os.environ


def current_settings(app: FastAPI) -> Settings:
    return Settings.from_env(environment(app))


def _service(request: Request) -> ControlService:
    settings = current_settings(request.app)
    return ControlService(settings, backends.build(settings, environment(request.app),
                                                   lambda_api=request.app.state.lambda_api))


# Module level: FastAPI resolves these annotations (postponed, PEP 563) from the module's globals.
Service = Annotated[ControlService, Depends(_service)]


def create_app(env: Mapping[str, str] | None = None) -> FastAPI:
    """``env`` None (Lambda): read and validate the process environment per request (cached per
    distinct value); a mapping binds this app to one configuration."""
    app = FastAPI(title="Lepton API", version="1", description=DESCRIPTION, docs_url="/docs", redoc_url=None,
                  openapi_url="/openapi.json", swagger_ui_oauth2_redirect_url=None,
                  openapi_tags=[{"name": "control", "description": "Versions, rollouts, uploads (IAM auth)"},
                                {"name": "inference (V2)", "description": "Served by each model's function"},
                                {"name": "inference (friendly)", "description": "Served by each model's function"},
                                {"name": "public", "description": "Open views for the playground page"}])
    app.state.env = dict(env) if env is not None else None
    app.state.lambda_api = None  # Lambda's client; the local stack sets its stand-in (with_lambda_api)

    @app.get("/models", tags=["control"], operation_id="listModels", response_model=ModelsResponse)
    def list_models(svc: Service) -> ModelsResponse:
        """Every model: live version, canary, serving function, last deployment."""
        return svc.list_models()

    @app.get("/models/{name}", tags=["control"], operation_id="getModel", response_model=ModelDetail,
             responses=ERRORS)
    def get_model(name: str, svc: Service) -> ModelDetail:
        """One model: every version in the bucket with its manifest summary and state."""
        return svc.get_model(name)

    @app.post("/models/{name}/rollback", tags=["control"], operation_id="rollbackModel", response_model=AttemptOut,
              responses=ERRORS)
    def rollback(name: str, svc: Service, request: Request,
                 body: Annotated[RollbackRequest | None, Body()] = None) -> AttemptOut:
        """Move the live alias back: to `version`, or to the version live before this one."""
        return svc.rollback(name, body or RollbackRequest(), caller(request))

    @app.post("/models/{name}/promote", tags=["control"], operation_id="promoteCanary", response_model=AttemptOut,
              responses=ERRORS)
    def promote(name: str, svc: Service, request: Request,
                body: Annotated[PromoteRequest | None, Body()] = None) -> AttemptOut:
        """Finish the running canary now: all traffic to the canary version."""
        return svc.promote(name, body or PromoteRequest(), caller(request))

    @app.post("/models/{name}/uploads", tags=["control"], operation_id="createUpload", response_model=UploadResponse,
              responses=ERRORS)
    def uploads(name: str, svc: Service, body: Annotated[UploadRequest | None, Body()] = None) -> UploadResponse:
        """Presigned POST policies, size-capped, for a new version's model.onnx and manifest.json (model first,
        manifest last)."""
        return svc.create_upload(name, body or UploadRequest())

    @app.get("/deployments", tags=["control"], operation_id="listDeployments", response_model=DeploymentsResponse,
             responses={400: {"model": ErrorResponse}, 502: ERRORS[502]})
    def deployments(svc: Service, model: Annotated[str | None, Query(
                        description="Only this model",
                        # documented here, checked by the service, whose 400 says what a name is
                        json_schema_extra={"pattern": MODEL_NAME_PATTERN})] = None,
                    limit: Annotated[int, Query(ge=1, le=500)] = 50) -> DeploymentsResponse:
        """Deployment attempts (uploads, promotions, rollbacks), newest first."""
        return svc.deployments(model, limit)

    @app.post("/models/{name}/replay", tags=["control"], operation_id="replayVersion", response_model=ReplayOut,
              responses={**ERRORS, 503: {"model": ErrorResponse, "description": "No payload capture on this stack"}})
    def replay(name: str, svc: Service, body: Annotated[ReplayRequest, Body()]) -> ReplayOut:
        """The replay gate's comparison on demand: the live version's newest captured requests, answered
        by a published version, compared as the deployer compares them. Nothing moves."""
        return svc.replays.run(name, body)

    # -- batch scoring (control/batch_jobs.py) ---------------------------------------------------
    batch_errors: dict[int | str, dict[str, Any]] = {
        **ERRORS, 400: {"model": ErrorResponse, "description": "The input is not in the batch bucket, or no format"},
        503: {"model": ErrorResponse, "description": "This stack cannot run batch jobs (the message says why)"}}

    @app.post("/models/{name}/batch-jobs", tags=["control"], operation_id="startBatchJob", response_model=BatchJobOut,
              status_code=202, responses=batch_errors)
    def start_batch_job(name: str, svc: Service, body: Annotated[BatchJobRequest, Body()]) -> BatchJobOut:
        """Score every row of an S3 object with the model's live version, pinned for the whole job."""
        return svc.batch.start(name, body)

    @app.post("/batch-inputs", tags=["control"], operation_id="stageBatchInput", response_model=BatchInputUpload,
              responses=batch_errors)
    def stage_batch_input(svc: Service, body: Annotated[BatchInputRequest, Body()]) -> BatchInputUpload:
        """A presigned upload into the batch bucket for a local file of rows (lepton batch --input FILE)."""
        return svc.batch.stage_input(body)

    @app.get("/batch-jobs", tags=["control"], operation_id="listBatchJobs", response_model=BatchJobsResponse,
             responses=batch_errors)
    def list_batch_jobs(svc: Service, limit: Annotated[int, Query(ge=1, le=100)] = 20) -> BatchJobsResponse:
        """Batch jobs, newest first, with their progress."""
        return svc.batch.list(limit)

    @app.get("/batch-jobs/{job}", tags=["control"], operation_id="getBatchJob", response_model=BatchJobOut,
             responses=batch_errors)
    def get_batch_job(job: str, svc: Service) -> BatchJobOut:
        """One batch job: its pinned version, status and row counts (read, scored, failed)."""
        return svc.batch.get(job)

    @app.post("/batch-jobs/{job}/cancel", tags=["control"], operation_id="cancelBatchJob", response_model=BatchJobOut,
              responses=batch_errors)
    def cancel_batch_job(job: str, svc: Service, request: Request) -> BatchJobOut:
        """Stop a running batch job; batches already written stay."""
        return svc.batch.cancel(job, caller(request))

    # -- open views for the playground page (control.public decides what they show) ------------
    @app.get("/models/{name}/card", tags=["public"], operation_id="modelCard", response_model=ModelCard,
             responses={404: ERRORS[404], 502: ERRORS[502],
                        503: {"model": ErrorResponse, "description": "No version is live yet"}})
    def card(name: str, svc: Service) -> ModelCard:
        """The live version's model card: labels, feature names, input sizes, metrics, an example."""
        return svc.card(name)

    @app.get("/status", tags=["public"], operation_id="publicStatus", response_model=PublicStatus,
             responses={502: ERRORS[502]})
    def status(svc: Service, limit: Annotated[int, Query(ge=1, le=100)] = 20) -> PublicStatus:
        """Every model's live version and canary, and the newest deployment attempts with outcome and
        reason; who made them, function versions and upload sources stay behind IAM (`/deployments`)."""
        return svc.status(limit)

    # -- the V2 protocol's server-level routes: open, as every stock V2 client expects ----------
    @app.get("/v2", tags=["server (V2)"], operation_id="serverMetadata", response_model=ServerMetadata)
    def server_metadata() -> ServerMetadata:
        """Server metadata: the V2 extensions every model function implements."""
        return ServerMetadata(name="lepton", version=__version__, extensions=list(V2_EXTENSIONS))

    @app.post("/v2/repository/index", tags=["server (V2)"], operation_id="repositoryIndex",
              response_model=list[RepositoryModel], responses={502: ERRORS[502]})
    def repository_index(svc: Service, body: Annotated[RepositoryIndexRequest | None, Body()] = None
                         ) -> list[RepositoryModel]:
        """Every model with its live version and state (Triton's model repository index)."""
        return svc.repository_index((body or RepositoryIndexRequest()).ready)

    @app.get("/v2/health/live", tags=["server (V2)"], operation_id="serverLive", response_model=ServerLive)
    def server_live() -> ServerLive:
        """The server answers."""
        return ServerLive(live=True)

    @app.get("/v2/health/ready", tags=["server (V2)"], operation_id="serverReady", response_model=ServerReady,
             responses={503: {"model": ServerReady, "description": "Misconfigured, or the registry does not answer"}})
    def server_ready(request: Request) -> Any:
        """The server can answer: its configuration is valid and the deployment registry answers."""
        try:
            return ServerReady(ready=_service(request).ready())
        except LeptonError as exc:
            logger.warning("not ready", extra={"reason": exc.message})
            return JSONResponse({"ready": False}, status_code=503)

    site.install(app)
    app.openapi = lambda: _cached_openapi(app)  # type: ignore[method-assign]
    _install_error_handlers(app)
    return app


def _cached_openapi(app: FastAPI) -> dict[str, Any]:
    """The document, built again when the models or their live versions change: each friendly
    route's schema follows its live manifest (num_users, labels, feature names)."""
    settings = current_settings(app)
    service = ControlService(settings, backends.build(settings, environment(app)))
    try:
        versions: dict[str, int] | None = service.live_versions()
    except LeptonError as exc:  # the registry does not answer: the schemas without the manifests, not cached
        logger.warning("openapi: live versions unknown", extra={"reason": exc.message})
        return build_openapi(app, list(settings.functions))
    key = (tuple(sorted(settings.functions)), tuple(sorted(versions.items())))
    if app.openapi_schema is None or getattr(app.state, "openapi_key", None) != key:
        app.openapi_schema = build_openapi(app, list(settings.functions), service.live_manifests(versions))
        app.state.openapi_key = key
    return app.openapi_schema


def _install_error_handlers(app: FastAPI) -> None:
    """Every refusal, FastAPI's own included, is a domain error whose status comes from the one
    table (lepton_serving.errors)."""

    @app.exception_handler(LeptonError)
    def domain_error(request: Request, exc: LeptonError) -> JSONResponse:
        status = status_for(exc)
        if status >= 500:
            logger.warning("request refused", extra={"status": status, "reason": exc.message, "path": request.url.path})
        body: dict[str, Any] = {"error": exc.message}
        if isinstance(exc, SchemaViolation) and exc.detail:
            body["detail"] = exc.detail
        return JSONResponse(body, status_code=status)

    @app.exception_handler(RequestValidationError)
    def invalid_input(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return domain_error(request, InvalidRequest("the request body is not valid JSON"))
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in errors)
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in errors]
        return domain_error(request, SchemaViolation(problems, detail))

    @app.exception_handler(HTTPException)
    def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        where = f"no route for {request.method} {request.url.path}"
        refusal = {404: NotFound(where), 405: MethodNotAllowed(where)}.get(exc.status_code)
        return domain_error(request, refusal or InvalidRequest(str(exc.detail)))

    @app.exception_handler(Exception)
    def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not bad input: the trace goes to the log, the caller gets an id to quote.
        event = request.scope.get("aws.event") or {}
        request_id = (event.get("requestContext") or {}).get("requestId", "-")
        logger.exception("unhandled error", extra={"path": request.url.path, "request_id": request_id})
        return JSONResponse({"error": f"internal error; quote request id {request_id}"}, status_code=500)
