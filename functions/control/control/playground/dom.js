// A few DOM helpers, so the forms read as what they show.

// el("p", {class: "x", text: "hi", onclick: f}, child, ...)
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

// A labelled input or select; `id` ties the label to it.
export function field(label, control) {
  return el("div", {class: "field"}, el("label", {for: control.id, text: label}), control);
}

export const percent = (p) => `${(p * 100).toFixed(1)} %`;

// [[label, probability], ...] as horizontal bars; the text carries the value, the bar repeats it.
export function bars(entries) {
  return el("ol", {class: "bars"}, ...entries.map(([label, p]) => {
    const bar = el("span", {class: "bar", "aria-hidden": "true"});
    bar.style.width = `${Math.max(0, Math.min(1, p)) * 100}%`;
    return el("li", {"data-label": label},
      el("span", {class: "bar-label", text: label}), el("span", {class: "bar-track"}, bar),
      el("span", {class: "bar-value", text: percent(p)}));
  }));
}

// The answer's headline: the top label, marked for tests and screen readers alike.
export function headline(label, detail) {
  return el("p", {class: "headline"}, el("strong", {"data-top": String(label), text: String(label)}), ` ${detail}`);
}

// A number when the text is one, else the text itself: the API, not the page, judges the input.
export function value(text) {
  const trimmed = String(text).trim();
  return trimmed !== "" && Number.isFinite(Number(trimmed)) ? Number(trimmed) : trimmed;
}
