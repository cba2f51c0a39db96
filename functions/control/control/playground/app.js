// The playground: pick a model, get its form, show each answer with its version and latency.
import {call, setToken} from "./api.js";
import {followDeployments} from "./deployments.js";
import {el} from "./dom.js";
import {describe, formFor} from "./forms.js";
import {receipt} from "./receipt.js";

const $ = (id) => document.getElementById(id);
// cardVersion: the live version the model card (and the info line) describes.
const state = {form: null, name: "", live: {}, canary: {}, answered: "", cardVersion: null};

function showModels(index, canaries) {
  const select = $("model");
  state.live = Object.fromEntries(index.map((m) => [m.name, m.version]));
  state.canary = Object.fromEntries(Object.entries(canaries).map(([name, c]) => [name, c && String(c.version)]));
  const names = index.map((m) => m.name);
  if ([...select.options].map((o) => o.value).join() !== names.join()) {
    select.replaceChildren(...index.map((m) => el("option", {value: m.name, text: m.name})));
    const wanted = location.hash.slice(1);
    select.value = names.includes(state.name) ? state.name : names.includes(wanted) ? wanted : names[0] || "";
    if (select.value !== state.name) openModel(select.value);
  }
  const live = state.live[state.name];
  if (live && live !== state.cardVersion) openModel(state.name, {keepForm: true});
  showStale();
}

// Picking a model builds its form. When its live version changes (a push, a rollback, its first
// version), the card is read again: the info line follows, and the form, what was typed in it
// included, stays unless there was none yet.
async function openModel(name, {keepForm = false} = {}) {
  const refresh = keepForm && state.form !== null && name === state.name;
  state.cardVersion = state.live[name] ?? null;  // asked once per live version, whatever the answer
  if (!refresh) {
    state.name = name;
    state.answered = "";
    history.replaceState(null, "", `#${name}`);
    for (const id of ["answer-meta", "answer-error", "model-info", "model-receipt"]) $(id).textContent = "";
    $("result").replaceChildren();
    $("fields").replaceChildren(el("p", {class: "muted", text: "Loading…"}));
  }
  const [card, metadata] = await Promise.all([call("GET", `models/${name}/card`), call("GET", `v2/models/${name}`)]);
  if (name !== state.name) return;  // another model was picked meanwhile
  if (!card.ok) {
    if (refresh) return;
    state.form = null;
    $("fields").replaceChildren();
    $("answer-error").textContent = `${name} cannot be tried yet: ${card.error}`;
    return;
  }
  $("model-info").textContent = describe(card.data);
  // What this version measured when the deployer published it; the tooltip says how.
  $("model-receipt").replaceChildren(...(card.data.receipt
    ? [`Receipt of v${card.data.receipt.version}: `, receipt(card.data.receipt)] : []));
  if (refresh) return;
  state.form = formFor({name, card: card.data, metadata: metadata.ok ? metadata.data : null});
  $("fields").replaceChildren(state.form.element);
}

async function submit(event) {
  event.preventDefault();
  const form = state.form;
  if (!form) return;
  $("answer-error").textContent = "";
  let request;
  try {
    request = await form.request();
  } catch (err) {
    $("answer-error").textContent = err.message;
    return;
  }
  $("submit").disabled = true;
  const answer = await call("POST", request.path, request.body);
  $("submit").disabled = false;
  showRequest(request);
  const ms = `${Math.round(answer.ms)} ms`;
  if (!answer.ok) {
    $("answer-meta").replaceChildren(`HTTP ${answer.status} · `, el("span", {id: "answer-latency", text: ms}));
    $("answer-error").textContent = answer.error;
    $("result").replaceChildren();
    return;
  }
  state.answered = answer.data.model_version;
  $("answer-meta").replaceChildren("Answered by ", el("strong", {id: "answer-version", text: `v${state.answered}`}),
    ` of ${answer.data.model_name} in `, el("span", {id: "answer-latency", text: ms}),
    el("span", {id: "answer-stale"}));
  $("result").replaceChildren(form.show(answer.data));
  showStale();
}

// After a push or a rollback, say so beside the last answer; the next answer comes from it.
// An answer from a running canary is not stale.
function showStale() {
  const stale = $("answer-stale");
  const live = state.live[state.name];
  const current = [live, state.canary[state.name]].includes(state.answered);
  if (stale) stale.textContent = live && state.answered && !current ? ` · v${live} is live now` : "";
}

function showRequest({path, body}) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  const url = new URL(path, location.href).href;
  $("request-text").textContent = `curl -s ${url} -H 'content-type: application/json' -d '${text.replaceAll("'", "'\\''")}'`;
}

$("model").addEventListener("change", (event) => openModel(event.target.value));
// A link to #<model> (or Back) opens that model.
window.addEventListener("hashchange", () => {
  const name = decodeURIComponent(location.hash.slice(1));
  if (name !== state.name && [...$("model").options].some((o) => o.value === name)) {
    $("model").value = name;
    openModel(name);
  }
});
$("form").addEventListener("submit", submit);
$("token").addEventListener("input", (event) => setToken(event.target.value));
followDeployments(showModels);
