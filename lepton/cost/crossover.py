"""The crossover: at what steady request rate an always-on server costs less than paying per request.

The server is KServe's Python model server on EC2 (c7g.xlarge or c7i.xlarge), sized from KServe's
own throughput in the project's side-by-side benchmark: one KServe worker process on one vCPU
served the measured requests a second, so an instance with n vCPUs serves n times that, run at a
target utilisation so a burst does not queue. The per-request side is Lambda behind the HTTP API
(lepton cost's breakdown) or SageMaker Serverless Inference (memory x duration). A month is 730
hours, as AWS prices it. Load balancers, EBS, data transfer and operating the servers are left
out, which favours the servers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .measured import Measurements
from .model import DEFAULT_COLD_FRACTION, billed_ms, lambda_cost
from .prices import Prices

HOURS_PER_MONTH = 730
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
DEFAULT_UTILISATION = 0.7
SAGEMAKER_MIN_GB = 1.0  # Serverless Inference's smallest memory size is 1,024 MB


@dataclass(frozen=True)
class Server:
    instance: str
    hourly_usd: float
    vcpus: int
    rps_per_vcpu: float
    utilisation: float = DEFAULT_UTILISATION

    @property
    def capacity_rps(self) -> float:
        return self.vcpus * self.rps_per_vcpu * self.utilisation

    @property
    def instance_month_usd(self) -> float:
        return self.hourly_usd * HOURS_PER_MONTH

    def instances(self, rps: float, minimum: int = 1) -> int:
        return max(minimum, math.ceil(round(rps / self.capacity_rps, 9)))

    def monthly_usd(self, rps: float, minimum: int = 1) -> float:
        return self.instances(rps, minimum) * self.instance_month_usd


def server(prices: Prices, instance: str, rps_per_vcpu: float, utilisation: float = DEFAULT_UTILISATION) -> Server:
    price = prices[f"ec2.{instance}"]
    return Server(instance=instance, hourly_usd=price.unit_price, vcpus=int(price.get("vcpus")),
                  rps_per_vcpu=rps_per_vcpu, utilisation=utilisation)


def sagemaker_usd_per_request(prices: Prices, service_ms: float, gb: float = SAGEMAKER_MIN_GB) -> float:
    """Serverless Inference compute for one request: duration (whole ms) x memory x price per GB-s."""
    return billed_ms(service_ms) / 1000.0 * gb * prices.unit("sagemaker.serverless")


@dataclass(frozen=True)
class Crossover:
    first_rps: float | None  # the lowest steady rate at which the servers cost less
    always_rps: float | None  # from this rate on the servers always cost less
    usd_per_request: float
    server: Server
    minimum: int

    def as_dict(self) -> dict:
        s = self.server
        return {"instance": s.instance, "hourly_usd": s.hourly_usd, "vcpus": s.vcpus,
                "rps_per_vcpu": round(s.rps_per_vcpu, 1), "utilisation": s.utilisation,
                "capacity_rps": round(s.capacity_rps, 1), "min_instances": self.minimum,
                "usd_per_million_requests": round(self.usd_per_request * 1e6, 4),
                "first_rps": None if self.first_rps is None else round(self.first_rps, 2),
                "always_rps": None if self.always_rps is None else round(self.always_rps, 2)}


def crossover(usd_per_request: float, srv: Server, minimum: int = 1) -> Crossover:
    """Where n instances (a step in cost every `capacity` req/s) meet a cost linear in requests.

    Band n serves rates up to n x capacity at n instance-months; the per-request side costs
    rate x k a month. The servers are cheaper in band n from n x month / k to the band's top.
    """
    k = usd_per_request * SECONDS_PER_MONTH  # USD a month per steady request a second
    month, cap = srv.instance_month_usd, srv.capacity_rps
    if k * cap <= month:  # even a full instance costs more than its requests would
        return Crossover(None, None, usd_per_request, srv, minimum)
    # past band n_star every band is cheaper from its bottom edge: n month <= k (n - 1) cap
    n_star = max(minimum, math.ceil(k * cap / (k * cap - month)))
    cheaper: list[tuple[float, float]] = []
    for n in range(minimum, n_star + 1):
        low = 0.0 if n == minimum else (n - 1) * cap
        start = max(low, n * month / k)
        if start <= n * cap:
            cheaper.append((start, n * cap))
    first = cheaper[0][0]
    always = cheaper[-1][0]
    for start, end in reversed(cheaper[:-1]):  # walk back while the cheaper ranges touch
        if end >= always - 1e-9 and start <= always:
            always = start
        else:
            break
    return Crossover(first, always, usd_per_request, srv, minimum)


def compare(results: Measurements, prices: Prices, models: list[str], utilisation: float = DEFAULT_UTILISATION,
            memory_mb: int = 1024, cold_fraction: float | None = None) -> list[dict]:
    """Per model: each per-request option against KServe on the instance of the same architecture."""
    rows = []
    for name in models:
        best = results.best_rps("kserve", name)
        one = results.throughput.get("kserve", {}).get(name, {}).get(1)
        if best is None:
            rows.append({"model": name, "crossovers": [], "note": "no KServe throughput measured for this model"})
            continue
        rps_per_vcpu, at_c = best
        sides = []
        for arch, instance in (("arm64", "c7g.xlarge"), ("x86_64", "c7i.xlarge")):
            cost = lambda_cost(results.models[name], prices, arch, memory_mb,
                               cold_fraction=DEFAULT_COLD_FRACTION if cold_fraction is None else cold_fraction)
            sides.append((f"Lambda {arch} {memory_mb:,} MB + HTTP API", cost.total / 1e6, instance))
        if one:
            service_ms = 1000.0 / one  # KServe's time per request with one request in flight
            sagemaker = sagemaker_usd_per_request(prices, service_ms)
            sides += [("SageMaker Serverless 1 GB", sagemaker, "c7g.xlarge"),
                      ("SageMaker Serverless 1 GB", sagemaker, "c7i.xlarge")]
        crossings = []
        for side, usd, instance in sides:
            srv = server(prices, instance, rps_per_vcpu, utilisation)
            two = crossover(usd, srv, 2).as_dict()
            crossings.append({"side": side, **crossover(usd, srv, 1).as_dict(), "first_rps_two": two["first_rps"],
                              "always_rps_two": two["always_rps"]})
        rows.append({"model": name, "kserve_rps_per_vcpu": round(rps_per_vcpu, 1), "kserve_at_concurrency": at_c,
                     "kserve_ms_per_request_c1": round(1000.0 / one, 3) if one else None, "crossovers": crossings})
    return rows
