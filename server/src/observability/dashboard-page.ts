/**
 * The dashboard page: one self-contained HTML document (no build step, no CDN). It reads the
 * credential from `?token=` and opens `/v1/dashboard` with it as a `shardline.bearer.*`
 * subprotocol, then draws each snapshot the server pushes.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Shardline dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #0f1419; color: #d8dee9; }
  header { padding: 12px 20px; background: #1b2129; display: flex; gap: 16px; align-items: baseline; }
  h1 { font-size: 18px; margin: 0; }
  #status { color: #88c0d0; }
  main { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 16px; padding: 16px 20px; }
  section { background: #1b2129; border-radius: 8px; padding: 12px 16px; }
  h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .05em; color: #8b95a5; margin: 0 0 8px; }
  .big { font-size: 32px; font-weight: 600; color: #eceff4; }
  canvas { width: 100%; height: 120px; display: block; }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
  td { padding: 2px 4px; border-bottom: 1px solid #2a313b; }
  td.n { text-align: right; }
</style>
</head>
<body>
<header><h1>Shardline</h1><span id="status">connecting…</span></header>
<main>
  <section><h2>Events/s (ok)</h2><div class="big" id="events-per-second">–</div><canvas id="events-chart" width="600" height="120"></canvas></section>
  <section><h2>Ack latency p50 / p99 (ms)</h2><div class="big"><span id="ack-p50">–</span> / <span id="ack-p99">–</span></div><canvas id="latency-chart" width="600" height="120"></canvas></section>
  <section><h2>Journal</h2><table><tr><td>commit latency (ms)</td><td class="n" id="commit-latency">–</td></tr><tr><td>commit errors (last second)</td><td class="n" id="commit-errors">–</td></tr><tr><td>journal reachable</td><td class="n" id="journal-available">–</td></tr></table></section>
  <section><h2>Workers</h2><table id="workers"></table></section>
  <section><h2>Top event types</h2><table id="top-types"></table></section>
  <section><h2>Top streams</h2><table id="top-streams"></table></section>
</main>
<script>
"use strict";
const history = [];
const $ = (id) => document.getElementById(id);
function rows(table, data, render) {
  table.replaceChildren(...data.map((item) => {
    const tr = document.createElement("tr");
    for (const [text, numeric] of render(item)) {
      const td = document.createElement("td");
      td.textContent = String(text);
      if (numeric) td.className = "n";
      tr.appendChild(td);
    }
    return tr;
  }));
}
function chart(canvas, series, colors) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const max = Math.max(1, ...series.flat());
  series.forEach((values, k) => {
    ctx.strokeStyle = colors[k];
    ctx.lineWidth = 2;
    ctx.beginPath();
    values.forEach((v, i) => {
      const x = values.length < 2 ? 0 : (i / (values.length - 1)) * w;
      const y = h - (v / max) * (h - 8) - 4;
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    });
    ctx.stroke();
  });
  ctx.fillStyle = "#8b95a5";
  ctx.fillText(String(Math.round(max)), 4, 12);
}
function show(s) {
  history.push(s);
  if (history.length > 120) history.shift();
  $("events-per-second").textContent = s.eventsPerSecond.toLocaleString();
  $("ack-p50").textContent = s.ackP50Ms.toFixed(1);
  $("ack-p99").textContent = s.ackP99Ms.toFixed(1);
  $("commit-latency").textContent = s.commitLatencyMs.toFixed(2);
  $("commit-errors").textContent = String(s.commitErrors);
  $("journal-available").textContent = s.journalAvailable ? "yes" : "NO";
  rows($("workers"), s.workers, (w) => [["worker " + w.worker, false], [w.ringBytes + " B ring", true], [w.liveActors + " actors", true], [w.restarts + " restarts", true]]);
  rows($("top-types"), s.topTypes, ([name, n]) => [[name, false], [n, true]]);
  rows($("top-streams"), s.topStreams, ([name, n]) => [[name, false], [n, true]]);
  chart($("events-chart"), [history.map((x) => x.eventsPerSecond)], ["#a3be8c"]);
  chart($("latency-chart"), [history.map((x) => x.ackP50Ms), history.map((x) => x.ackP99Ms)], ["#88c0d0", "#d08770"]);
}
function connect() {
  const token = new URLSearchParams(location.search).get("token");
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/v1/dashboard";
  const socket = token ? new WebSocket(url, ["shardline.bearer." + token]) : new WebSocket(url);
  socket.onopen = () => { $("status").textContent = "live"; };
  socket.onmessage = (message) => {
    const data = JSON.parse(message.data);
    if (data.history) data.history.forEach(show);
    if (data.snapshot) show(data.snapshot);
  };
  socket.onclose = () => { $("status").textContent = "disconnected, retrying…"; setTimeout(connect, 2000); };
}
connect();
</script>
</body>
</html>
`;
