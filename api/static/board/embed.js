// One chart of one device's quantity, for an <iframe> on a city's website; refreshes each minute.
"use strict";
(async function () {
  const d = document.body.dataset;
  const de = d.lang === "de";
  const vocab = await (await fetch("/board/vocabulary.json")).json();
  const v = vocab[d.quantity] || { de: d.quantity, en: d.quantity, unit: "", colour: "#0072B2" };
  let chart = null;
  const fmt = new Intl.DateTimeFormat(de ? "de-DE" : "en-GB", { timeZone: d.timezone, hour: "2-digit", minute: "2-digit" });
  async function load() {
    const res = await fetch(`/board/series/${d.devEui}/${d.quantity}?hours=${d.hours}`);
    if (!res.ok) return;
    const s = await res.json();
    document.getElementById("title").textContent = `${de ? v.de : v.en}${v.unit ? " (" + v.unit + ")" : ""} · ${s.name}`;
    const m = s.bucket_s / 60;
    document.getElementById("rule").textContent = de
      ? `Mittelwert je ${m === 1 ? "Minute" : m + " Minuten"}, letzte ${d.hours} Stunden`
      : `mean per ${m === 1 ? "minute" : m + " minutes"}, last ${d.hours} hours`;
    const data = [s.t, s.v];
    const width = Math.max(240, document.body.clientWidth - 24);
    if (chart) { chart.setData(data); return; }
    chart = new uPlot({
      width, height: Math.max(160, window.innerHeight - 90), legend: { show: false },
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), d.timezone),
      axes: [{ values: (u, splits) => splits.map((x) => fmt.format(new Date(x * 1000))) }, {}],
      series: [{}, { stroke: v.colour, width: 2.5, spanGaps: true, points: { show: false } }],
    }, data, document.getElementById("chart"));
  }
  await load();
  setInterval(load, 60000);
})();
