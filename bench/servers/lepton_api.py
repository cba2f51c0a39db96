"""Lepton's local API exactly as `lepton up` serves it: LocalGateway + asgi_app on uvicorn,
model functions run in-process by FunctionHost with the configuration a deployed version has.

    python -m bench.servers.lepton_api CONFIG_JSON
CONFIG: {"port", "env" (shared: local AWS endpoint, credentials), "functions": {logical id: env}}
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import bench  # noqa: F401  - import roots

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    cfg = json.loads(Path(sys.argv[1]).read_text())
    os.environ.update(cfg["env"])

    import uvicorn

    from lepton.local.function_host import FunctionHost
    from lepton.local.gateway import LocalGateway, asgi_app
    from lepton.local.sigv4 import sigv4_present
    from lepton.local.stack import redirect_function_output
    from lepton.local.template import Template

    template = Template(ROOT / "template.yaml", names={"ModelBucket": cfg["bucket"]})
    host = FunctionHost(template, base_env=cfg["env"])
    deployed: dict[str, dict[str, str]] = cfg["functions"]

    def dispatch(logical_id: str, event: dict) -> object:
        # what LocalStack's dispatch does with the version its `live` alias names
        env = deployed.get(logical_id)
        if env is None:
            return host.invoke(logical_id, event)
        return host.invoke(logical_id, event, env=env, version="1")

    for logical_id, env in deployed.items():  # init phase of each deployed version
        host.handler(logical_id, env, "1").warm()
    gateway = LocalGateway(template.routes(), dispatch, authorize=sigv4_present)
    redirect_function_output(Path(cfg["log"]))
    config = uvicorn.Config(asgi_app(gateway), host="127.0.0.1", port=cfg["port"],
                            log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
