"""The plain-text tables `lepton cost` prints (the same numbers as its --json)."""
from __future__ import annotations

from .model import ASSUMPTIONS, Breakdown
from .simulate import Limits
from .traffic import Profile


def _rule(header: str) -> list[str]:
    return [header, "-" * len(header)]


def cost(rows: list[Breakdown], rps: float, header_lines: list[str], price_count: int) -> list[str]:
    lines = [*header_lines, ""]
    lines += _rule(f"{'model':<12} {'arch':<7} {'memory':>7} {'warm ms':>8} {'billed':>6} {'init ms':>8} "
                   f"{'cold %':>6} {'compute':>8} {'requests':>8} {'HTTP API':>8} {'init':>7} {'S3+DDB':>7} "
                   f"{'total':>8} {'concurrency':>11}")
    for r in rows:
        p = r.parts
        lines.append(f"{r.model:<12} {r.arch:<7} {r.memory_mb:>4} MB {r.timing.warm_ms:>8.3f} "
                     f"{r.timing.billed_ms:>3} ms {r.timing.init_ms:>8,.0f} {r.cold_fraction * 100:>6.2f} "
                     f"{p['compute']:>8.4f} {p['requests']:>8.4f} {p['api_gateway']:>8.4f} {p['init']:>7.4f} "
                     f"{p['s3_dynamodb']:>7.4f} {r.total:>8.4f} {r.concurrency(rps):>11,}")
    example = next((r for r in rows if r.memory_mb == 1024 and r.arch == "arm64"), rows[0])
    lines += ["", "formula: cost = billed duration (whole ms) x memory (GB) x price per GB-second, per request; "
              f"e.g. {example.model} {example.arch} {example.memory_mb} MB: {example.formula}",
              "init = cold share x init duration x memory x price; S3+DDB = cold share x (2 S3 GETs + 1 DynamoDB "
              "read), the S3 path's, an upper bound; concurrency = req/s x (billed duration + cold share x init)",
              "assumptions:", *(f"  - {a}" for a in ASSUMPTIONS),
              f"prices: lepton_deploy/prices.json ({price_count} prices, each with its source and date)"]
    return lines


def receipts(rows: list, where: str, cold_fraction: float, price_count: int, fallback: str) -> list[str]:
    """The deployed versions priced from their receipts (deployed.Priced rows)."""
    lines = [f"Cost per million predictions of the deployed versions, from their receipts ({where})",
             f"at each version's own architecture and memory; {cold_fraction:.2%} of requests start cold", ""]
    lines += _rule(f"{'model':<12} {'version':>7} {'arch':<7} {'memory':>7} {'p50 ms':>8} {'p99 ms':>8} "
                   f"{'billed':>7} {'init ms':>8} {'compute':>8} {'requests':>8} {'HTTP API':>8} {'init':>7} "
                   f"{'S3+DDB':>7} {'total':>8}  measured")
    for row in rows:
        r, p = row.receipt, row.parts
        init = f"{r.init_ms:>8,.0f}" if r.init_ms is not None else f"{'-':>8}"
        lines.append(f"{r.model:<12} {'v' + str(r.version):>7} {r.arch:<7} {r.memory_mb:>4} MB {r.p50_ms:>8.3f} "
                     f"{r.p99_ms:>8.3f} {r.billed_ms:>4.2f} ms {init} {p['compute']:>8.4f} {p['requests']:>8.4f} "
                     f"{p['api_gateway']:>8.4f} {p['init']:>7.4f} {p['s3_dynamodb']:>7.4f} {row.total:>8.4f}  "
                     f"{r.measured_at[:16]} ({_measured_by(r)})")
    lines += ["", "billed = the mean billed duration of the receipt's warm requests; init billed once per cold start; "
              "S3+DDB = the S3 path's reads per cold start, an upper bound",
              f"prices: lepton_deploy/prices.json ({price_count} prices, each with its source and date)"]
    if fallback:
        lines.append(fallback)
    return lines


def _measured_by(receipt) -> str:
    warm = receipt.sources.get("warm", "")
    return "local stack" if "local stack" in warm else "Lambda REPORT lines"


def simulation(runs: list[dict], profile: Profile, limits: Limits, source_line: str) -> list[str]:
    snapstart = f"on (restore {limits.restore_ms:g} ms, assumed)" if limits.snapstart else "off"
    lines = [f"Scaling simulation: {profile.description}; step {profile.step_s:g} s",
             f"limits: account concurrency {limits.account_concurrency:,}, reserved {limits.reserved or '-'}, "
             f"provisioned {limits.provisioned}, SnapStart {snapstart}, API Gateway {limits.gateway_rate:,.0f} "
             f"req/s burst {limits.gateway_burst:,.0f}, scaling 1,000 environments / 10 s, idle environments kept "
             f"{limits.keep_alive_s:g} s (assumed)", source_line, ""]
    lines += _rule(f"{'model':<12} {'arch':<7} {'memory':>7} {'served':>11} {'cold %':>7} {'throttled':>10} "
                   f"{'thr %':>6} {'p99 ms':>8} {'worst p99':>9} {'peak envs':>9} {'cost $':>9} {'$/M':>7}")
    for r in runs:
        lines.append(f"{r['model']:<12} {r['arch']:<7} {r['memory_mb']:>4} MB {r['requests_served']:>11,} "
                     f"{r['cold_share'] * 100:>7.3f} {r['throttled']:>10,} {r['throttled_share'] * 100:>6.2f} "
                     f"{r['p99_ms']:>8.1f} {r['worst_window_p99_ms']:>9.1f} {r['peak_environments']:>9,.0f} "
                     f"{r['cost_usd']:>9.2f} {r['usd_per_million_served']:>7.3f}")
    lines += ["", "p99 is the function's own latency (handler, plus init or restore when cold) over the whole run; "
              f"worst p99 is the highest in any {profile.window_s:g} s window. API Gateway and the network add to "
              "it and are not measured."]
    return lines


def _rate(rps: float | None) -> str:
    return "never" if rps is None else f"{rps:,.1f}/s"


def crossover(rows: list[dict], utilisation: float, source_line: str) -> list[str]:
    lines = ["Crossover: the steady request rate from which KServe on EC2 costs less than paying per request",
             f"{source_line}; servers run at {utilisation:.0%} of KServe's measured throughput", ""]
    lines += _rule(f"{'model':<12} {'per-request side':<34} {'$/M req':>8} {'server':<11} "
                   f"{'KServe req/s/vCPU':>17} {'capacity':>9} {'1 instance':>11} {'2 instances':>12}")
    for r in rows:
        if not r["crossovers"]:
            lines.append(f"{r['model']:<12} {r['note']}")
        for c in r["crossovers"]:
            lines.append(f"{r['model']:<12} {c['side']:<34} {c['usd_per_million_requests']:>8.3f} "
                         f"{c['instance']:<11} {c['rps_per_vcpu']:>17,.0f} {c['capacity_rps']:>9,.0f} "
                         f"{_rate(c['first_rps']):>11} {_rate(c['first_rps_two']):>12}")
    lines += ["", "A month is 730 hours. Load balancers, EBS, data transfer and running the servers are not included "
              "(they favour the servers). SageMaker's price is unverified: see lepton_deploy/prices.json."]
    return lines
