// The deployments panel: what is live (POST /v2/repository/index), canaries, each live version's
// receipt and each model's newest drift check, and the newest attempts (GET /status, an open view
// without resource names), refreshed every few seconds.
import {call} from "./api.js";
import {el, percent} from "./dom.js";
import {receipt} from "./receipt.js";

const EVERY_MS = 2500;

export function followDeployments(onIndex) {
  const live = document.getElementById("live");
  const attempts = document.getElementById("attempts");
  const updated = document.getElementById("deployments-updated");
  const hidden = document.getElementById("hidden");

  async function refresh() {
    const [index, status] = await Promise.all([call("POST", "v2/repository/index", {}), call("GET", "status")]);
    const models = status.ok ? status.data.models : [];
    const canaries = Object.fromEntries(models.map((m) => [m.name, m.canary]));
    const receipts = Object.fromEntries(models.map((m) => [m.name, m.receipt]));
    const drifts = Object.fromEntries(models.map((m) => [m.name, m.drift]));
    if (index.ok) onIndex(index.data, canaries);
    if (index.ok) {
      live.replaceChildren(...index.data.map((model) => el("tr", {"data-model": model.name},
        el("th", {scope: "row", text: model.name}),
        el("td", {class: "live-version", text: model.version ? `v${model.version}` : model.state.toLowerCase(),
                  title: model.reason || null}),
        el("td", {class: "canary", text: canaryText(canaries[model.name])}),
        el("td", {class: "live-receipt"}, receipt(receipts[model.name])),
        el("td", {}, driftBadge(drifts[model.name], model.version)))));
    }
    if (status.ok) {
      attempts.replaceChildren(...status.data.deployments.map(attempt));
      if (!status.data.deployments.length) attempts.append(el("li", {text: "No deployment attempts yet."}));
      // `command` in the API's text is a command to run: shown as code.
      hidden.replaceChildren(...status.data.hidden.split("`").map((part, i) => i % 2 ? el("code", {text: part}) : part));
    }
    const problem = [index, status].find((r) => !r.ok);
    updated.textContent = problem ? `Last refresh failed: ${problem.error}` : `Updated ${clock(new Date())}.`;
    setTimeout(refresh, document.hidden ? EVERY_MS * 4 : EVERY_MS);
  }
  refresh();
}

function canaryText(canary) {
  if (!canary) return "none";
  return `v${canary.version} at ${percent(canary.weight)}, until ${clock(new Date(canary.promote_after))}`;
}

const DRIFT_WORDS = {ok: "no drift", warning: "moving", alarm: "drift", not_enough_data: "not enough data",
                     no_reference: "no reference"};

// The newest drift check, when it was of the version live now; its message on hover.
function driftBadge(drift, liveVersion) {
  if (!drift || String(drift.version) !== String(liveVersion)) {
    return el("span", {class: "drift unchecked", text: "not checked yet",
                       title: "The drift function has not checked this version yet."});
  }
  const worst = drift.worst_feature && drift.worst_psi !== null ? ` (${drift.worst_feature} ${drift.worst_psi.toFixed(2)})` : "";
  const text = DRIFT_WORDS[drift.level] + (drift.level === "warning" || drift.level === "alarm" ? worst : "");
  return el("span", {class: `drift ${drift.level}`, "data-level": drift.level, text,
                     title: `${drift.message}. Checked ${new Date(drift.checked_at).toLocaleString()}.`});
}

function attempt(a) {
  return el("li", {"data-outcome": a.outcome, "data-model": a.model, "data-version": a.version},
    el("time", {datetime: a.created_at, text: clock(new Date(a.created_at))}), " ",
    el("strong", {text: `${a.model} v${a.version}`}), " ",
    el("span", {class: `outcome ${a.outcome}`, text: a.outcome.replace("_", " ")}),
    a.check ? ` at check ${a.check}` : "", el("span", {class: "reason", text: a.reason}),
    ...(a.checks || []).length ? [checks(a.checks)] : []);
}

// The checks on the published version before traffic moved: pre-traffic, then the replay of
// captured requests, each with its figure (or why it was skipped).
function checks(list) {
  return el("ul", {class: "checks"}, ...list.map((c) => el("li", {"data-check": c.name, "data-outcome": c.outcome},
    el("span", {class: `check ${c.outcome}`, text: `${c.name.replace("_", "-")} ${c.outcome}`}), " ",
    el("span", {class: "summary", text: c.summary}))));
}

const clock = (date) => date.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit", second: "2-digit"});
