"""docs/benchmarks.md (Markdown tables) and docs/benchmarks.png (matplotlib, Agg) from one run."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

TARGETS = {
    "overhead_us": 100.0,  # serving overhead over session.run, seed model, batch 1, median
    "batch_growth": 2.0,  # overhead at batch 64 (or the function's limit) over that at batch 1
    "cold_vs_ort": 2.0,  # cold start within 2x of a bare onnxruntime process
    "tf_vs_cold": 10.0,  # >= 10x faster than the TensorFlow baseline
    "rps_c8": 3000.0,  # local API, seed model, concurrency 8
    "p99_c32_ms": 20.0,
    "idle_cpu_percent": 2.0,  # `lepton up` at rest, % of one core
    "up_vs_api": 0.9,  # `lepton up` throughput at least 90 % of the same gateway and handlers alone
    "p99_c32_vs_fastapi": 1.5,  # p99 at concurrency 32 at most 1.5x the minimal FastAPI endpoint's
    "ort_layer_arm64_mb": 130.0,
}


def _f(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.{digits}f}"


def _spread(s: dict[str, float], digits: int = 1) -> str:
    return f"{_f(s['min'], digits)}–{_f(s['max'], digits)}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out + [""]


def headline(results: dict[str, Any]) -> list[dict[str, str]]:
    """One row per target: what it is, the measurement, and whether it is met."""
    rows = []
    overhead = results.get("overhead", {}).get("models", {}).get("tabular", {}).get("1")
    if overhead:
        value = overhead["overhead_us"]
        rows.append({"what": "Serving overhead over session.run, tabular, batch 1 (median)",
                     "target": f"≤ {TARGETS['overhead_us']:.0f} µs", "measured": f"{value:.0f} µs",
                     "met": "yes" if value <= TARGETS["overhead_us"] else "no"})
    for route, label in ROUTE_LABELS.items():
        growth = batch_growth(results.get("overhead", {}).get(route, {}))
        if growth:
            worst = max(growth, key=lambda g: g["ratio"])
            measured = (f"{worst['ratio']:.2f}× ({worst['largest_us']:.0f} µs at batch {worst['batch']} vs "
                        f"{worst['first_us']:.0f} µs)" + _over(growth))
            rows.append({"what": f"Overhead at the largest batch vs batch 1, {label} (worst model: {worst['model']})",
                         "target": f"≤ {TARGETS['batch_growth']:.0f}× for every model", "measured": measured,
                         "met": "yes" if worst["ratio"] <= TARGETS["batch_growth"] else "no"})
    cold = {m: v for m, v in results.get("cold", {}).get("models", {}).items() if "lepton" in v}
    if cold:
        def ratio(variants: dict[str, Any]) -> float:
            return variants["lepton"]["total"]["median"] / variants["onnxruntime"]["total"]["median"]

        worst = max(cold.items(), key=lambda kv: ratio(kv[1]))
        rows.append({"what": f"Cold start vs bare onnxruntime process, every model (worst: {worst[0]}, "
                             f"{_source(worst[1]['lepton'])})",
                     "target": f"≤ {TARGETS['cold_vs_ort']:.0f}×", "measured": f"{ratio(worst[1]):.2f}× "
                     f"({worst[1]['lepton']['total']['median']:.0f} vs {worst[1]['onnxruntime']['total']['median']:.0f} ms)",
                     "met": "yes" if ratio(worst[1]) <= TARGETS["cold_vs_ort"] else "no"})
        tf = cold.get("tabular", {}).get("tensorflow")
        if tf:
            speedup = tf["total"]["median"] / cold["tabular"]["lepton"]["total"]["median"]
            rows.append({"what": "Cold start speed-up over TensorFlow-in-Lambda, tabular",
                         "target": f"≥ {TARGETS['tf_vs_cold']:.0f}×", "measured": f"{speedup:.1f}× "
                         f"({tf['total']['median']:.0f} vs {cold['tabular']['lepton']['total']['median']:.0f} ms)",
                         "met": "yes" if speedup >= TARGETS["tf_vs_cold"] else "no"})
    servers = results.get("http", {}).get("servers", {})
    ours = servers.get("lepton", {})
    if "8" in ours.get("tabular", {}) and "32" in ours.get("tabular", {}):
        rps = ours["tabular"]["8"]["rps"]["median"]
        rows.append({"what": "Local API throughput, tabular, concurrency 8", "target": f"≥ {TARGETS['rps_c8']:,.0f} req/s",
                     "measured": f"{rps:,.0f} req/s", "met": "yes" if rps >= TARGETS["rps_c8"] else "no"})
        p99 = ours["tabular"]["32"]["p99_ms"]["median"]
        rows.append({"what": "Local API p99 latency, tabular, concurrency 32", "target": f"≤ {TARGETS['p99_c32_ms']:.0f} ms",
                     "measured": f"{p99:.1f} ms", "met": "yes" if p99 <= TARGETS["p99_c32_ms"] else "no"})
        rows += _local_stack_rows(results)
        peers = [p for p in ("kserve", "bentoml") if p in servers]
        if peers:
            behind = []
            for model, by_c in ours.items():
                for c, ent in by_c.items():
                    if not isinstance(ent, dict) or "rps" not in ent:
                        continue
                    for peer in peers:
                        theirs = servers[peer].get(model, {}).get(c)
                        if isinstance(theirs, dict) and "rps" in theirs and theirs["rps"]["median"] >= ent["rps"]["median"]:
                            behind.append(f"{model} c={c} vs {peer}")
            rows.append({"what": "Ahead of " + " and ".join(peers) + " for every model and concurrency",
                         "target": "all cells", "measured": "ahead everywhere" if not behind else
                         "behind in " + ", ".join(behind), "met": "yes" if not behind else "no"})
    package = results.get("package", {}).get("arches", {}).get("arm64")
    if package and "OnnxRuntimeLayer" in package["layers"]:
        size = package["layers"]["OnnxRuntimeLayer"]["unzipped_mb"]
        rows.append({"what": "onnxruntime layer, arm64, unzipped", "target": f"≤ {TARGETS['ort_layer_arm64_mb']:.0f} MB",
                     "measured": f"{size:.1f} MB", "met": "yes" if size <= TARGETS["ort_layer_arm64_mb"] else "no"})
    rows += _capture_rows(results.get("capture"))
    return rows


def _capture_rows(capture: dict[str, Any] | None) -> list[dict[str, str]]:
    """The function's worst cell of capture on against off, for throughput and for p99."""
    cells = [(model, c, f) for model, by_pair in (capture or {}).get("compared", {}).items()
             for c, f in by_pair.get("function", {}).items()]
    if not cells:
        return []
    rows = []
    for key, what in (("rps_loss_percent", "Throughput lost to capturing every request"),
                      ("p99_growth_percent", "p99 growth from capturing every request")):
        model, c, figures = max(cells, key=lambda cell: cell[2][key])
        limit = capture["targets"][key]
        rows.append({"what": f"{what}, the function, every model and concurrency (worst: {model} c={c})",
                     "target": f"≤ {limit:g} %", "measured": f"{figures[key]:+.1f} %",
                     "met": "yes" if figures[key] <= limit else "no"})
    return rows


