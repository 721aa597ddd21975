// The topic tree beside the map (a Streamlit component, in the app's document):
// broad -> fine, sizes (visible / all under a filter), weak names and fragile clusters
// marked. Clicking a topic zooms the map to it at once (ui/static/zoomlabels.js's
// zoomTo, no server round trip) and tells Python, which highlights its papers and puts
// it in the URL. Names are data: set with textContent only.
const CSS = `
:host{display:block}
.tree{font:13px/1.35 var(--st-font, sans-serif);color:#111827;max-height:540px;overflow:auto;
  border:1px solid #e5e7eb;border-radius:6px;padding:4px 2px}
.row{display:flex;align-items:center;gap:4px;padding:1px 4px;border-radius:4px}
.row:hover{background:#f3f4f6}
.row.sel{background:#e0ecfb}
.row.empty .name,.row.empty .n{opacity:.45}
.tw{width:16px;height:16px;border:0;background:none;padding:0;cursor:pointer;flex:none;
  position:relative}
.tw::before{content:"";position:absolute;left:5px;top:4px;border:4px solid transparent;
  border-left:6px solid #6b7280}
.tw.open::before{left:3px;top:6px;border:4px solid transparent;border-top:6px solid #6b7280}
.tw.leaf{visibility:hidden}
.sw{width:9px;height:9px;border-radius:2px;flex:none}
.name{flex:1;min-width:0;border:0;background:none;padding:0;text-align:left;cursor:pointer;
  font:inherit;color:inherit;overflow-wrap:anywhere}
.d0>.name{font-weight:700}
.d1>.name{font-weight:600}
.n{color:#6b7280;font-size:12px;flex:none;font-variant-numeric:tabular-nums}
.flag{font-size:10.5px;border-radius:8px;padding:0 5px;flex:none;border:1px solid}
.flag.weak{color:#92400e;border-color:#f59e0b;background:#fffbeb}
.flag.fragile{color:#6b21a8;border-color:#a855f7;background:#faf5ff}
.kids{margin-left:14px}
.kids[hidden]{display:none}
.note{color:#6b7280;font-size:11.5px;padding:4px 6px 2px}`;
const openByChart = new Map();

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function title(node) {
  const parts = [node.t];
  if (node.o) parts.push("Named by a language model; offline name: " + node.o);
  if (node.desc) parts.push(node.desc);
  if (node.terms && node.terms.length) parts.push("Key phrases: " + node.terms.join(", "));
  if (node.w) parts.push("Weak name: few of its papers use the name's most specific term.");
  if (node.f) parts.push("Fragile: this topic does not hold together when the map is fitted " +
                         "on resampled papers.");
  return parts.join("\n");
}

export default function (component) {
  const {data, parentElement, setTriggerValue} = component;
  const nodes = data.nodes || [];
  const open = openByChart.get(data.chart) || new Set();
  openByChart.set(data.chart, open);
  const byKey = new Map(nodes.map((n) => [n.k, n]));
  for (let k = data.selected; k && byKey.has(k); k = byKey.get(k).p) {
    open.add(k); // the selected topic is in sight, its sub-topics open
  }
  const kids = new Map();
  for (const n of nodes) {
    if (!kids.has(n.p)) kids.set(n.p, []);
    kids.get(n.p).push(n);
  }
  parentElement.textContent = "";
  const style = el("style");
  style.textContent = CSS;
  const root = el("div", "tree");
  root.setAttribute("role", "tree");
  parentElement.append(style, root);

  const fmt = (v) => v.toLocaleString("en-US");
  function add(where, node) {
    const row = el("div", "row d" + Math.min(node.d, 3));
    row.dataset.key = node.k;
    row.setAttribute("role", "treeitem");
    row.title = title(node);
    const children = kids.get(node.k) || [];
    const toggle = el("button", "tw" + (children.length ? "" : " leaf"));
    toggle.type = "button";
    toggle.setAttribute("aria-label", "Show or hide its sub-topics");
    const swatch = el("span", "sw");
    swatch.style.background = data.colours[node.k] || "#9ca3af";
    const name = el("button", "name", node.t);
    name.type = "button";
    const count = node.v === null || node.v === undefined ? fmt(node.s)
      : fmt(node.v) + " / " + fmt(node.s);
    row.append(toggle, swatch, name, el("span", "n", count));
    if (node.w) row.append(el("span", "flag weak", "weak name"));
    if (node.f) row.append(el("span", "flag fragile", "fragile"));
    if (node.v === 0) row.classList.add("empty");
    if (node.k === data.selected) row.classList.add("sel");
    where.append(row);
    if (!children.length) return;
    const box = el("div", "kids");
    box.setAttribute("role", "group");
    box.hidden = !open.has(node.k);
    toggle.classList.toggle("open", !box.hidden);
    let filled = false;
    const fill = () => { if (!filled) { filled = true; children.forEach((c) => add(box, c)); } };
    if (!box.hidden) fill();
    toggle.addEventListener("click", () => {
      box.hidden = !box.hidden;
      toggle.classList.toggle("open", !box.hidden);
      if (box.hidden) open.delete(node.k); else { open.add(node.k); fill(); }
    });
    where.append(box);
  }
  (kids.get("") || []).forEach((n) => add(root, n));
  root.append(el("div", "note", "Click a topic to zoom to it and highlight its papers; " +
                                "click it again to let go."));

  root.addEventListener("click", (event) => {
    const name = event.target.closest(".name");
    if (!name) return;
    const key = name.parentElement.dataset.key;
    const chosen = key === data.selected ? "" : key;
    const gd = document.querySelector(".st-key-" + data.chart + " .js-plotly-plot");
    const box = data.boxes[key];
    if (chosen && gd && box && window.TopicMapOverlay) window.TopicMapOverlay.zoomTo(gd, box);
    setTriggerValue("select", chosen);
  });
}
