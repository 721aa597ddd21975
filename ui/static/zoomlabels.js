// Topic map overlay: topic names that follow the zoom, and papers outside a filter dimmed.
//
// Read by two hosts (ui/overlay.py): the dashboard, where it runs as a Streamlit component
// in the app's own document (ui/zoomlabels.py appends `export default`), and the exported
// HTML map, where Plotly's to_html runs it after the plot is drawn (post_script).
// Everything happens in the browser on Plotly's relayout events: no server round trip.
// Names are data: they are set with textContent, never parsed as HTML.
//
// payload = {id, extent: [x0, x1, y0, y1], font, labels: [{k, t, x, y, d, s, c, rx, ry,
//            w, f, b: [x0, x1, y0, y1]}]}   (d: depth, 0 = broadest layer)
// state   = {mask: base64 bit per map row or null, counts: [visible papers per label] or
//            null, focus: [keys kept on the map], reveal: [keys shown whatever the zoom],
//            mode: "zoom" | level name | "none", zoom: {seq, box},
//            hits: [{r, x, y, n: rank, s: similarity}] (search results, marked by rank)}
(function () {
  "use strict";
  if (window.TopicMapOverlay) return;
  const FONT = [[19, 750], [13.5, 650], [11.5, 550], [10.5, 500]];
  const WIDTH = ["12em", "11em", "10em", "9em"];
  const DIM = 0.1; // opacity factor of papers a filter leaves out
  const SPECIAL = new Set(["search results", "open paper", "reading list"]);
  const POINTS = new Set(["scattergl", "scatter"]); // WebGL, or SVG for small views
  const CSS = `
.tm-overlay{position:absolute;overflow:hidden;pointer-events:none}
.tm-label{position:absolute;left:0;top:0;width:max-content;text-align:center;
  line-height:1.12;white-space:normal;overflow-wrap:anywhere;will-change:transform;
  text-shadow:0 0 2px #fff,0 0 2px #fff,0 0 3px #fff,0 0 5px #fff;}
.tm-label[hidden]{display:none}
.tm-label.tm-sign::before{content:attr(data-arrow);position:absolute;right:100%;top:0;
  padding-right:.3em}
.tm-label.tm-focus{outline:2px solid currentColor;outline-offset:2px;border-radius:3px;
  background:rgba(255,255,255,.82)}
.tm-hit{position:absolute;left:0;top:0;width:20px;height:20px;margin:-10px 0 0 -10px;
  border-radius:50%;background:#fde047;border:2px solid #111827;box-sizing:border-box;
  font:700 11px/16px sans-serif;color:#111827;text-align:center}
.tm-hit[hidden]{display:none}
.tm-fit{position:absolute;left:8px;top:8px;pointer-events:auto;z-index:2;font:12px sans-serif;
  padding:3px 8px;border:1px solid #9ca3af;border-radius:4px;background:#fff;color:#111827;
  cursor:pointer}
.tm-fit[hidden]{display:none}`;
  const charts = new Map(); // host key -> {gd, payload, state, ...}

  function addStyle() {
    if (document.getElementById("tm-overlay-style")) return;
    const style = document.createElement("style");
    style.id = "tm-overlay-style";
    style.textContent = CSS;
    document.head.appendChild(style);
  }

  function bits(b64) {
    if (!b64) return null;
    const raw = atob(b64), out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }
  const shown = (mask, row) => !mask || ((mask[row >> 3] >> (row & 7)) & 1) === 1;

  // ---------------------------------------------------------------- labels

  function buildLabels(ch) {
    const layer = ch.layer;
    layer.textContent = "";
    ch.labels = ch.payload.labels.map((L, i) => {
      const el = document.createElement("div");
      const [size, weight] = FONT[Math.min(L.d, FONT.length - 1)];
      el.className = "tm-label tm-d" + Math.min(L.d, 3);
      el.textContent = L.t; // data: text only
      el.dataset.key = L.k;
      el.dataset.depth = String(L.d);
      el.style.cssText = `font:${weight} ${size}px ${ch.payload.font};color:${L.c};` +
        `max-width:${WIDTH[Math.min(L.d, 3)]};visibility:hidden` +
        (L.w ? ";font-style:italic" : ""); // a weak name: few of its papers use it
      if (L.w) el.classList.add("tm-weak");
      layer.appendChild(el);
      return {L, el, i, w: 0, h: 0, fs: size, up: [i]};
    });
    ch.byKey = new Map(ch.labels.map((item) => [item.L.k, item]));
    for (const item of ch.labels) { // itself and its ancestors, for the papers in view
      for (let p = ch.byKey.get(item.L.pk); p && item.up.length < 12; p = ch.byKey.get(p.L.pk)) {
        item.up.push(p.i);
      }
    }
    ch.measured = false;
  }

  function measure(ch) {
    for (const item of ch.labels) {
      item.w = item.el.offsetWidth;
      item.h = item.el.offsetHeight;
    }
    ch.measured = ch.labels.every((item) => item.w > 0) || ch.labels.length === 0;
    for (const item of ch.labels) item.el.style.visibility = "";
  }

  function placeLayer(ch) {
    const gd = ch.gd, fl = gd._fullLayout;
    const host = gd.querySelector(".svg-container");
    if (!host) return false;
    // Above the points, below all that Plotly draws over them: a box or lasso being drawn,
    // the modebar, and the hover box (in the last of its svg layers). Without a z-index:
    // the page paints positioned siblings in document order.
    const svgs = host.querySelectorAll(":scope > svg.main-svg");
    const before = svgs.length > 1 ? svgs[1] : null;
    if (!ch.layer.isConnected || ch.layer.nextSibling !== before || ch.layer.parentNode !== host) {
      host.insertBefore(ch.layer, before);
      ch.measured = false;
    }
    const s = fl._size;
    Object.assign(ch.layer.style, {left: s.l + "px", top: s.t + "px", width: s.w + "px",
                                   height: s.h + "px"});
    return true;
  }

  function draw(ch) {
    ch.frame = 0;
    const gd = ch.gd, fl = gd._fullLayout;
    if (!fl || !fl.xaxis || !fl.yaxis || !placeLayer(ch)) return;
    if (!ch.measured) measure(ch);
    const xa = fl.xaxis, ya = fl.yaxis, s = fl._size;
    if (xa.autorange && ya.autorange) ch.home = [xa.range[0], xa.range[1], ya.range[0], ya.range[1]];
    const [ex0, ex1, ey0, ey1] = ch.home || ch.payload.extent;
    const zoom = Math.min(Math.abs(ex1 - ex0) / Math.abs(xa.range[1] - xa.range[0]),
                          Math.abs(ey1 - ey0) / Math.abs(ya.range[1] - ya.range[0]));
    const st = ch.state, counts = st.counts, mode = st.mode || "zoom";
    const traces = paperTraces(gd).map((t) => ({x: t.x, y: t.y, customdata: t.customdata,
                                                 _length: t._length, node: gd.data[t.index].meta}));
    const seen = window.TopicMapLayout.survey(ch.labels, ch.byKey, traces, xa, ya, s.w, s.h,
                                              (row) => shown(ch.mask, row));
    const placed = window.TopicMapLayout.place(ch.order, {
      zoom, mode, focus: new Set(st.focus || []), reveal: new Set(st.reveal || []),
      ppx: Math.abs(xa.l2p(1) - xa.l2p(0)), ppy: Math.abs(ya.l2p(1) - ya.l2p(0)),
      w: s.w, h: s.h, xa, ya, seen, counts});
    const finerShown = placed.some((p) => p.item.L.d > 0);
    for (const item of ch.labels) item.el.hidden = true;
    let finer = 0, deepest = -1;
    for (const {item, box, arrow} of placed) {
      const {L, el} = item, isFocus = (st.focus || []).includes(L.k);
      el.hidden = false;
      el.classList.toggle("tm-focus", isFocus);
      el.classList.toggle("tm-sign", !!arrow); // a topic outside the view, this way
      if (arrow) el.dataset.arrow = arrow; else delete el.dataset.arrow;
      const x = box[0] + (arrow ? box[2] - box[0] - item.w : 0); // the arrow sits left of it
      el.style.transform = `translate(${Math.round(x)}px,${Math.round(box[1])}px)`;
      const empty = counts && counts[item.i] === 0;
      el.style.opacity = isFocus ? "1" : empty ? "0.32" : arrow ? "0.8"
        : (L.d === 0 && finerShown && zoom >= 1.5 && mode === "zoom" ? "0.6" : "1");
      if (L.d > 0) finer++;
      if (!arrow) deepest = Math.max(deepest, L.d);
    }
    for (const hit of ch.hits || []) {
      const px = xa.l2p(hit.h.x), py = ya.l2p(hit.h.y);
      hit.el.hidden = px < 0 || px > s.w || py < 0 || py > s.h;
      hit.el.style.transform = `translate(${Math.round(px)}px,${Math.round(py)}px)`;
    }
    gd.dataset.tmHits = String((ch.hits || []).length);
    gd.dataset.tmLabels = String(placed.length);
    gd.dataset.tmFiner = String(finer);
    gd.dataset.tmDeepest = String(deepest); // the finest layer named in view
    gd.dataset.tmZoom = zoom.toFixed(3);
    gd.dataset.tmDraws = String(Number(gd.dataset.tmDraws || 0) + 1);
  }

  function schedule(ch) {
    if (!ch.frame) ch.frame = requestAnimationFrame(() => draw(ch));
  }

  function buildHits(ch) {
    const text = JSON.stringify(ch.state.hits || []);
    if (text === ch.hitsText) return;
    ch.hitsText = text;
    for (const hit of ch.hits || []) hit.el.remove();
    ch.hits = (ch.state.hits || []).map((h) => {
      const el = document.createElement("div");
      el.className = "tm-hit";
      el.textContent = String(h.n);
      el.dataset.row = String(h.r);
      ch.layer.appendChild(el);
      return {h, el};
    });
  }

  function sortLabels(ch) {
    const focus = new Set(ch.state.focus || []), counts = ch.state.counts;
    const reveal = new Set(ch.state.reveal || []);
    const rank = (item) => (focus.has(item.L.k) ? 0 : counts && !counts[item.i] ? 3
      : reveal.has(item.L.k) ? 1 : 2);
    ch.order = [...ch.labels].sort((a, b) => rank(a) - rank(b) || a.L.d - b.L.d ||
                                             b.L.s - a.L.s || a.i - b.i);
  }

  // ---------------------------------------------------------------- dimming

  // Traces of papers: Plotly's decoded copies (customdata = row in the map), with the
  // index of the trace given (whose object keeps our marks until a rerun replaces it).
  function paperTraces(gd) {
    return (gd._fullData || []).filter((t) => POINTS.has(t.type) && t.customdata &&
                                              !SPECIAL.has(t.name) && gd.data[t.index]);
  }

  // Whether Plotly has finished drawing the graph (its traces have their lengths).
  function drawn(gd) {
    return !!(gd && gd.on && gd._fullLayout && gd._fullLayout._size && gd._fullData &&
              gd._fullData.every((t) => t._length !== undefined || !POINTS.has(t.type)));
  }

  function dim(ch) {
    const gd = ch.gd, mask = ch.mask, ops = [], idx = [];
    if (!drawn(gd)) return; // afterplot comes back here
    let dimmed = 0;
    for (const t of paperTraces(gd)) {
      const given = gd.data[t.index];
      if (given._tmBase === undefined) {
        const o = given.marker && given.marker.opacity;
        given._tmBase = typeof o === "number" ? o : 1;
      }
      const base = given._tmBase, cd = t.customdata, n = t._length;
      if (!mask) {
        ops.push(base);
      } else {
        const arr = new Array(n);
        for (let j = 0; j < n; j++) {
          const on = shown(mask, Number(cd[j]));
          arr[j] = on ? base : base * DIM;
          if (!on) dimmed++;
        }
        ops.push(arr);
      }
      idx.push(t.index);
      given._tmSeq = ch.seq;
    }
    gd.dataset.tmDimmed = String(dimmed);
    gd.dataset.tmSeq = String(ch.seq);
    if (idx.length) window.Plotly.restyle(gd, {"marker.opacity": ops}, idx);
    fitButton(ch);
  }

  function stale(ch) {
    return paperTraces(ch.gd).some((t) => ch.gd.data[t.index]._tmSeq !== ch.seq);
  }

  // ---------------------------------------------------------------- zoom

  function zoomTo(gd, box, pad) {
    if (!box || !box.every(Number.isFinite)) return;
    const p = pad === undefined ? 0.08 : pad;
    const dx = Math.max(box[1] - box[0], 1e-6) * p, dy = Math.max(box[3] - box[2], 1e-6) * p;
    window.Plotly.relayout(gd, {"xaxis.range": [box[0] - dx, box[1] + dx],
                                "yaxis.range": [box[2] - dy, box[3] + dy]});
  }

  function visibleBox(ch) {
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const t of paperTraces(ch.gd)) {
      for (let j = 0; j < t._length; j++) {
        if (!shown(ch.mask, Number(t.customdata[j]))) continue;
        const x = t.x[j], y = t.y[j];
        if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
      }
    }
    return x0 <= x1 ? [x0, x1, y0, y1] : null;
  }

  function fitButton(ch) {
    if (!ch.button) {
      ch.button = document.createElement("button");
      ch.button.type = "button";
      ch.button.className = "tm-fit";
      ch.button.textContent = "Fit the map to the filter";
      ch.button.addEventListener("click", () => zoomTo(ch.gd, visibleBox(ch), 0.06));
    }
    const host = ch.gd.querySelector(".svg-container");
    if (host && ch.button.parentNode !== host) host.appendChild(ch.button);
    ch.button.hidden = !ch.mask;
  }

  // ---------------------------------------------------------------- lifecycle

  function onRelayout(ch) {
    const fl = ch.gd._fullLayout;
    if (fl && fl.xaxis) {
      ch.view = fl.xaxis.autorange || fl.yaxis.autorange ? null
        : [fl.xaxis.range[0], fl.xaxis.range[1], fl.yaxis.range[0], fl.yaxis.range[1]];
    }
    schedule(ch);
  }

  function hook(ch, gd) {
    ch.gd = gd;
    gd.__tmChart = ch;
    if (gd.__tmHooked) return;
    gd.__tmHooked = true;
    gd.on("plotly_relayout", () => onRelayout(gd.__tmChart));
    gd.on("plotly_relayouting", () => schedule(gd.__tmChart));
    gd.on("plotly_afterplot", () => {
      const c = gd.__tmChart;
      if (stale(c)) dim(c); else schedule(c);
    });
    if (ch.view) { // a new graph for the same map (a rerun redrew it): keep the reader's view
      const v = ch.view;
      window.Plotly.relayout(gd, {"xaxis.range": [v[0], v[1]], "yaxis.range": [v[2], v[3]]});
    }
  }

  // Attach to graph div `gd` (re-attaching is cheap): `key` names the chart.
  function attach(key, gd, payload, state) {
    addStyle();
    let ch = charts.get(key);
    if (!ch || ch.payload.id !== payload.id) {
      if (ch) { ch.layer.remove(); if (ch.button) ch.button.remove(); }
      ch = {key, payload, layer: document.createElement("div"), state: {}, seq: 0,
            view: null, zoomSeq: null};
      ch.layer.className = "tm-overlay";
      charts.set(key, ch);
      buildLabels(ch);
    }
    ch.state = state || {};
    const mask = state && state.mask ? state.mask : null;
    if (mask !== ch.maskText) { ch.maskText = mask; ch.mask = bits(mask); ch.seq++; }
    sortLabels(ch);
    buildHits(ch);
    hook(ch, gd);
    const z = ch.state.zoom;
    if (z && z.seq !== ch.zoomSeq) { ch.zoomSeq = z.seq; zoomTo(gd, z.box); }
    if (stale(ch)) dim(ch); else fitButton(ch);
    schedule(ch);
    return ch;
  }

  // The page's CSS sizes the chart to the window below its top (--tm-map-top): the whole
  // map above the fold whatever the header above it takes.
  function fitWindow(key) {
    const box = document.querySelector(".st-key-" + key);
    if (!box) return;
    const top = Math.round(box.getBoundingClientRect().top + window.scrollY);
    const root = document.documentElement;
    const now = parseFloat(root.style.getPropertyValue("--tm-map-top"));
    if (!(Math.abs(top - now) <= 2)) root.style.setProperty("--tm-map-top", top + "px");
    if (!window.__tmFitHooked) {
      window.__tmFitHooked = true;
      window.addEventListener("resize", () => fitWindow(key));
    }
  }

  // Streamlit: find the chart by its key, follow it when a rerun mounts a new graph.
  function mount(component) {
    const data = component.data || {};
    const selector = ".st-key-" + data.chart + " .js-plotly-plot";
    if (data.fit) fitWindow(data.chart);
    let tries = 0, stopped = false, observer = null;
    const tryAttach = () => {
      if (stopped) return;
      const gd = document.querySelector(selector);
      if (drawn(gd)) {
        attach(data.chart, gd, data.payload, data.state);
        const box = document.querySelector(".st-key-" + data.chart);
        if (box && !observer) {
          observer = new MutationObserver(() => {
            const now = document.querySelector(selector);
            const ch = charts.get(data.chart);
            if (now && ch && now !== ch.gd) { tries = 0; setTimeout(tryAttach, 30); }
          });
          observer.observe(box, {childList: true, subtree: true});
        }
      } else if (tries++ < 600) {
        setTimeout(tryAttach, 100);
      }
    };
    tryAttach();
    return () => { stopped = true; if (observer) observer.disconnect(); };
  }

  window.TopicMapOverlay = {attach, mount, zoomTo, charts};
})();
