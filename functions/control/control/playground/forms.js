// One form per model family, built from the model's card (GET /models/<name>/card) and its V2
// metadata. A form is {element, request(): {path, body}, show(answer): Node}. Every family
// posts to the model's friendly route; a model of any other family gets the JSON editor.
import {digitsForm} from "./digits.js";
import {bars, el, field, headline, percent, value} from "./dom.js";

const predict = (name) => `models/${name}/predict`;

function labelled(probabilities) {
  const entries = Object.entries(probabilities);
  return bars(entries.sort((a, b) => b[1] - a[1]));
}

function sentimentForm({name}) {
  const text = el("textarea", {id: "review", rows: 4, text: "The acting was great and the plot was fun."});
  return {
    element: field("A review", text),
    request: () => ({path: predict(name), body: {text: text.value}}),
    show: (answer) => {
      const p = answer.predictions[0];
      return el("div", {}, headline(p.label, percent(p.score)), labelled(p.probabilities));
    },
  };
}

function recommenderForm({name, card}) {
  const users = card.preprocessing.num_users;
  const most = Math.min(100, card.preprocessing.num_items || 100);
  const user = el("input", {id: "user", type: "number", min: 0, max: users ? users - 1 : null, step: 1, value: 7,
                            inputmode: "numeric"});
  const k = el("input", {id: "k", type: "number", min: 1, max: most, step: 1, value: 5, inputmode: "numeric"});
  return {
    element: el("div", {class: "row"}, field(users ? `User id (0 to ${users - 1})` : "User id", user),
      field(`How many items (1 to ${most})`, k)),
    request: () => ({path: predict(name), body: {user_id: value(user.value), k: value(k.value)}}),
    show: (answer) => {
      const {user_id: id, items} = answer.recommendations[0];
      return el("div", {},
        el("p", {class: "headline", text: `Top ${items.length} items for user ${id}`}),
        el("ol", {class: "items"}, ...items.map((item) =>
          el("li", {"data-item": item.item_id, text: `item ${item.item_id} · score ${item.score.toFixed(3)}`}))));
    },
  };
}

function tabularForm({name, card, metadata}) {
  const width = metadata?.inputs?.[0]?.shape?.at(-1) ?? card.preprocessing.feature_names?.length ?? 1;
  const names = card.preprocessing.feature_names || Array.from({length: width}, (_, i) => `feature ${i + 1}`);
  const example = Object.values(card.example || {})[0]?.[0] || [];
  const inputs = names.map((feature, i) =>
    el("input", {id: `feature-${i}`, type: "text", inputmode: "decimal", value: example[i] ?? 0}));
  return {
    element: el("div", {class: "row"}, ...names.map((feature, i) => field(feature, inputs[i]))),
    request: () => ({path: predict(name), body: {instances: [inputs.map((input) => value(input.value))]}}),
    show: (answer) => {
      const p = answer.predictions[0];
      if (!p.probabilities) return el("pre", {text: JSON.stringify(p, null, 2)});
      return el("div", {}, headline(p.label, percent(p.score)), labelled(p.probabilities));
    },
  };
}

function generatorForm({name, card}) {
  const classes = card.preprocessing.num_classes || 10;
  const labels = card.labels || Array.from({length: classes}, (_, i) => String(i));
  const digit = el("select", {id: "digit"}, ...labels.map((label, i) => el("option", {value: i, text: label})));
  digit.value = "3";
  const count = el("input", {id: "count", type: "number", min: 1, max: 64, step: 1, value: 4, inputmode: "numeric"});
  const seed = el("input", {id: "seed", type: "text", inputmode: "numeric", placeholder: "random"});
  return {
    element: el("div", {class: "row"}, field("Digit to draw", digit), field("How many (1 to 64)", count),
      field("Seed (optional; repeats the images)", seed)),
    request: () => {
      const body = {digit: Number(digit.value), count: value(count.value)};
      if (seed.value.trim()) body.seed = value(seed.value);
      return {path: predict(name), body};
    },
    show: (answer) => el("div", {},
      el("p", {class: "headline", text: `${answer.images.length} × digit ${labels[answer.digit]}, seed ${answer.seed}`}),
      el("div", {class: "images"}, ...answer.images.map((image, i) => el("img", {
        src: `data:image/png;base64,${image.png}`, width: 96, height: 96,
        alt: `Generated ${labels[answer.digit]}, image ${i + 1} of ${answer.images.length}`})))),
  };
}

// Any other model: the friendly route's generic body, prefilled from the golden example when it
// fits the public signature, else from the signature itself (zeros of the right shape).
function jsonForm({name, card, metadata}) {
  const editor = el("textarea", {id: "json", rows: 10, spellcheck: "false", class: "code"});
  editor.value = JSON.stringify(exampleBody(card, metadata), null, 2);
  return {
    element: field(`Request body for POST /models/${name}/predict (JSON)`, editor),
    request: () => ({path: predict(name), body: editor.value}),  // sent as typed: the API judges it
    show: (answer) => el("pre", {class: "code", text: JSON.stringify(answer, null, 2)}),
  };
}

function exampleBody(card, metadata) {
  const inputs = metadata?.inputs || [];
  const names = inputs.map((t) => t.name);
  const example = card.example || {};
  const fits = names.length > 0 && names.every((n) => n in example) && Object.keys(example).length === names.length;
  const columns = fits ? example : Object.fromEntries(inputs.map((t) => [t.name, [zeros(t)]]));
  if (names.length === 1) return {instances: columns[names[0]]};
  return {inputs: columns};
}

function zeros(tensor) {
  const fill = tensor.datatype === "BYTES" ? "" : tensor.datatype === "BOOL" ? false : 0;
  const build = (dims) => dims.length ? Array.from({length: Math.max(1, dims[0])}, () => build(dims.slice(1))) : fill;
  return build(tensor.shape.slice(1));
}

const FAMILIES = {
  digits: digitsForm, sentiment: sentimentForm, recommender: recommenderForm, tabular: tabularForm,
  generator: generatorForm,
};

export function formFor(context) {
  return (FAMILIES[context.card.family] || jsonForm)(context);
}

// Training reports baselines, cross-validation and counts beside the held-out figures: show those.
const ASIDE = /^(baseline_|cv_|real_|test_size)/;

export function describe(card) {
  const metrics = Object.entries(card.metrics || {}).filter(([k, v]) => typeof v === "number" && !ASIDE.test(k))
    .slice(0, 3).map(([k, v]) => `${k.replaceAll("_", " ")} ${v.toFixed(3)}`).join(", ");
  return [card.family ? `${card.family} model` : "model", `version ${card.version}`,
    metrics && `held-out ${metrics}`, card.labels && `labels ${card.labels.slice(0, 6).join(", ")}${
      card.labels.length > 6 ? ", …" : ""}`].filter(Boolean).join(" · ");
}
