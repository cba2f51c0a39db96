// A version's receipt (what the deployer measured when it published it) in one line, and where
// each figure came from as the line's tooltip.
import {el} from "./dom.js";

export function receiptText(r) {
  if (!r) return "not measured";
  const init = r.init_ms == null ? "init not measured" : `init ${Math.round(r.init_ms)} ms`;
  const memory = r.max_memory_mb == null ? `${r.memory_mb} MB` : `${r.max_memory_mb} of ${r.memory_mb} MB`;
  return `${init} · p50 ${r.p50_ms.toFixed(2)} ms · p99 ${r.p99_ms.toFixed(2)} ms · ${memory} · ` +
    `$${r.usd_per_million.toFixed(4)} per million`;
}

export function receiptSources(r) {
  if (!r) return null;
  const lines = Object.entries(r.sources || {}).map(([figure, source]) => `${figure}: ${source}`);
  return [`v${r.version}, measured ${r.measured_at.slice(0, 19).replace("T", " ")} UTC over ${r.requests} requests`,
    ...lines].join("\n");
}

export function receipt(r, attrs = {}) {
  return el("span", {class: "receipt", title: receiptSources(r), text: receiptText(r), ...attrs});
}
