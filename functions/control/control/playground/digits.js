// The digits form: draw on a canvas (mouse, pen or finger), set the model's 8x8 cells from the
// keyboard, or pick an image file. A drawing or a file goes to the friendly route as a PNG/JPEG,
// which the function crops, centres and reduces to 8x8 as its training data was made; the answer
// echoes those 8x8 values, shown here as "what the model saw". Cells go as the 8x8 array itself.
import {bars, el, headline, percent} from "./dom.js";

const SIZE = 280;  // canvas pixels; the pen is about a tenth of a digit's height, as the NIST writers'
const PEN = 22;

export function digitsForm({name, card}) {
  const rows = card.preprocessing.height || 8;
  const cols = card.preprocessing.width || 8;
  const max = card.preprocessing.max_value || 16;
  const drawing = canvasInput();
  const cells = cellsInput(rows, cols, max);
  const file = el("input", {id: "digit-file", type: "file", accept: "image/png,image/jpeg"});
  const panels = {
    draw: el("div", {class: "mode-panel"}, drawing.element),
    cells: el("div", {class: "mode-panel", hidden: true}, cells.element),
    file: el("div", {class: "mode-panel", hidden: true},
      el("label", {for: file.id, text: "A PNG or JPEG of one digit"}), file),
  };
  let mode = "draw";
  const choose = (next) => {
    mode = next;
    for (const [key, panel] of Object.entries(panels)) panel.hidden = key !== next;
    radios.querySelector(`input[value="${next}"]`).checked = true;
  };
  const radios = el("fieldset", {class: "modes"}, el("legend", {text: "Input"}),
    ...[["draw", "Draw"], ["cells", `${rows}×${cols} cells (keyboard)`], ["file", "Image file"]].map(([key, text]) =>
      el("label", {}, el("input", {type: "radio", name: "digit-mode", value: key, checked: key === mode,
                                   onchange: () => choose(key)}), ` ${text}`)));
  const example = exampleImage(card, rows, cols);
  const loadExample = example && el("button", {type: "button", id: "digit-example", text: "Load the golden example",
                                               onclick: () => { cells.set(example); choose("cells"); }});
  return {
    element: el("div", {}, radios, panels.draw, panels.cells, panels.file, loadExample),
    request: async () => {
      if (mode === "cells") return {path: `models/${name}/predict`, body: {pixels: cells.get(), k: 3}};
      const image = mode === "draw" ? drawing.png() : await fileBase64(file);
      return {path: `models/${name}/predict`, body: {image, k: 3}};
    },
    show: (answer) => {
      const p = answer.predictions[0];
      return el("div", {class: "digit-answer"},
        el("div", {}, headline(p.digit, percent(p.score)), bars(p.top_k.map((t) => [String(t.digit), t.probability]))),
        p.pixels ? seen(p.pixels, max) : null);
    },
  };
}

function canvasInput() {
  const canvas = el("canvas", {id: "digit-canvas", width: SIZE, height: SIZE, role: "img",
                               "aria-label": "Drawing area: draw one digit with a mouse, pen or finger"});
  const ctx = canvas.getContext("2d");
  let drawn = false;
  let pen = false;
  const clear = () => {
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, SIZE, SIZE);
    drawn = false;
  };
  const at = (event) => {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * SIZE / box.width, (event.clientY - box.top) * SIZE / box.height];
  };
  canvas.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    Object.assign(ctx, {lineWidth: PEN, lineCap: "round", lineJoin: "round", strokeStyle: "#000"});
    const [x, y] = at(event);
    ctx.beginPath();
    ctx.moveTo(x, y);
    ctx.lineTo(x + 0.1, y);
    ctx.stroke();
    pen = drawn = true;
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!pen) return;
    const [x, y] = at(event);
    ctx.lineTo(x, y);
    ctx.stroke();
  });
  for (const type of ["pointerup", "pointercancel"]) canvas.addEventListener(type, () => { pen = false; });
  clear();
  return {
    element: el("div", {class: "canvas-box"}, canvas,
      el("button", {type: "button", id: "digit-clear", text: "Clear the drawing", onclick: clear})),
    png: () => {
      if (!drawn) throw new Error("draw a digit first, or use the cells or an image file");
      return canvas.toDataURL("image/png").split(",")[1];
    },
  };
}

// Toggle buttons in a grid; one tab stop, arrow keys move, Space or Enter toggles a cell.
function cellsInput(rows, cols, max) {
  const values = Array.from({length: rows}, () => Array(cols).fill(0));
  const buttons = [];
  const paint = (r, c) => {
    const b = buttons[r * cols + c];
    const v = values[r][c];
    b.setAttribute("aria-pressed", String(v > 0));
    b.style.setProperty("--ink", String(v / max));
  };
  const focus = (r, c) => {
    buttons.forEach((b) => b.setAttribute("tabindex", "-1"));
    const b = buttons[r * cols + c];
    b.setAttribute("tabindex", "0");
    b.focus();
  };
  const grid = el("div", {class: "cells", role: "group", id: "digit-cells",
                          "aria-label": `${rows} by ${cols} cells: arrow keys move, Space toggles ink`});
  grid.style.setProperty("--cols", String(cols));
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const b = el("button", {type: "button", class: "cell", tabindex: r + c === 0 ? 0 : -1,
                              "aria-label": `row ${r + 1}, column ${c + 1}`,
                              onclick: () => { values[r][c] = values[r][c] > 0 ? 0 : max; paint(r, c); }});
      b.addEventListener("keydown", (event) => {
        const moves = {ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1]};
        const move = moves[event.key];
        if (!move) return;
        event.preventDefault();
        focus(Math.min(rows - 1, Math.max(0, r + move[0])), Math.min(cols - 1, Math.max(0, c + move[1])));
      });
      buttons.push(b);
      grid.append(b);
      paint(r, c);
    }
  }
  const set = (image) => {
    image.forEach((row, r) => row.forEach((v, c) => { values[r][c] = v; paint(r, c); }));
  };
  return {
    element: el("div", {}, grid, el("button", {type: "button", id: "cells-clear", text: "Clear the cells",
                                               onclick: () => set(values.map((row) => row.map(() => 0)))})),
    get: () => values.map((row) => [...row]),
    set,
  };
}

// The golden example's first image, when it is one [rows x cols] image.
function exampleImage(card, rows, cols) {
  const image = Object.values(card.example || {})[0]?.[0];
  const fits = Array.isArray(image) && image.length === rows && image.every((r) => Array.isArray(r) && r.length === cols);
  return fits ? image : null;
}

function fileBase64(input) {
  const file = input.files[0];
  if (!file) return Promise.reject(new Error("choose an image file first"));
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",")[1]);
    reader.onerror = () => reject(new Error(`cannot read ${file.name}`));
    reader.readAsDataURL(file);
  });
}

// The 8x8 values the model read, drawn large: dark ink on white, as they were sent.
function seen(pixels, max) {
  const rows = pixels.length;
  const cols = pixels[0].length;
  const canvas = el("canvas", {width: cols, height: rows, class: "seen", role: "img",
                               "aria-label": `The ${rows} by ${cols} image the model read`});
  const image = canvas.getContext("2d").createImageData(cols, rows);
  pixels.flat().forEach((v, i) => {
    const grey = 255 - Math.round(Math.max(0, Math.min(1, v / max)) * 255);
    image.data.set([grey, grey, grey, 255], i * 4);
  });
  canvas.getContext("2d").putImageData(image, 0, 0);
  return el("figure", {}, canvas, el("figcaption", {text: "What the model saw"}));
}
