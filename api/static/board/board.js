// The meetup board: live snapshots over SSE, replay from stored data, four views.
"use strict";
(function () {
  const VIEWS = ["overview", "people", "environment", "network"];
  const ENV = ["temperature", "relative_humidity", "co2", "pm2_5", "pm10", "noise", "water_level"];
  const PRIMARY = ["co2", "pm2_5", "occupancy", "people_in", "passengers_boarding", "wifi_devices",
    "parking_occupied", "water_level", "distance", "temperature", "noise", "battery_voltage", "battery"];
  const PM_GUIDE = { pm2_5: 15, pm10: 45 };
  const body = document.body;
  const params = new URLSearchParams(location.search);
  const tz = body.dataset.timezone || "Europe/Berlin";
  const state = {
    lang: pickLang(), view: VIEWS.includes(params.get("view")) ? params.get("view") : "overview",
    snap: null, vocab: {}, mode: "live", es: null, backoff: 1000, retryTimer: null,
    replay: { from: 0, to: 0, t: 0, speed: 60, playing: false, busy: false, timer: null, last: 0 },
    charts: {},
  };

  function pickLang() {
    const asked = params.get("lang");
    if (asked === "de" || asked === "en") return asked;
    const nav = (navigator.languages || [navigator.language || "en"]).join(",").toLowerCase();
    return nav.startsWith("de") ? "de" : "en";
  }
  function t(key, vars) {
    let s = (window.BOARD_TEXT[state.lang] || {})[key] || key;
    for (const [k, v] of Object.entries(vars || {})) s = s.replace("{" + k + "}", v);
    return s;
  }
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v; else el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  function s(tag, attrs, ...children) {
    const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) el.setAttribute(k, v);
    for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return el;
  }
  const $ = (id) => document.getElementById(id);

  // --- formatting -------------------------------------------------------------------------
  function label(q) { const v = state.vocab[q]; return v ? v[state.lang] : q; }
  function unit(q) { const v = state.vocab[q]; return v ? v.unit : ""; }
  function colour(q) { const v = state.vocab[q]; return v ? v.colour : "#999999"; }
  function num(q, value) {
    if (value === null || value === undefined) return "–";
    const d = state.vocab[q] ? state.vocab[q].decimals : 1;
    return new Intl.NumberFormat(state.lang === "de" ? "de-DE" : "en-GB",
      { maximumFractionDigits: d, minimumFractionDigits: d }).format(value);
  }
  function withUnit(q, value) { const u = unit(q); return num(q, value) + (u ? " " + u : ""); }
  function age(seconds) {
    if (seconds === null || seconds === undefined) return "";
    const a = seconds < 90 ? Math.round(seconds) + " s" : seconds < 5400 ? Math.round(seconds / 60) + " min"
      : seconds < 172800 ? Math.round(seconds / 3600) + " h" : Math.round(seconds / 86400) + " d";
    return t("ago", { a });
  }
  function clock(iso, withDate) {
    const opts = { timeZone: tz, hour: "2-digit", minute: "2-digit", second: "2-digit" };
    if (withDate) Object.assign(opts, { day: "2-digit", month: "2-digit", year: "numeric" });
    return new Intl.DateTimeFormat(state.lang === "de" ? "de-DE" : "en-GB", opts).format(new Date(iso));
  }
  function band(q, value) {
    // [words, level 0..2] for quantities with a plain-language rule
    if (value === null || value === undefined) return null;
    if (q === "co2") return value < 1000 ? [t("co2_good"), 0] : value <= 2000 ? [t("co2_air"), 1] : [t("co2_now"), 2];
    if (q === "parking_occupied") return value >= 0.5 ? [t("parking_taken"), 1] : [t("parking_free"), 0];
    return null;
  }
  function occBand(share) {
    if (share === null || share === undefined) return null;
    return share < 0.7 ? [t("occ_low"), 0] : share <= 0.9 ? [t("occ_mid"), 1] : [t("occ_high"), 2];
  }
  const LEVEL_CLASS = ["ok", "warn", "bad"];
  const LEVEL_MARK = ["●", "▲", "■"];  // state by shape too, not by colour alone
  function primary(d) {
    for (const q of PRIMARY) if (d.latest[q]) return q;
    const keys = Object.keys(d.latest); return keys.length ? keys[0] : null;
  }
  function ageOf(d) { return d.age_s; }

  // --- static texts -----------------------------------------------------------------------
  function applyTexts() {
    document.documentElement.lang = state.lang;
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    $("btn-lang").textContent = state.lang === "de" ? "English" : "Deutsch";
    $("replay-play").textContent = state.replay.playing ? t("replay_pause") : t("replay_play");
    setStatus(state.statusKey || "connecting");
  }
  function setStatus(key) {
    state.statusKey = key;
    const el = $("status");
    el.dataset.state = key;
    $("status-text").textContent = state.mode === "replay" ? t("replay_word") : t(key);
    $("main").classList.toggle("offline", state.mode === "live" && key === "reconnecting");
  }
  function showView(name) {
    state.view = name;
    for (const v of document.querySelectorAll(".view")) v.classList.toggle("active", v.dataset.view === name);
    for (const b of document.querySelectorAll("#views button")) b.setAttribute("aria-pressed", String(b.dataset.view === name));
    const url = new URL(location.href); url.searchParams.set("view", name); history.replaceState(null, "", url);
    if (state.snap) render(state.snap);
  }

  // --- rendering ----------------------------------------------------------------------------
  function render(snap) {
    state.snap = snap;
    $("clock").textContent = clock(snap.at, state.mode === "replay");
    $("clock").dateTime = snap.at;
    if (state.mode === "replay") $("replay-time").textContent = clock(snap.at, true);
    renderFigures(snap);
    renderMap(snap);
    renderTicker(snap);
    renderPeople(snap);
    renderEnv(snap);
    renderNetwork(snap);
  }
  function renderFigures(snap) {
    const f = snap.figures;
    const anySite = snap.sites.some((x) => x.present !== null);
    $("fig-people").textContent = anySite ? num("occupancy", f.people_present) : "–";
    $("fig-uplinks").textContent = num("occupancy", f.uplinks_last_hour);
    $("fig-live").textContent = f.devices_live + " / " + f.devices_total;
  }

  function project(lat, lon) {  // Web Mercator in world units 0..1 (tiles use the same)
    const x = (lon + 180) / 360;
    const r = Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI) / 360));
    return [x, 0.5 - r / (2 * Math.PI)];
  }
  function renderMap(snap) {
    const svg = $("map");
    const pts = [];
    for (const d of snap.devices) if (d.latitude !== null && d.longitude !== null) pts.push(project(d.latitude, d.longitude));
    for (const g of snap.gateways) if (g.latitude !== null && g.longitude !== null) pts.push(project(g.latitude, g.longitude));
    while (svg.lastChild && svg.lastChild.nodeName !== "title") svg.removeChild(svg.lastChild);
    if (!pts.length) return;
    const W = 1000, H = 560, padL = 50, padR = 230, padY = 50;  // labels extend to the right
    let [x0, y0, x1, y1] = [Math.min(...pts.map((p) => p[0])), Math.min(...pts.map((p) => p[1])),
      Math.max(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[1]))];
    const scale = Math.min((W - padL - padR) / Math.max(x1 - x0, 1e-6), (H - 2 * padY) / Math.max(y1 - y0, 1e-6));
    const cx = (x0 + x1) / 2 + ((padR - padL) / 2) / scale, cy = (y0 + y1) / 2;
    const px = (p) => [W / 2 + (p[0] - cx) * scale, H / 2 + (p[1] - cy) * scale];
    svg.append(s("rect", { x: 0, y: 0, width: W, height: H, class: "map-bg" }));
    drawTiles(svg, scale, cx, cy, W, H);
    for (const g of snap.gateways) {
      if (g.latitude === null) continue;
      const [x, y] = px(project(g.latitude, g.longitude));
      svg.append(s("g", { class: "gw", "data-gateway": g.id },
        s("path", { d: `M${x} ${y - 16} L${x + 14} ${y + 10} L${x - 14} ${y + 10} Z` }),
        s("text", { x: x + 18, y: y + 6, class: "gw-label" }, g.id)));
    }
    let nopos = 0;
    const labelled = snap.gateways.filter((g) => g.latitude !== null).map((g) => px(project(g.latitude, g.longitude)));
    for (const d of snap.devices) {
      if (d.latitude === null || d.longitude === null) { nopos++; continue; }
      const [x, y] = px(project(d.latitude, d.longitude));
      const q = primary(d);
      const v = q ? d.latest[q].value : null;
      const b = q ? band(q, v) : null;
      const live = d.state === "live";
      const fill = live ? (b && b[1] > 0 ? (b[1] === 2 ? "#D55E00" : "#E69F00") : q ? colour(q) : "#999999") : "none";
      const g = s("g", { class: "dev " + d.state, "data-dev-eui": d.dev_eui, "data-name": d.name });
      g.append(s("title", {}, `${d.name}: ${q ? label(q) + " " + withUnit(q, v) : t("no_data")} (${d.state === "never" ? t("never") : age(ageOf(d))})`));
      g.append(s("circle", { cx: x, cy: y, r: 11, fill, stroke: live ? "var(--fg)" : "var(--stale)",
        "stroke-width": 3, "stroke-dasharray": live ? null : "4 3" }));
      const tooClose = labelled.some(([lx, ly]) => lx - x > -150 && lx - x < 150 && Math.abs(ly - y) < 26);
      if (!tooClose) {
        labelled.push([x, y]);
        const text = mapText(q, v);
        g.append(s("text", { x: x + 16, y: y + 7, class: "dev-label" + (live ? "" : " stale-text") },
          live ? text : `${text} · ${age(ageOf(d))}`));
      }
      svg.append(g);
    }
    const legend = $("map-legend");
    legend.replaceChildren(
      h("li", {}, h("span", { class: "sw sw-live" }), t("legend_live")),
      h("li", {}, h("span", { class: "sw sw-stale" }), t("legend_stale")),
      h("li", {}, h("span", { class: "sw sw-gw" }), t("legend_gateway")),
      ...(nopos ? [h("li", {}, t("no_position", { n: nopos }))] : []));
  }
  function drawTiles(svg, scale, cx, cy, W, H) {
    const url = body.dataset.tileUrl;
    if (!url) return;
    const z = Math.max(0, Math.min(19, Math.round(Math.log2(scale / 256))));
    const n = 2 ** z, size = scale / n;
    const wx0 = cx - W / 2 / scale, wy0 = cy - H / 2 / scale;
    for (let tx = Math.floor(wx0 * n); tx <= Math.floor((wx0 + W / scale) * n); tx++) {
      for (let ty = Math.floor(wy0 * n); ty <= Math.floor((wy0 + H / scale) * n); ty++) {
        if (ty < 0 || ty >= n) continue;
        const href = url.replace("{z}", z).replace("{x}", ((tx % n) + n) % n).replace("{y}", ty).replace("{s}", "a");
        svg.append(s("image", { href, x: W / 2 + (tx / n - cx) * scale, y: H / 2 + (ty / n - cy) * scale,
          width: size + 0.5, height: size + 0.5, class: "tile-img" }));
      }
    }
  }
  function mapText(q, v) {
    if (!q) return "–";
    const b = band(q, v);
    if (q === "parking_occupied" && b) return `${label(q)}: ${b[0]}`;
    // Values whose unit does not say what they are get their label.
    return unit(q) && !["distance", "water_level", "battery_voltage", "battery"].includes(q)
      ? withUnit(q, v) : `${label(q)} ${withUnit(q, v)}`;
  }
  function valuesText(values) {
    return Object.entries(values).filter(([q]) => !["latitude", "longitude", "altitude", "battery_voltage", "battery"].includes(q))
      .slice(0, 3).map(([q, v]) => `${label(q)} ${withUnit(q, v)}`).join(" · ");
  }
  function renderTicker(snap) {
    $("ticker").replaceChildren(...snap.ticker.map((u) => h("li", {},
      h("time", { class: "tk-time" }, clock(u.time)),
      h("span", { class: "tk-name" }, u.name),
      h("span", { class: "tk-values" }, valuesText(u.values) || "–"),
      h("span", { class: "tk-radio" }, `${u.rssi ?? "–"} dBm · ${u.snr ?? "–"} dB · SF${u.sf ?? "?"}`))));
  }

  function renderPeople(snap) {
    const sites = snap.sites.filter((x) => x.present !== null || x.people_in !== null || x.wifi_devices !== null);
    $("sites").replaceChildren(...sites.map((x) => {
      const ob = occBand(x.share);
      const pct = x.share === null ? null : Math.round(x.share * 100);
      const resetLocal = x.reset_at ? clock(x.reset_at).slice(0, 5) : "";
      return h("div", { class: "tile site", "data-site": x.site },
        h("h2", {}, x.name),
        x.present !== null
          ? h("div", { class: "big" }, num("occupancy", x.present), h("span", { class: "big-sub" }, " " + t("now_on_site")))
          : h("div", { class: "big muted" }, x.wifi_devices !== null ? num("occupancy", x.wifi_devices) : t("no_count")),
        x.present === null && x.wifi_devices !== null ? h("p", { class: "rule" }, t("wifi_seen")) : null,
        x.present !== null ? h("p", { class: "rule" }, x.present_method === "counted" ? t("method_counted")
          : t("method_in_minus_out", { t: resetLocal })) : null,
        pct !== null ? h("div", { class: "cap" },
          h("div", { class: "cap-bar", role: "meter", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": pct },
            h("div", { class: "cap-fill " + LEVEL_CLASS[ob[1]], style: `width:${Math.min(100, pct)}%` })),
          h("p", { class: "cap-text " + LEVEL_CLASS[ob[1]] }, `${LEVEL_MARK[ob[1]]} ${pct} % ${t("of_capacity", { c: x.capacity })} — ${ob[0]}`)) : null,
        x.people_in !== null ? h("p", { class: "inout" },
          h("span", {}, `↘ ${t("people_in")} ${num("occupancy", x.people_in)}`), "  ",
          h("span", {}, `↗ ${t("people_out")} ${num("occupancy", x.people_out)}`),
          h("span", { class: "rule" }, " — " + t("in_out_rule"))) : null);
    }));
    $("bus").replaceChildren(...snap.bus.map((line) => h("div", { class: "tile bus-line", "data-line": line.site },
      h("h2", {}, t("bus_title", { site: line.site })),
      h("p", { class: "rule" }, t("bus_rule")),
      h("ol", { class: "stops" }, ...line.stops.map((st, i) => h("li", { class: "stop" },
        h("span", { class: "stop-name" }, t("stop", { n: i + 1 })),
        h("span", { class: "stop-on" }, `↑ ${t("boarding")} ${st.boardings}`),
        h("span", { class: "stop-off" }, `↓ ${t("alighting")} ${st.alightings}`)))))));
  }

  function renderEnv(snap) {
    const present = ENV.filter((q) => snap.devices.some((d) => d.latest[q]));
    const container = $("env");
    const keep = new Set(present);
    for (const q of Object.keys(state.charts)) if (!keep.has(q)) { state.charts[q].destroy(); delete state.charts[q]; }
    const tiles = present.map((q) => {
      let tile = container.querySelector(`[data-quantity="${q}"]`);
      if (!tile) {
        tile = h("div", { class: "tile env-tile", "data-quantity": q },
          h("h2", {}, h("span", { class: "q-swatch", style: `background:${colour(q)}` }), h("span", { class: "q-label" })),
          h("p", { class: "rule" }), h("ul", { class: "env-rows" }), h("div", { class: "spark" }), h("p", { class: "why" }));
      }
      tile.querySelector(".q-label").textContent = `${label(q)} (${unit(q)})`;
      const pm = q in PM_GUIDE;
      tile.querySelector(".rule").textContent = pm ? t("env_pm_rule") : t("env_rule");
      const why = q === "co2" ? t("co2_why") : q === "pm2_5" ? t("pm25_why") : q === "pm10" ? t("pm10_why") : "";
      tile.querySelector(".why").textContent = why;
      const rows = snap.devices.filter((d) => d.latest[q]).map((d) => {
        const stale = d.state !== "live";
        let value = d.latest[q].value, words = band(q, value), note = null;
        if (pm) {
          const m = snap.daily_means.find((x) => x.dev_eui === d.dev_eui && x.quantity === q);
          if (m) {
            value = m.mean;
            words = value <= PM_GUIDE[q] ? [t("pm_below"), 0] : [t("pm_above"), 2];
            if (m.covers_s < 23 * 3600) note = t("pm_covers", { h: Math.max(1, Math.round(m.covers_s / 3600)) });
          }
        }
        return h("li", { class: "env-row" + (stale ? " stale" : ""), "data-dev-eui": d.dev_eui },
          h("span", { class: "env-name" }, d.name),
          h("span", { class: "env-value" }, withUnit(q, value)),
          words ? h("span", { class: "env-words " + LEVEL_CLASS[words[1]] }, `${LEVEL_MARK[words[1]]} ${words[0]}`) : null,
          stale ? h("span", { class: "env-age" }, `${t("stale")}, ${age(ageOf(d))}`) : null,
          note ? h("span", { class: "env-note" }, note) : null);
      });
      tile.querySelector(".env-rows").replaceChildren(...rows);
      drawSpark(q, tile.querySelector(".spark"), snap.spark[q]);
      return tile;
    });
    container.replaceChildren(...tiles);
  }
  function drawSpark(q, el, data) {
    if (!window.uPlot || !data || state.view !== "environment") return;
    const ids = Object.keys(data.series);
    const aligned = [data.t, ...ids.map((id) => data.series[id].v)];
    const width = Math.max(200, el.clientWidth || 300);
    const old = state.charts[q];
    if (old && old._ids === ids.join() && old._w === width) { old.setData(aligned); return; }
    if (old) old.destroy();
    el.replaceChildren();
    const dash = [[], [10, 5], [2, 4], [14, 4, 2, 4]];
    const styles = getComputedStyle(document.documentElement);
    const axis = { stroke: styles.getPropertyValue("--muted").trim(), grid: { stroke: styles.getPropertyValue("--grid").trim() }, font: "18px sans-serif" };
    const chart = new uPlot({
      width, height: 140, legend: { show: false }, cursor: { show: false },
      scales: { x: { time: true } },
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), tz),
      axes: [Object.assign({ size: 36, values: (u, splits) => splits.map((v) => clock(new Date(v * 1000).toISOString()).slice(0, 5)) }, axis),
        Object.assign({ size: 64 }, axis)],
      series: [{}, ...ids.map((id, i) => ({ label: data.series[id].name, stroke: colour(q), width: 2.5, dash: dash[i % dash.length], spanGaps: true, points: { show: false } }))],
    }, aligned, el);
    chart._ids = ids.join(); chart._w = width;
    state.charts[q] = chart;
  }

  function renderNetwork(snap) {
    $("gateways").replaceChildren(
      h("thead", {}, h("tr", {}, h("th", {}, t("gw_name")), h("th", {}, t("gw_heard")), h("th", {}, t("gw_rssi")), h("th", {}, t("gw_snr")))),
      h("tbody", {}, ...snap.gateways.map((g) => h("tr", {}, h("td", {}, g.id), h("td", {}, g.heard_last_hour),
        h("td", {}, g.rssi ?? "–"), h("td", {}, g.snr ?? "–")))));
    const mix = snap.figures.sf_mix, total = Object.values(mix).reduce((a, b) => a + b, 0) || 1;
    $("sf").replaceChildren(...Object.keys(mix).sort((a, b) => Number(a) - Number(b)).map((sf) => h("div", { class: "bar-row" },
      h("span", { class: "bar-label" }, "SF" + sf),
      h("span", { class: "bar" }, h("span", { class: "bar-fill", style: `width:${(100 * mix[sf]) / total}%` })),
      h("span", { class: "bar-value" }, Math.round((100 * mix[sf]) / total) + " %"))));
    const silent = snap.devices.filter((d) => d.state !== "live");
    $("silent").replaceChildren(...(silent.length ? silent.map((d) => h("li", { class: "stale" }, `${d.name} — ${d.state === "never" ? t("never") : age(d.age_s)}`))
      : [h("li", {}, t("none_silent"))]));
    const loss = snap.devices.filter((d) => d.loss > 0).sort((a, b) => b.loss - a.loss).slice(0, 6);
    $("loss").replaceChildren(...(loss.length ? loss.map((d) => h("li", {}, `${d.name} — ${Math.round(d.loss * 1000) / 10} %`)) : [h("li", {}, t("none_loss"))]));
    const dead = Object.entries(snap.figures.dead_letters);
    $("dead").replaceChildren(...(dead.length ? dead.map(([r, n]) => h("li", {}, `${r}: ${n}`)) : [h("li", {}, t("none_dead"))]));
  }

  // --- live ---------------------------------------------------------------------------------
  function connect() {
    if (state.mode !== "live") return;
    clearTimeout(state.retryTimer);
    if (state.es) state.es.close();
    const es = new EventSource("/board/events");
    state.es = es;
    es.addEventListener("snapshot", (ev) => {
      state.backoff = 1000;
      setStatus("live");
      if (state.mode === "live") render(JSON.parse(ev.data));
    });
    es.addEventListener("unavailable", () => setStatus("reconnecting"));
    es.onerror = () => {
      // Our own back-off (1 s doubling to 30 s) instead of the browser's fixed retry.
      es.close();
      if (state.es !== es) return;
      state.es = null;
      setStatus("reconnecting");
      state.retryTimer = setTimeout(connect, state.backoff);
      state.backoff = Math.min(30000, state.backoff * 2);
    };
  }

  // --- replay -------------------------------------------------------------------------------
  function toLocalInput(ms) { const d = new Date(ms); d.setMinutes(d.getMinutes() - d.getTimezoneOffset()); return d.toISOString().slice(0, 16); }
  async function openReplay() {
    state.mode = "replay";
    if (state.es) { state.es.close(); state.es = null; }
    clearTimeout(state.retryTimer);
    body.classList.add("replaying");
    $("replay").hidden = false;
    setStatus("live");
    const res = await fetch("/board/periods");
    const periods = await res.json();
    const sel = $("replay-preset");
    sel.replaceChildren(...periods.presets.map((p, i) => h("option", { value: i },
      p.kind === "busiest" ? t("preset_busiest", { site: p.site }) : t("preset_last", { h: p.hours }))),
      h("option", { value: "custom" }, t("preset_custom")));
    state.presets = periods.presets;
    if (periods.presets.length) choosePreset(0);
  }
  function choosePreset(i) {
    const p = state.presets[i];
    setPeriod(Date.parse(p.from), Date.parse(p.to));
  }
  function setPeriod(from, to) {
    const r = state.replay;
    r.from = from; r.to = Math.max(from + 60000, to); r.t = from;
    $("replay-from").value = toLocalInput(r.from); $("replay-to").value = toLocalInput(r.to);
    seek(r.from);
  }
  function seek(ms) {
    const r = state.replay;
    r.t = Math.min(r.to, Math.max(r.from, ms));
    $("replay-slider").value = String(Math.round((1000 * (r.t - r.from)) / (r.to - r.from)));
    fetchFrame();
  }
  async function fetchFrame() {
    const r = state.replay;
    if (r.busy) { r.again = true; return; }
    r.busy = true;
    try {
      const res = await fetch("/board/snapshot?at=" + encodeURIComponent(new Date(r.t).toISOString()));
      if (res.ok && state.mode === "replay") render(await res.json());
    } finally {
      r.busy = false;
      if (r.again) { r.again = false; fetchFrame(); }
    }
  }
  function play(on) {
    const r = state.replay;
    r.playing = on;
    $("replay-play").textContent = on ? t("replay_pause") : t("replay_play");
    clearInterval(r.timer);
    if (!on) return;
    if (r.t >= r.to) r.t = r.from;
    r.last = performance.now();
    r.timer = setInterval(() => {
      const now = performance.now();
      const next = r.t + (now - r.last) * r.speed;
      r.last = now;
      if (next >= r.to) { seek(r.to); play(false); return; }
      if (!r.busy) seek(next); else r.t = next;
    }, 500);
  }
  function closeReplay() {
    play(false);
    state.mode = "live";
    body.classList.remove("replaying");
    $("replay").hidden = true;
    setStatus("connecting");
    connect();
  }

  // --- controls -----------------------------------------------------------------------------
  function setTheme(theme) {
    document.documentElement.dataset.theme = theme;
    for (const c of Object.values(state.charts)) c.destroy();
    state.charts = {};
    if (state.snap) render(state.snap);
  }
  function bind() {
    for (const b of document.querySelectorAll("#views button")) b.addEventListener("click", () => showView(b.dataset.view));
    $("btn-lang").addEventListener("click", () => { state.lang = state.lang === "de" ? "en" : "de"; applyTexts(); if (state.snap) render(state.snap); });
    $("btn-theme").addEventListener("click", () => setTheme(document.documentElement.dataset.theme === "dark" ? "light" : "dark"));
    $("btn-replay").addEventListener("click", () => (state.mode === "replay" ? closeReplay() : openReplay()));
    $("replay-exit").addEventListener("click", closeReplay);
    $("replay-play").addEventListener("click", () => play(!state.replay.playing));
    $("replay-speed").addEventListener("change", (e) => { state.replay.speed = Number(e.target.value); });
    $("replay-preset").addEventListener("change", (e) => { if (e.target.value !== "custom") choosePreset(Number(e.target.value)); });
    const custom = () => { $("replay-preset").value = "custom"; const f = Date.parse($("replay-from").value), to = Date.parse($("replay-to").value); if (f && to && to > f) setPeriod(f, to); };
    $("replay-from").addEventListener("change", custom);
    $("replay-to").addEventListener("change", custom);
    $("replay-slider").addEventListener("input", (e) => { const r = state.replay; seek(r.from + ((r.to - r.from) * Number(e.target.value)) / 1000); });
    document.addEventListener("keydown", (e) => {
      if (e.target.closest("input, select, textarea") || e.ctrlKey || e.metaKey || e.altKey) return;
      const i = VIEWS.indexOf(state.view);
      if (e.key === "ArrowRight") showView(VIEWS[(i + 1) % VIEWS.length]);
      else if (e.key === "ArrowLeft") showView(VIEWS[(i + VIEWS.length - 1) % VIEWS.length]);
      else if (e.key === "r") (state.mode === "replay" ? closeReplay() : openReplay());
      else if (e.key === "l") $("btn-lang").click();
      else if (e.key === "t") $("btn-theme").click();
      else if (e.key === " " && state.mode === "replay") { e.preventDefault(); play(!state.replay.playing); }
      else if (e.key === "Escape" && state.mode === "replay") closeReplay();
      else return;
    });
    let resizeTimer = null;
    window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(() => state.snap && render(state.snap), 200); });
  }

  async function start() {
    if (params.get("kiosk") === "1") body.classList.add("kiosk");
    if (params.get("theme") === "light" || params.get("theme") === "dark") document.documentElement.dataset.theme = params.get("theme");
    const url = body.dataset.publicUrl;
    $("public-url").textContent = url.replace(/^https?:\/\//, "");
    $("public-url").href = url;
    try { state.vocab = await (await fetch("/board/vocabulary.json")).json(); } catch (e) { state.vocab = {}; }
    bind();
    applyTexts();
    showView(state.view);
    if (params.get("replay") === "1") openReplay(); else connect();
  }
  window.board = { state };  // for the presenter's console and the browser tests
  start();
})();