def _cells(servers: dict[str, Any], server: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(model, concurrency) -> a measured cell of ``server``."""
    return {(m, c): cell for m, by_c in servers.get(server, {}).items() for c, cell in by_c.items()
            if isinstance(cell, dict) and "rps" in cell}


def _local_stack_rows(results: dict[str, Any]) -> list[dict[str, str]]:
    """`lepton up` at rest, against the same gateway and handlers alone, and against FastAPI."""
    http = results.get("http", {})
    rows = []
    idle = http.get("idle")
    if idle:
        rows.append({"what": f"`lepton up` idle CPU (whole process tree, {idle['seconds']:.0f} s at rest)",
                     "target": f"< {TARGETS['idle_cpu_percent']:.0f} % of a core",
                     "measured": f"{idle['cpu_percent']:.2f} %",
                     "met": "yes" if idle["cpu_percent"] < TARGETS["idle_cpu_percent"] else "no"})
    servers = http.get("servers", {})
    ours, alone = _cells(servers, "lepton"), _cells(servers, "lepton-api")
    ratios = {key: ours[key]["rps"]["median"] / alone[key]["rps"]["median"] for key in ours
              if key in alone and alone[key]["rps"]["median"]}
    if ratios:
        worst = min(ratios, key=ratios.get)
        rows.append({"what": "`lepton up` throughput against the same gateway and handlers alone (lepton-api), "
                             "every model and concurrency",
                     "target": f"≥ {TARGETS['up_vs_api']:.0%}",
                     "measured": f"{min(ratios.values()):.0%}–{max(ratios.values()):.0%} "
                                 f"(lowest: {worst[0]} c={worst[1]})",
                     "met": "yes" if ratios[worst] >= TARGETS["up_vs_api"] else "no"})
    floor = _cells(servers, "fastapi")
    key = ("tabular", "32")
    if key in ours and key in floor:
        ratio = ours[key]["p99_ms"]["median"] / floor[key]["p99_ms"]["median"]
        rows.append({"what": "`lepton up` p99 at concurrency 32 against the minimal FastAPI endpoint, tabular",
                     "target": f"≤ {TARGETS['p99_c32_vs_fastapi']:.1f}×",
                     "measured": f"{ratio:.2f}× ({ours[key]['p99_ms']['median']:.1f} vs "
                                 f"{floor[key]['p99_ms']['median']:.1f} ms)",
                     "met": "yes" if ratio <= TARGETS["p99_c32_vs_fastapi"] else "no"})
    return rows


def markdown(results: dict[str, Any], chart: str | None) -> str:
    meta = results["meta"]
    lines = ["# Lepton benchmarks", "",
             f"Measured {meta['date']} on one machine in one run: `{meta['command']}`"
             + (" (**quick mode: tiny counts, a smoke test — not for decisions**)" if meta["quick"] else "") + ".", "",
             f"Machine: {meta['machine']['cores']} cores, {meta['machine']['cpu']}, {meta['machine']['memory']}, "
             f"{meta['machine']['arch']}, Linux {meta['machine']['kernel']}, Python {meta['machine']['python']}. "
             f"Load average at start / end: {meta['load_start']} / {meta.get('load_end', '–')} "
             "(the machine is shared: other work ran during the run, so treat absolute numbers as noisy; "
             "ratios are measured side by side in the same run)."
             + (" Load average (1/5/15 min) as each section began: "
                + "; ".join(f"{k} {v}" for k, v in meta["load_at"].items()) + "." if meta.get("load_at") else ""), "",
             "Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + ".", ""]
    if chart:
        lines += [f"![benchmarks]({chart})", ""]
    rows = headline(results)
    lines += ["## Headline: the targets", ""]
    lines += _table(["What", "Target", "Measured", "Met"], [[r["what"], r["target"], r["measured"], r["met"]]
                                                           for r in rows]) if rows else ["(no section ran)", ""]
    lines += _reading(results)
    lines += _cold(results.get("cold")) + _overhead(results.get("overhead")) + _http(results.get("http"))
    lines += _package(results.get("package")) + _redeploy(results.get("redeploy")) + _soak(results.get("soak"))
    lines += _batch(results.get("batch"))
    lines += _capture(results.get("capture"))
    lines += ["## Method", "",
              "- **Cold start**: each run is a fresh `python -I -S` process whose sys.path is the function's "
              "CodeUri, the serving layer and the venv's site-packages (as Lambda's /var/task, /opt/python, "
              "runtime). It imports the handler module, reads the model, creates the session in the init phase "
              "(`Handler.warm`, as `serve()` does in Lambda) and answers the function's `events/<model>/infer.json`. "
              "*Lepton, model layer*: the version's model.onnx and manifest.json in a LEPTON_MODEL_DIR laid out as "
              "the model layer lands in /opt/lepton-model, pinned by LEPTON_MODEL_SHA256 and "
              "LEPTON_MANIFEST_SHA256 (how a deployed version holds its model); *Lepton, model from S3*: the same "
              "version fetched from a moto S3 server (fresh cache dir). *Total* runs from just before the parent "
              "spawns the process to the first response; stages are timed inside the child. onnxruntime's "
              "import is counted under imports. Baselines: a bare process that imports numpy + onnxruntime, "
              "creates a session from the same file and runs the same request; and TensorFlow-in-Lambda: "
              "`import tensorflow`, download the Keras model from S3, `tf.keras.models.load_model`, "
              "`model.predict` (training saves no Keras model, so the baseline uses one of the same "
              "architecture trained for a few steps). All processes of one model are interleaved, round by round.",
              "- **Warm overhead**: in-process, the same handler object Lambda would keep warm, called with "
              "the function's API Gateway v2 events (`infer.json` cut to 1, 8 or 64 rows; the predict event's "
              "rows repeated to as many; the function's own limit when lower), stdout to /dev/null, each "
              "call timed on its own, interleaved blocks of raw `session.run` (on the feed the route "
              "builds) and handler calls. Overhead = handler median − raw median. Each stage of the route "
              "is then timed alone on the same request.",
              "- **HTTP**: each server is its own process; the load generator (`bench/loadgen.py`, asyncio + "
              "uvloop, keep-alive) is another, bounded in requests and seconds, loopback only. Lepton is "
              "`lepton up` itself, started on its own ports with `--no-train --models ...` and a state folder "
              "holding the benchmark's models, which its own S3 -> SQS -> deployer path promotes (local AWS on "
              "a thread, API Gateway v2 events, FunctionHost, the version's environment from the `live` alias, "
              "EMF metrics to the local CloudWatch, the function log). Before the load it is measured at rest: "
              "psutil's CPU time of its whole process tree over 60 s, 5 s after its first answers. `lepton-api` "
              "is the same LocalGateway + asgi_app + FunctionHost alone (bench/servers/lepton_api.py), and "
              "`lepton up`, `lepton-api` and FastAPI take turns for each concurrency and repeat. KServe "
              "(custom `kserve.Model` on onnxruntime, `ModelServer` with `--workers 1 --enable_grpc false "
              "--enable_latency_logging false`) and BentoML (`@bentoml.service(workers=1, "
              "resources={'cpu': '1'})`, access log off, `bentoml serve`) run from their own venvs "
              "(`.venv-bench-kserve`, `.venv-bench-bentoml`, pinned in `bench/venvs.py`). Every server "
              "uses onnxruntime 1.32 with one intra-op thread (the function's 1024 MB is one vCPU). Same "
              "request body (flat V2 JSON, one row) for all, except where noted.",
              "- **Package size**: layers built by `make -f layers/<x>/Makefile build-<Resource> "
              "ARTIFACTS_DIR=… ARCH=…`; unzipped = sum of file sizes, zipped = deflate level 6.",
              "- Spread: IQR or min–max over repeats, as labelled. Raw results: `.lepton/bench/latest.json`; "
              "their median, p99, min and max are committed as `docs/benchmarks.json`, which `lepton cost` reads.", ""]
    return "\n".join(lines)


def _reading(results: dict[str, Any]) -> list[str]:
    """Where the time goes, computed from this run's numbers."""
    lines = []
    cold = results.get("cold", {}).get("models", {}).get("tabular")
    if cold and "lepton" in cold:
        ours, s3, bare = cold["lepton"], cold.get("lepton_s3"), cold["onnxruntime"]
        lines.append(f"- Cold start (tabular): Lepton takes {ours['total']['median']:.0f} ms with the model "
                     f"{_source(ours)}, against {bare['total']['median']:.0f} ms for a bare onnxruntime process. "
                     f"Imports take {ours['imports']['median']:.0f} ms against {bare['imports']['median']:.0f} ms for "
                     "numpy + onnxruntime alone (the rest is Powertools' Logger and Metrics, orjson and "
                     f"lepton_serving); reading and verifying the model {_stage(ours, 'model'):.0f} ms"
                     + (f"; from S3 (importing boto3, the client, two GETs, sha256) {_stage(s3, 'model'):.0f} ms"
                        if s3 else "") + ". Session creation and the first inference are a few ms in both. "
                     "TensorFlow's import alone is "
                     + (f"{cold['tensorflow']['imports']['median']:.0f} ms." if "tensorflow" in cold else "not measured."))
    overhead = results.get("overhead", {}).get("models", {}).get("tabular", {}).get("1")
    if overhead:
        lines.append(f"- Warm overhead (tabular, batch 1): {overhead['overhead_us']:.0f} µs over a "
                     f"{overhead['raw_us']['median']:.0f} µs session.run: the route match, V2 decode/validation and "
                     "encode, the EMF metrics line, logger keys.")
    for route, label in ROUTE_LABELS.items():
        by_model = results.get("overhead", {}).get(route, {})
        for g in batch_growth(by_model):
            if g["ratio"] <= TARGETS["batch_growth"]:
                continue
            first, last = (by_model[g["model"]][b].get("split_us") or {} for b in ("1", str(g["batch"])))
            grew = sorted(((last[s] - first.get(s, 0.0), s) for s in SPLIT if s in last), reverse=True)[:2]
            lines.append(f"- Batch growth, {g['model']} ({label}): {g['first_us']:.0f} µs at batch 1, "
                         f"{g['largest_us']:.0f} µs at batch {g['batch']} ({g['ratio']:.1f}×); most of the growth is "
                         + " and ".join(f"{stage} (+{delta:.0f} µs)" for delta, stage in grew) + ".")
    servers = results.get("http", {}).get("servers", {})
    ours, floor = servers.get("lepton", {}), servers.get("fastapi", {})
    ratios = [ours[m][c]["rps"]["median"] / floor[m][c]["rps"]["median"] for m in ours if m in floor
              for c in ours[m] if isinstance(ours[m][c], dict) and "rps" in ours[m][c]
              and isinstance(floor[m].get(c), dict) and "rps" in floor[m][c]]
    if ratios:
        lines.append(f"- HTTP: the minimal FastAPI endpoint (no API Gateway emulation, validation, metrics or logs) is "
                     "the ceiling for one Python server process on this machine; Lepton reaches "
                     f"{min(ratios):.0%}–{max(ratios):.0%} of it with the full emulation.")
    return (["## Reading the numbers", "", *lines, ""] if lines else [])


VARIANTS = {"lepton": "lepton, model layer", "lepton_s3": "lepton, model from S3", "onnxruntime": "onnxruntime",
            "tensorflow": "tensorflow"}
#: Import steps of a cold start (bench/imports.py): what each is, and whether init imports it.
IMPORT_STEPS = {
    "numpy": ("numpy", "init"), "orjson": ("orjson", "init"),
    "powertools": ("Powertools: Logger and Metrics (its package; imports botocore's top module only)", "init"),
    "lepton_serving": ("lepton_serving: routes, data plane, V2 protocol, manifest, telemetry", "init"),
    "function": ("the function's own package", "init"),
    "onnxruntime": ("onnxruntime (on the model load, in init)", "init"),
    "boto3": ("boto3 and an S3 client", "S3 path only"),
    "xray": ("Powertools' Tracer: the X-Ray SDK (with botocore)", "Tracing=Active only"),
    "pillow": ("Pillow", "digits' first image, generator's first PNG"),
    "resolver": ("Powertools' HTTP resolver (event_handler)", "never: replaced by routes.py"),
    "tokenizers": ("Hugging Face tokenizers (the TokenizersLayer)", "a model with a tokenizer.json, on its load"),
}


def _stage(st: dict[str, Any] | None, name: str) -> float:
    """A stage's median (results before the `model` stage was named called it `download`)."""
    if not st:
        return float("nan")
    entry = st.get(name) or (st.get("download") if name == "model" else None)
    return entry["median"] if entry else float("nan")


def _source(st: dict[str, Any]) -> str:
    """Where a Lepton row's runs read the model: the directory only if none imported boto3."""
    if "boto3_imported" not in st:
        return "from S3"
    return "from the model layer's directory" if not st["boto3_imported"] else "from S3"


def _cold(cold: dict[str, Any] | None) -> list[str]:
    lines = ["## 1. Cold start", ""]
    if not cold:
        return lines + ["Not run.", ""]
    lines += [f"Medians over {cold['repeats']} fresh processes (TensorFlow: {cold['tf_repeats']}), in ms; "
              "spread = min–max of the total. *Model* is reading and checking the model (for S3: importing "
              "boto3, the client, two GETs and the sha256; for TensorFlow the Keras file's download).", ""]
    rows = []
    fallbacks = []
    for model, variants in cold["models"].items():
        base = variants["onnxruntime"]["total"]["median"]
        for variant, st in variants.items():
            label = VARIANTS.get(variant, variant)
            if variant == "lepton" and _source(st) != "from the model layer's directory":
                fallbacks.append(model)
                label += " (fell back to S3)"
            rows.append([model, label, _f(st["interpreter"]["median"]), _f(st["imports"]["median"]),
                         _f(_stage(st, "model")), _f(st["session"]["median"]),
                         _f(st["first_inference"]["median"]), _f(st["total"]["median"]), _spread(st["total"], 0),
                         f"{st['total']['median'] / base:.2f}×"])
    lines += _table(["Model", "Process", "Interpreter", "Imports", "Model", "Session / load",
                     "First inference", "Total (median)", "Total min–max", "vs bare onnxruntime"], rows)
    if fallbacks:
        lines.append(f"- {', '.join(fallbacks)}: LEPTON_MODEL_DIR was set, but the runs imported boto3 and read "
                     "the model from S3: this build has no reader for the model layer's directory.")
    for model, error in cold.get("errors", {}).items():
        lines.append(f"- {model}: not measured: {error}")
    return lines + [""] + _imports(cold.get("imports"))


def _imports(found: dict[str, Any] | None) -> list[str]:
    if not found:
        return []
    lines = ["### What a cold start imports", "",
             f"The {found['model']} function, step by step in the order a cold start meets them, in fresh "
             f"`python -I -S -X importtime` processes (medians of {found['repeats']}): each step's time is the "
             "sum of importtime's cumulative times for the modules it imported first; wall time includes "
             "creating the client or tracer where the step does. The rows not marked *init* are imports a cold "
             "start does not make, each measured on top of the init imports in its own process.", ""]
    rows = []
    for name, (what, when) in IMPORT_STEPS.items():
        entry = found["steps"].get(name)
        if entry:
            rows.append([what, when, _f(entry["ms"]["median"]), _f(entry["wall_ms"]["median"]),
                         _spread(entry["ms"])])
    return lines + _table(["Import", "When", "importtime ms (median)", "Wall ms (median)", "importtime min–max"],
                          rows)


#: results["overhead"] keys: the V2 route under "models" (what `lepton cost` reads), the same
#: requests with binary tensors, the friendly route
ROUTE_LABELS = {"models": "V2 route", "binary": "V2 binary route", "predict": "friendly route"}
SPLIT = ("decode", "preprocess", "postprocess", "encode", "rest")


def batch_growth(by_model: dict[str, Any]) -> list[dict[str, Any]]:
    """Per model: the median overhead at batch 1 and at its largest measured batch, and their ratio."""
    growth = []
    for model, batches in by_model.items():
        largest = max(batches, key=int, default=None)
        if "1" not in batches or largest in (None, "1"):
            continue
        first, last = _paired(batches["1"]), _paired(batches[largest])
        growth.append({"model": model, "batch": int(largest), "first_us": first, "largest_us": last,
                       "ratio": last / first if first > 0 else float("inf")})
    return growth


def _paired(cell: dict[str, Any]) -> float:
    """The paired overhead (each call minus its own session.run); runs before it had only medians."""
    return cell["paired_us"]["median"] if "paired_us" in cell else cell["overhead_us"]


def _over(growth: list[dict[str, Any]]) -> str:
    over = [g["model"] for g in growth if g["ratio"] > TARGETS["batch_growth"]]
    return f"; over: {', '.join(over)}" if over else ""


def _overhead(overhead: dict[str, Any] | None) -> list[str]:
    lines = ["## 2. Warm serving overhead", ""]
    if not overhead:
        return lines + ["Not run.", ""]
    budget = overhead.get("budget_s")
    lines += [f"Up to {overhead['iterations']} timed calls per cell"
              + (f" (a slow cell gets about {budget:g} s of calls per side, at least 100)" if budget else "")
              + ", in µs. V2: `POST /v2/models/<name>/infer` with JSON tensors; V2 binary: the same request "
              "with every tensor in the binary extension, both ways; friendly: `POST /models/<name>/predict`.", ""]
    rows = []
    for route, label in ROUTE_LABELS.items():
        for model, batches in overhead.get(route, {}).items():
            for batch, r in batches.items():
                rows.append([model, label.removesuffix(" route"), batch, _f(r["raw_us"]["median"]),
                             _f(r["handler_us"]["median"]), f"{_f(r['handler_us']['q1'])}–{_f(r['handler_us']['q3'])}",
                             _f(r["handler_us"]["p99"]), _f(r["overhead_us"]), _f(r["overhead_p99_us"]),
                             _f(_paired(r)), f"{r['ratio']:.1f}×"])
    lines += _table(["Model", "Route", "Batch", "session.run median", "Handler median", "Handler IQR", "Handler p99",
                     "Overhead (median)", "Overhead (p99)", "Overhead, paired", "Handler / raw"], rows)
    growth_rows = [[g["model"], label.removesuffix(" route"), _f(g["first_us"]), str(g["batch"]), _f(g["largest_us"]),
                    f"{g['ratio']:.2f}×", "yes" if g["ratio"] <= TARGETS["batch_growth"] else "no"]
                   for route, label in ROUTE_LABELS.items() for g in batch_growth(overhead.get(route, {}))]
    if growth_rows:
        lines += ["*Overhead, paired*: the median over handler calls of each call's time minus its own "
                  "session.run (the session wrapped to time it): a long, noisy session.run cancels out, which a "
                  "difference of two medians cannot promise. It also counts the slower session.run of a handler "
                  "call (caches cooled by the rest of the request).", "",
                  f"Growth with the batch, paired overhead (target: at most {TARGETS['batch_growth']:.0f}× the "
                  "batch-1 overhead at batch 64, or at the function's own limit when lower):", ""]
        lines += _table(["Model", "Route", "Overhead at batch 1", "Largest batch", "Overhead there", "× batch 1",
                         f"≤ {TARGETS['batch_growth']:.0f}×"], growth_rows)
    split_rows = []
    for route, label in ROUTE_LABELS.items():
        for model, batches in overhead.get(route, {}).items():
            for batch in sorted({"1", max(batches, key=int)}, key=int):
                split = batches[batch].get("split_us")
                if split:
                    split_rows.append([model, label.removesuffix(" route"), batch,
                                       *(_f(split.get(stage)) for stage in SPLIT)])
    if split_rows:
        lines += ["Where the overhead goes (medians of each stage timed alone, in µs): *decode* is the body's JSON "
                  "(and images) into tensors, *preprocess* / *postprocess* the model's own steps around "
                  "`session.run` (tokenising, id checks), *encode* the answer's JSON, and *rest* the paired "
                  "overhead minus those: the route match, the event, the response, the metrics line, and "
                  "caches cooled between the stages.", ""]
        lines += _table(["Model", "Route", "Batch", *(stage.capitalize() for stage in SPLIT)], split_rows)
    for model, error in overhead.get("errors", {}).items():
        lines.append(f"- {model}: not measured: {error}")
    return lines + [""]


def _http(http: dict[str, Any] | None) -> list[str]:
    lines = ["## 3. HTTP throughput and latency (loopback)", ""]
    if not http:
        return lines + ["Not run.", ""]
    rows = []
    servers = http["servers"]
    for model in next(iter(servers.values()), {}):
        for c in map(str, http["concurrency"]):
            ours = servers.get("lepton", {}).get(model, {}).get(c)
            for server, by_model in servers.items():
                r = by_model.get(model, {}).get(c)
                if not r:
                    continue
                if ours and "rps" not in ours:
                    ours = None
                vs = f"{ours['rps']['median'] / r['rps']['median']:.2f}×" if ours and r["rps"]["median"] else "–"
                rows.append([model, c, server, _f(r["rps"]["median"], 0), _spread(r["rps"], 0),
                             _f(r["p50_ms"]["median"], 2), _f(r["p99_ms"]["median"], 2), str(r["errors"]), vs])
    lines += _table(["Model", "Concurrency", "Server", "req/s (median)", "req/s min–max", "p50 ms", "p99 ms",
                     "Errors", "Lepton / this"], rows)
    lines.append("`lepton` is `lepton up` itself (its own ports and state folder, `--no-train`, the benchmark's "
                 "models promoted by its own deployer); `lepton-api` is the same gateway and handlers alone "
                 "(bench/servers/lepton_api.py: no local AWS, no metrics forwarding). For each model and "
                 "concurrency the servers take turns, repeat after repeat, all running at once.")
    idle = http.get("idle")
    if idle:
        lines.append(f"At rest, before the load, `lepton up` used {idle['cpu_percent']:.2f} % of one core over "
                     f"{idle['seconds']:.0f} s ({idle['cpu_seconds']:.2f} CPU seconds; by "
                     f"{len(idle['windows_percent'])} windows "
                     + ", ".join(f"{w:.2f}" for w in idle["windows_percent"]) + " %), its whole process tree "
                     f"sampled with psutil, {idle['threads']} threads.")
    lines.append("")
    for key, note in http.get("notes", {}).items():
        lines.append(f"- {key}: {note}")
    for server, by_model in servers.items():
        for model, r in by_model.items():
            if "error" in r:
                lines.append(f"- {server} / {model}: not measured: {r['error']}")
    return lines + [""]


def _package(package: dict[str, Any] | None) -> list[str]:
    lines = ["## 4. Package size", ""]
    if not package:
        return lines + ["Not run.", ""]
    rows = []
    for arch, entry in package["arches"].items():
        for layer, size in entry["layers"].items():
            rows.append([arch, layer, _f(size["unzipped_mb"]), _f(size["zipped_mb"]), "–"])
        for model, size in entry["functions"].items():
            rows.append([arch, f"{model}: function + layers", _f(size["total_unzipped_mb"]),
                         _f(size["total_zipped_mb"]), _f(size["headroom_mb"])])
    if package.get("tensorflow"):
        tf = package["tensorflow"]
        rows.append(["x86_64", f"TensorFlow: {tf['wheel']} alone", _f(tf["unzipped_mb"]), _f(tf["zipped_mb"]),
                     _f(package["limits"]["unzipped_mb"] - tf["unzipped_mb"])])
    lines += _table(["Arch", "What", "Unzipped MB", "Zipped MB", "Headroom to 250 MB"], rows)
    lines.append(f"Lambda limits: {package['limits']['unzipped_mb']:.0f} MB unzipped (function + layers), "
                 f"{package['limits']['zipped_mb']:.0f} MB zipped for direct upload. MB = MiB.")
    for note in package.get("notes", []):
        lines.append(f"- {note}")
    return lines + [""]


def _redeploy(redeploy: dict[str, Any] | None) -> list[str]:
    lines = ["## 5. Redeploy latency", ""]
    if not redeploy or not redeploy.get("measured"):
        reason = (redeploy or {}).get("reason", "section not run")
        return lines + [f"**Not measured yet**: {reason}.", ""]
    ms = redeploy["ms"]
    return lines + _table(["Model", "Upload (model.onnx, then manifest.json) → first response by the new version (median)", "min–max",
                           "Repeats"], [[redeploy["model"], f"{ms['median']:.0f} ms", _spread(ms, 0),
                                         str(redeploy["repeats"])]])


def _soak(soak: dict[str, Any] | None) -> list[str]:
    lines = ["## 6. Soak", ""]
    if not soak:
        return lines + ["Not run.", ""]
    rss = soak["rss_mib"]
    duration = f"{soak['seconds'] / 60:.0f} min" if soak["seconds"] >= 120 else f"{soak['seconds']} s"
    lines += [f"`lepton up` itself under load for {duration} at concurrency {soak['concurrency']} "
              f"(every model at once, one V2 request after another on keep-alive connections).", ""]
    lines += _table(["Requests", "Non-200 answers", "req/s", "RSS at start", "RSS at end", "RSS max",
                     "Function log per request"],
                    [[f"{soak['requests']:,}", str(soak["errors"]), f"{soak['rps']:,.0f}", f"{rss['start']:.0f} MiB",
                      f"{rss['end']:.0f} MiB", f"{rss['max']:.0f} MiB",
                      f"{soak['log_bytes_per_request']:.0f} bytes"]])
    lines += _table(["Model", "Requests", "Non-200", "req/s", "p50", "p99"],
                    [[name, f"{m['requests']:,}", str(m["errors"]), f"{m['rps']:,.0f}", f"{m['p50_ms']:.2f} ms",
                      f"{m['p99_ms']:.2f} ms"] for name, m in sorted(soak["models"].items())])
    return lines


def _batch(batch: dict[str, Any] | None) -> list[str]:
    lines = ["## 7. Batch scoring", ""]
    if not batch:
        return lines + ["Not run.", ""]
    lines += [f"One model function scoring the Distributed Map's batch event in-process (rows in V2 form, "
              f"docs/batch.md): one invocation at the batch limit and at 16 times it, then {batch['rows']:,} rows "
              "in batches of the limit through one handler, as one execution environment scores them. Step "
              "Functions and S3 are not in these numbers.", ""]
    rows = []
    for name, by_size in sorted(batch["models"].items()):
        sizes = sorted((int(k) for k in by_size if k.isdigit()))
        cells = [f"{by_size[str(n)]['invocation_ms']['median']:.2f} ms ({n} rows)" for n in sizes]
        rows.append([name, *cells, f"{by_size['run']['rows_per_s']:,.0f}", f"{by_size['run']['seconds']:.1f} s"])
    return lines + _table(["Model", "One batch (median)", "16 × the batch (median)", "Rows/s, one environment",
                           f"{batch['rows']:,} rows took"], rows)


def _capture(capture: dict[str, Any] | None) -> list[str]:
    lines = ["## 8. Payload capture", ""]
    if not capture:
        return lines + ["Not run.", ""]
    targets = capture["targets"]
    lines += ["Every request captured against none, side by side in one run, measured in turn at each concurrency. "
              "**function**: the gateway and handlers alone, LEPTON_CAPTURE_SAMPLE_RATE 1 against 0; each record "
              "is built and written as a line to the function log, what a Lambda function pays (CloudWatch Logs "
              "and Firehose carry it from there). **lepton up**: `--capture-rate 1` (what `make up` runs) against "
              "0; each record also goes through the capture agent, moto's CloudWatch Logs, subscription filter "
              "and Firehose stream to the local S3, work done outside the function in AWS. Targets (the "
              f"function): at most {targets['rps_loss_percent']:g} % fewer requests per second, at most "
              f"{targets['p99_growth_percent']:g} % longer p99. A negative figure: the capturing server was the "
              "faster one in that cell, within the machine's noise.", ""]
    rows = []
    for name, by_pair in sorted(capture["compared"].items()):
        measured = capture["models"][name]
        for pair, by_c in by_pair.items():
            on_name, off_name = capture["pairs"][pair]
            for c, figures in by_c.items():
                on, off = measured[on_name][c], measured[off_name][c]
                rows.append([name, pair, c, f"{off['rps']['median']:,.0f}", f"{on['rps']['median']:,.0f}",
                             f"{figures['rps_loss_percent']:+.1f} %", f"{off['p99_ms']['median']:.2f} ms",
                             f"{on['p99_ms']['median']:.2f} ms", f"{figures['p99_growth_percent']:+.1f} %",
                             str(on["errors"] + off["errors"])])
    lines += _table(["Model", "Server", "Concurrency", "req/s off", "req/s on", "Throughput lost", "p99 off", "p99 on",
                     "p99 growth", "Errors"], rows)
    lines += ["Records that reached the local S3 from `lepton up` in the run: "
              + ", ".join(f"{k} {v:,}" for k, v in sorted((capture.get("captured") or {}).items())) + ".", ""]
    return lines


def chart(results: dict[str, Any], path: Path) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [k for k in ("cold", "overhead", "http") if results.get(k)]
    if not panels:
        return False
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.2))
    axes = [axes] if len(panels) == 1 else list(axes)
    for ax, key in zip(axes, panels):
        if key == "cold":
            model = "tabular" if "tabular" in results["cold"]["models"] else next(iter(results["cold"]["models"]))
            variants = results["cold"]["models"][model]
            stages = ["interpreter", "imports", "model", "session", "first_inference"]
            bottom = [0.0] * len(variants)
            for stage in stages:
                values = [_stage(variants[v], stage) for v in variants]
                ax.bar([VARIANTS.get(v, v).replace(", ", "\n") for v in variants], values, bottom=bottom, label=stage)
                bottom = [b + v for b, v in zip(bottom, values)]
            ax.set_ylabel("ms (median per stage)")
            ax.set_title(f"Cold start, {model}")
            ax.legend(fontsize=7)
        elif key == "overhead":
            for model, batches in results["overhead"]["models"].items():
                ax.plot([int(b) for b in batches], [r["overhead_us"] for r in batches.values()], marker="o", label=model)
            ax.axhline(TARGETS["overhead_us"], color="grey", linestyle="--", linewidth=1, label="target")
            ax.set_xscale("log", base=2)
            ax.set_xlabel("batch")
            ax.set_ylabel("µs over session.run (median)")
            ax.set_title("Warm serving overhead")
            ax.legend(fontsize=7)
        else:
            servers = results["http"]["servers"]
            models = list(next(iter(servers.values()), {}))
            width = 0.8 / max(1, len(servers))
            for i, (server, by_model) in enumerate(servers.items()):
                values = [by_model.get(m, {}).get("8", {}).get("rps", {}).get("median", 0.0) for m in models]
                ax.bar([j + i * width for j in range(len(models))], values, width=width, label=server)
            ax.set_xticks([j + width * (len(servers) - 1) / 2 for j in range(len(models))], models)
            ax.set_ylabel("req/s at concurrency 8")
            ax.set_title("HTTP throughput (loopback)")
            ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
