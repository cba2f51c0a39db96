"""A small HTTP/1.1 load generator, run as its own process: asyncio + uvloop, keep-alive
connections, a fixed number of concurrent clients each sending the same POST back to back.

Bounded by a request count AND a time limit, loopback only. Prints one JSON line:
requests, errors, seconds, req/s and latency percentiles in ms.

    python -m bench.loadgen --port 3000 --path /v2/models/tabular/infer --body body.json \
        --concurrency 8 --requests 5000 --max-seconds 20
"""
from __future__ import annotations

import argparse
import asyncio
import json
import time


def _percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q / 100.0
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, chunked = None, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def _client(host: str, port: int, request: bytes, budget: list[int], deadline: float,
                  latencies: list[float], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    perf = time.perf_counter
    try:
        while budget[0] > 0 and perf() < deadline:
            budget[0] -= 1
            t0 = perf()
            writer.write(request)
            try:
                status = await _read_response(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                errors[0] += 1
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            latencies.append(perf() - t0)
            if status != 200:
                errors[0] += 1
    finally:
        writer.close()


async def _run(args: argparse.Namespace) -> dict:
    body = open(args.body, "rb").read()
    request = (f"POST {args.path} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n").encode() + body
    # warm-up: each connection once, not counted
    if args.warmup:
        warm: list[float] = []
        await asyncio.gather(*[_client(args.host, args.port, request, [args.warmup], time.perf_counter() + 10,
                                       warm, [0]) for _ in range(1)])
    latencies: list[float] = []
    errors = [0]
    budget = [args.requests]
    started = time.perf_counter()
    deadline = started + args.max_seconds
    await asyncio.gather(*[_client(args.host, args.port, request, budget, deadline, latencies, errors)
                           for _ in range(args.concurrency)])
    elapsed = time.perf_counter() - started
    ordered = sorted(x * 1000.0 for x in latencies)
    return {"requests": len(latencies), "errors": errors[0], "seconds": elapsed,
            "rps": len(latencies) / elapsed if elapsed else 0.0,
            "p50_ms": _percentile(ordered, 50), "p90_ms": _percentile(ordered, 90),
            "p99_ms": _percentile(ordered, 99), "max_ms": ordered[-1] if ordered else float("nan"),
            "concurrency": args.concurrency}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--body", required=True)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--max-seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=int, default=200)
    args = parser.parse_args()
    if not args.host.startswith("127.") and args.host not in ("localhost", "::1"):
        raise SystemExit("the load generator only targets loopback addresses")
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:
        factory = None
    print(json.dumps(asyncio.run(_run(args), loop_factory=factory)), flush=True)


if __name__ == "__main__":
    main()
