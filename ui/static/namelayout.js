// Where topic names go on the map at the current zoom: several layers at once where there is
// room (broad names first and larger), none covering another, inside the plot, beside the
// densest points rather than on them, and wherever a topic's papers are in view.
//
// Used by zoomlabels.js (window.TopicMapOverlay), which owns the DOM; this file only
// computes boxes. Read by the dashboard's overlay component and the exported HTML map.
//
// A topic is written at its anchor (payload x, y: the median of its largest finest cluster)
// when that is in view; otherwise, when enough of its papers are in view, at their centre.
// Papers belong to topics through the traces: each paper trace names its node in `meta`
// ("level:id", ui/figures/map.py), and a node's ancestors come from the payload's `pk`.
(function () {
  "use strict";
  if (window.TopicMapLayout) return;
  // Zoom (full extent / shown extent) from which names of each depth may appear: the two
  // broadest layers from the start, finer ones as there is room for them.
  const ZOOM = [0, 0, 1.6, 2.8, 5, 9];
  const MIN_SPREAD = 22; // px: a finer node drawn smaller than this gets no name
  const MIN_NAMES = 6; // fewer in view: the nearest topics outside it are named at the edge
  // Arrows by the direction of atan2(dy, dx) in eighths (screen y grows downwards).
  const ARROWS = ["←", "↖", "↑", "↗", "→", "↘", "↓", "↙", "←"];
  // Papers in view for a node whose anchor is outside it: this many, and this share of it.
  const MIN_SEEN = 4, MIN_SEEN_SHARE = 0.05;
  const CELL = 12; // px: the density grid's cell
  const GAP = 3; // px kept free around each name
  const EDGE = 2; // px from the plot's edge
  // Offsets tried around a name's spot, in (name widths, name heights), nearest first.
  const NEAR = [[0, 0], [0, -1.1], [0, 1.1], [-0.55, 0], [0.55, 0], [-0.5, -1.1],
    [0.5, -1.1], [-0.5, 1.1], [0.5, 1.1], [0, -2.2], [0, 2.2]];
  const FAR = NEAR.concat([[-1.1, 0], [1.1, 0], [-0.6, -2.2], [0.6, -2.2], [-0.6, 2.2],
    [0.6, 2.2], [0, -3.3], [0, 3.3], [-1.1, -1.1], [1.1, -1.1], [-1.1, 1.1], [1.1, 1.1]]);

  // Papers in view: a density grid over the plot (a summed-area table, for any box) and,
  // per node (index in `items`), how many of its papers are in view and their centre (px).
  function survey(items, byKey, traces, xa, ya, w, h, shown) {
    const nx = Math.max(1, Math.ceil(w / CELL)), ny = Math.max(1, Math.ceil(h / CELL));
    const grid = new Float32Array((nx + 1) * (ny + 1));
    const n = new Float32Array(items.length), sx = new Float64Array(items.length),
      sy = new Float64Array(items.length);
    for (const t of traces) {
      const item = t.node === undefined ? undefined : byKey.get(t.node);
      const up = item ? item.up : null, xs = t.x, ys = t.y, cd = t.customdata;
      for (let j = 0; j < t._length; j++) {
        const px = xa.l2p(xs[j]), py = ya.l2p(ys[j]);
        if (!(px >= 0 && px <= w && py >= 0 && py <= h)) continue;
        const on = shown(Number(cd[j]));
        grid[(Math.floor(py / CELL) + 1) * (nx + 1) + Math.floor(px / CELL) + 1] += on ? 1 : 0.3;
        if (!up || !on) continue;
        for (const k of up) { n[k]++; sx[k] += px; sy[k] += py; }
      }
    }
    for (let y = 1; y <= ny; y++) {
      for (let x = 1; x <= nx; x++) {
        const i = y * (nx + 1) + x;
        grid[i] += grid[i - 1] + grid[i - nx - 1] - grid[i - nx - 2];
      }
    }
    return {grid, nx, ny, n, sx, sy};
  }

  // Points under box b = [x0, y0, x1, y1] (px), per cell of the grid it covers.
  function density(seen, b) {
    const {grid, nx, ny} = seen;
    const c0 = Math.max(0, Math.floor(b[0] / CELL)), c1 = Math.min(nx, Math.ceil(b[2] / CELL));
    const r0 = Math.max(0, Math.floor(b[1] / CELL)), r1 = Math.min(ny, Math.ceil(b[3] / CELL));
    if (c1 <= c0 || r1 <= r0) return 0;
    const at = (r, c) => grid[r * (nx + 1) + c];
    return (at(r1, c1) - at(r0, c1) - at(r1, c0) + at(r0, c0)) / ((c1 - c0) * (r1 - r0));
  }

  // Where `item`'s name may go (px in the plot), or null when it has no place in view.
  function spot(item, seen, xa, ya, w, h) {
    const L = item.L, px = xa.l2p(L.x), py = ya.l2p(L.y);
    if (px >= 0 && px <= w && py >= 0 && py <= h) return [px, py];
    const k = item.i, n = seen.n[k];
    return n >= Math.max(MIN_SEEN, MIN_SEEN_SHARE * L.s) ? [seen.sx[k] / n, seen.sy[k] / n]
      : null;
  }

  // Place names in `order` (most wanted first). Returns [{item, box}] in drawing order.
  // opts: {zoom, mode, focus: Set, reveal: Set, ppx, ppy, w, h, xa, ya, seen, counts}
  function place(order, opts) {
    const {zoom, mode, focus, reveal, ppx, ppy, w, h, seen} = opts;
    const placed = [], out = [], texts = new Map();
    const free = (b) => placed.every((p) => b[2] + GAP <= p[0] || p[2] + GAP <= b[0] ||
                                           b[3] + GAP <= p[1] || p[3] + GAP <= b[1]);
    for (const item of order) {
      const L = item.L, isFocus = focus.has(L.k), shownAnyway = isFocus || reveal.has(L.k);
      if (mode === "none" && !isFocus) continue;
      if (mode !== "zoom" && mode !== "none" && L.l !== mode && !isFocus) continue;
      if (mode === "zoom" && !shownAnyway && zoom < ZOOM[Math.min(L.d, ZOOM.length - 1)]) continue;
      if (mode === "zoom" && L.d > 0 && !shownAnyway && (L.rx * ppx + L.ry * ppy) < MIN_SPREAD) {
        continue;
      }
      const at = spot(item, seen, opts.xa, opts.ya, w, h);
      if (!at) continue;
      const same = texts.get(L.pk); // its parent's name, written close by: said already
      if (!isFocus && same && same.t === L.t &&
          Math.hypot(same.x - at[0], same.y - at[1]) < 4 * item.h + item.w) continue;
      let best = null, bestScore = Infinity;
      for (const [fx, fy] of isFocus ? FAR : NEAR) {
        const x0 = Math.min(Math.max(at[0] + fx * item.w - item.w / 2, EDGE), w - item.w - EDGE);
        const y0 = Math.min(Math.max(at[1] + fy * item.h - item.h / 2, EDGE), h - item.h - EDGE);
        const b = [x0, y0, x0 + item.w, y0 + item.h];
        if (!free(b)) continue;
        const score = density(seen, b) + 0.35 * Math.hypot(fx * 2, fy);
        if (score < bestScore) { best = b; bestScore = score; }
      }
      if (!best && isFocus) { // a name kept on the map: where it covers the least
        best = leastCovering(at, item, placed, w, h);
      }
      if (!best) continue;
      placed.push(best);
      texts.set(L.k, {t: L.t, x: (best[0] + best[2]) / 2, y: (best[1] + best[3]) / 2});
      out.push({item, box: best});
    }
    if (mode === "zoom" && out.length < MIN_NAMES) signposts(order, out, placed, opts);
    return out;
  }

  // When the view holds few names (zoomed into a gap), the nearest topics outside it are
  // named at the plot's edge, with an arrow towards them: no zoom level without names.
  function signposts(order, out, placed, opts) {
    const {zoom, w, h, xa, ya} = opts;
    const written = new Set(out.map((p) => p.item.L.t));
    const cx = w / 2, cy = h / 2, away = [];
    for (const item of order) {
      const L = item.L;
      if (written.has(L.t) || zoom < ZOOM[Math.min(L.d, ZOOM.length - 1)]) continue;
      if (opts.counts && opts.counts[item.i] === 0) continue; // none of it passes the filter
      const ax = xa.l2p(L.x), ay = ya.l2p(L.y);
      if (!Number.isFinite(ax) || !Number.isFinite(ay)) continue;
      if (ax >= 0 && ax <= w && ay >= 0 && ay <= h) continue;
      away.push({item, ax, ay, far: Math.hypot(ax - cx, ay - cy) * (1 + 0.35 * L.d)});
    }
    away.sort((a, b) => a.far - b.far);
    for (const {item, ax, ay} of away) {
      if (out.length >= MIN_NAMES) break;
      if (written.has(item.L.t)) continue;
      const dx = ax - cx, dy = ay - cy, iw = item.w + 1.4 * (item.fs || 12); // and its arrow
      const mx = iw / 2 + EDGE + 4, my = item.h / 2 + EDGE + 4;
      const t = Math.min(dx ? Math.abs((cx - mx) / dx) : Infinity,
                         dy ? Math.abs((cy - my) / dy) : Infinity);
      const ex = cx + dx * t, ey = cy + dy * t;
      for (const shift of [0, -1.2, 1.2, -2.4, 2.4]) {
        const along = Math.abs(dx) * (h - 2 * my) > Math.abs(dy) * (w - 2 * mx); // left/right
        const x = ex + (along ? 0 : shift * iw * 0.6), y = ey + (along ? shift * item.h : 0);
        const x0 = Math.min(Math.max(x - iw / 2, EDGE), w - iw - EDGE);
        const y0 = Math.min(Math.max(y - item.h / 2, EDGE), h - item.h - EDGE);
        const b = [x0, y0, x0 + iw, y0 + item.h];
        if (!placed.every((p) => b[2] + GAP <= p[0] || p[2] + GAP <= b[0] ||
                                 b[3] + GAP <= p[1] || p[3] + GAP <= b[1])) continue;
        placed.push(b);
        written.add(item.L.t);
        out.push({item, box: b, arrow: ARROWS[Math.round(Math.atan2(dy, dx) / (Math.PI / 4)) + 4]});
        break;
      }
    }
  }

  function leastCovering(at, item, placed, w, h) {
    let best = null, least = Infinity;
    for (const [fx, fy] of FAR) {
      const x0 = Math.min(Math.max(at[0] + fx * item.w - item.w / 2, EDGE), w - item.w - EDGE);
      const y0 = Math.min(Math.max(at[1] + fy * item.h - item.h / 2, EDGE), h - item.h - EDGE);
      const b = [x0, y0, x0 + item.w, y0 + item.h];
      let area = 0;
      for (const p of placed) {
        area += Math.max(0, Math.min(b[2], p[2]) - Math.max(b[0], p[0])) *
          Math.max(0, Math.min(b[3], p[3]) - Math.max(b[1], p[1]));
      }
      if (area < least) { best = b; least = area; }
    }
    return best;
  }

  window.TopicMapLayout = {survey, density, place, ZOOM};
})();
