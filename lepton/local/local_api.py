"""The HTTP API as API Gateway serves it: the template's routes, each behind its authorizer
(authorizers.py), each request answered by the version its function's `live` alias names
(aliases.py), in this process (function_host.py)."""
from __future__ import annotations

from typing import Any

from lepton_deploy.functions import LambdaFunctions

from .aliases import POLL_SECONDS, LiveAliases
from .authorizers import LocalAuthorizers
from .function_host import FunctionHost
from .gateway import LocalGateway, asgi_app
from .local_aws import REGION, LocalAws, port_open
from .stack_settings import StackSettings
from .template import FunctionSpec, Template


class LocalApi:
    def __init__(self, settings: StackSettings, aws: LocalAws, host: FunctionHost, template: Template,
                 names: dict[str, str]):
        self.settings = settings
        self.host = host
        self.aliases = LiveAliases(LambdaFunctions(aws.client("lambda")), _model_functions(template, names),
                                   changes=aws.changes, every=aws.every(POLL_SECONDS))
        authorize = LocalAuthorizers(REGION, template.jwt_authorizers(), jwks=settings.issuer.jwks)
        self.gateway = LocalGateway(template.routes(), self.dispatch, authorize=authorize,
                                    threaded=threaded(template.functions()))
        self.aliases.start()

    def dispatch(self, logical_id: str, event: dict[str, Any]) -> Any:
        picked = self.aliases.pick(logical_id)
        if picked is None:
            return self.host.invoke(logical_id, event)
        version, env = picked
        return self.host.invoke(logical_id, event, env=env, version=version)

    def follow(self, template: Template, names: dict[str, str]) -> None:
        """Serve what the template declares now: its routes, its model functions' aliases."""
        self.aliases.track(_model_functions(template, names))
        self.gateway.set_routes(template.routes(), threaded(template.functions()))

    def server(self) -> Any:
        """A uvicorn server for the API; `.run()` blocks, `.should_exit = True` stops it."""
        import uvicorn

        if port_open(self.settings.host, self.settings.api_port):
            raise SystemExit(f"port {self.settings.api_port} is already in use; pass --port")
        config = uvicorn.Config(asgi_app(self.gateway), host=self.settings.host, port=self.settings.api_port,
                                log_level="warning", access_log=False, lifespan="off")
        return uvicorn.Server(config)

    def stop(self) -> None:
        self.aliases.stop()


def threaded(functions: dict[str, FunctionSpec]) -> set[str]:
    """Functions the API calls off its event loop: all but the model functions (see LocalGateway)."""
    return {lid for lid, spec in functions.items() if not spec.model_name}


def _model_functions(template: Template, names: dict[str, str]) -> dict[str, str]:
    return {lid: names[lid] for lid, spec in template.functions().items() if spec.model_name}
