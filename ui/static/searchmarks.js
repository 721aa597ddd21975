// Search results on a map (ui/figures/searchmarks.py): a ring on each hit's paper and its
// rank in a badge beside it. Badges are placed rank 1 first, each at the nearest spot no
// badge took yet (on its paper when free, else on rings around it, with a line back to
// the paper), so ranks stay readable when hits lie close together; they are placed again
// on every zoom and pan. A new search (a new zoom.seq) moves the map to its results.
// Only numbers are written (textContent): no text from the data reaches the page.
//
// data = {chart: key of the st.plotly_chart, hits: [{x, y, n, r}], zoom: {seq, box} | null}
(function () {
  "use strict";
  if (window.TopicMapSearchMarks) return;
  const R = 10; // badge radius, px
  const STEP = 2 * R + 3; // distance between rings of candidate spots
  const CSS = `
.tm-marks{position:absolute;overflow:hidden;pointer-events:none}
.tm-marks svg{position:absolute;left:0;top:0;overflow:visible}
.tm-badge{position:absolute;left:0;top:0;width:${2 * R}px;height:${2 * R}px;
  border-radius:50%;background:#fde047;border:2px solid #111827;box-sizing:border-box;
  font:700 11px/${2 * R - 4}px sans-serif;color:#111827;text-align:center}
.tm-badge[hidden]{display:none}`;
  const seen = new Map(); // chart key -> last zoom seq applied (outlives remounts)

  function addStyle() {
    if (document.getElementById("tm-marks-style")) return;
    const style = document.createElement("style");
    style.id = "tm-marks-style";
    style.textContent = CSS;
    document.head.appendChild(style);
  }

  // Where each badge goes: {x, y} in plot pixels, null when its paper is out of view.
  function place(points, w, h) {
    const taken = [];
    const free = (x, y) => taken.every(([a, b]) => Math.hypot(a - x, b - y) >= 2 * R + 1);
    const inside = (x, y) => x >= R && x <= w - R && y >= R && y <= h - R;
    return points.map(([px, py]) => {
      if (px < 0 || px > w || py < 0 || py > h) return null;
      let spot = null;
      for (let ring = 0; ring <= 6 && !spot; ring++) {
        const turns = ring === 0 ? 1 : 6 * ring;
        for (let i = 0; i < turns && !spot; i++) {
          const angle = -Math.PI / 4 + (2 * Math.PI * i) / turns;
          const x = px + ring * STEP * Math.cos(angle), y = py + ring * STEP * Math.sin(angle);
          if (inside(x, y) && free(x, y)) spot = [x, y];
        }
      }
      spot = spot || [Math.min(Math.max(px, R), w - R), Math.min(Math.max(py, R), h - R)];
      taken.push(spot);
      return {x: spot[0], y: spot[1]};
    });
  }

  function draw(st) {
    st.frame = 0;
    const gd = st.gd, fl = gd && gd._fullLayout;
    const host = gd && gd.querySelector(".svg-container");
    if (!fl || !fl.xaxis || !fl._size || !host) return;
    if (st.layer.parentNode !== host) {
      // no z-index: painted in document order, over the points and under Plotly's last
      // layer (the hover box, the selection box)
      const top = host.querySelectorAll("svg.main-svg");
      host.insertBefore(st.layer, top.length > 1 ? top[top.length - 1] : null);
    }
    const s = fl._size, xa = fl.xaxis, ya = fl.yaxis;
    Object.assign(st.layer.style, {left: s.l + "px", top: s.t + "px", width: s.w + "px",
                                   height: s.h + "px"});
    const points = st.hits.map((h) => [xa.l2p(h.x), ya.l2p(h.y)]);
    const spots = place(points, s.w, s.h);
    let lines = "";
    st.badges.forEach((badge, i) => {
      const spot = spots[i];
      badge.hidden = !spot;
      if (!spot) return;
      badge.style.transform = `translate(${Math.round(spot.x - R)}px,${Math.round(spot.y - R)}px)`;
      const [px, py] = points[i];
      lines += `<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="4" fill="none" ` +
        `stroke="#111827" stroke-width="1.5"/>`;
      if (Math.hypot(spot.x - px, spot.y - py) > R) {
        lines += `<line x1="${px.toFixed(1)}" y1="${py.toFixed(1)}" x2="${spot.x.toFixed(1)}" ` +
          `y2="${spot.y.toFixed(1)}" stroke="#111827" stroke-width="1"/>`;
      }
    });
    st.svg.innerHTML = lines; // numbers built here, nothing from the data
    st.svg.setAttribute("width", s.w);
    st.svg.setAttribute("height", s.h);
    gd.dataset.tmMarks = String(spots.filter(Boolean).length);
  }

  function schedule(st) {
    if (!st.frame) st.frame = requestAnimationFrame(() => draw(st));
  }

  function zoomTo(st, zoom) {
    if (!zoom || seen.get(st.key) === zoom.seq || !zoom.box) return;
    seen.set(st.key, zoom.seq);
    const b = zoom.box;
    window.Plotly.relayout(st.gd, {"xaxis.range": [b[0], b[1]], "yaxis.range": [b[2], b[3]]});
  }

  function start(data) {
    addStyle();
    const st = {key: data.chart, hits: data.hits || [], frame: 0, gd: null,
                layer: document.createElement("div"),
                svg: document.createElementNS("http://www.w3.org/2000/svg", "svg")};
    st.layer.className = "tm-marks";
    st.layer.appendChild(st.svg);
    st.badges = st.hits.map((h) => {
      const badge = document.createElement("div");
      badge.className = "tm-badge";
      badge.textContent = String(Number(h.n));
      badge.dataset.rank = String(Number(h.n));
      st.layer.appendChild(badge);
      return badge;
    });
    return st;
  }

  // Streamlit (components v2, in the app's document): follow the chart with key data.chart.
  function mount(component) {
    const data = component.data || {};
    const st = start(data);
    const selector = ".st-key-" + data.chart + " .js-plotly-plot";
    const redraw = () => schedule(st);
    let tries = 0, stopped = false;
    const attach = () => {
      if (stopped) return;
      const gd = document.querySelector(selector);
      // a graph with papers: not the empty placeholder drawn while the map is prepared
      if (!gd || !gd._fullLayout || !gd.on || !(gd._fullData || []).some((t) => t.customdata)) {
        if (tries++ < 600) setTimeout(attach, 100);
        return;
      }
      if (gd !== st.gd) { // the first graph, or a new one a rerun mounted
        st.gd = gd;
        gd.on("plotly_relayout", redraw);
        gd.on("plotly_relayouting", redraw);
        gd.on("plotly_afterplot", redraw);
        zoomTo(st, data.zoom);
        schedule(st);
      }
      setTimeout(attach, 500);
    };
    attach();
    return () => {
      stopped = true;
      if (st.gd && st.gd.removeListener) {
        for (const name of ["plotly_relayout", "plotly_relayouting", "plotly_afterplot"]) {
          st.gd.removeListener(name, redraw);
        }
      }
      st.layer.remove();
    };
  }

  window.TopicMapSearchMarks = {mount, place};
})();
