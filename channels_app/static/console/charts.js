// Charts drawn as inline SVG, no library and nothing fetched from elsewhere: the report's
// volume, handoffs and reply times, and a customer's sentiment over time. A chart is a
// <figure data-chart="kind"> whose numbers sit in the page (JSON or data attributes); charts
// that a live refresh swaps in are drawn as they arrive.
import { connect, onEvent } from "./live.js";

const NS = "http://www.w3.org/2000/svg";
const HEIGHT = 210;
const MARGIN = { top: 26, right: 14, bottom: 40, left: 62 };
// The mood chart names its ticks (negative, neutral, positive): it needs a wider left side.
const MARGINS = { sentiment: { ...MARGIN, left: 80 } };
const COLORS = {
  sms: "#3456d1",
  voice: "#8b5cf6",
  email: "#0e9f6e",
  handoffs: "#e0452f",
  p50: "#3456d1",
  p90: "#93a4e8",
  person: "#d97706",
  target: "#9aa3b2",
  positive: "#22b07d",
  neutral: "#f0b429",
  negative: "#e0452f",
};

function el(tag, attrs = {}, text = "") {
  const node = document.createElementNS(NS, tag);
  Object.entries(attrs).forEach(([key, value]) => node.setAttribute(key, String(value)));
  if (text) node.textContent = text;
  return node;
}

// A round step for the y axis, so ticks read 0, 5, 10 rather than 0, 4.3, 8.6.
function niceStep(max, ticks = 4) {
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = [1, 2, 2.5, 5, 10].find((m) => m * power >= raw) || 10;
  return unit * power;
}

const CLOCK = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
const DAY = { month: "short", day: "numeric" };

// A bucket's label: the time, with the date where the day changes (and on the first label).
function timeLabel(date, previous, bucketSeconds) {
  if (bucketSeconds >= 86400) return date.toLocaleDateString([], DAY);
  const time = date.toLocaleTimeString([], CLOCK);
  if (previous && previous.toDateString() === date.toDateString()) return time;
  return `${date.toLocaleDateString([], DAY)} ${time}`;
}

function frame(figure) {
  let svg = figure.querySelector("svg.chart");
  if (svg) svg.remove();
  const width = Math.max(260, Math.floor(figure.clientWidth || 420));
  svg = el("svg", {
    class: "chart",
    width,
    height: HEIGHT,
    viewBox: `0 0 ${width} ${HEIGHT}`,
    role: "img",
    "aria-label": figure.dataset.title || "chart",
  });
  const caption = figure.querySelector("figcaption");
  if (caption) caption.after(svg);
  else figure.prepend(svg);
  const m = MARGINS[figure.dataset.chart] || MARGIN;
  return { svg, width, m, plotW: width - m.left - m.right, plotH: HEIGHT - m.top - m.bottom };
}

// Axes, grid and titles shared by every chart. `y` maps a value to a pixel row.
function axes(ctx, { yMax, yMin = 0, yTicks, yTitle, xTitle, xLabels }) {
  const { svg, plotW, plotH } = ctx;
  const y = (v) => ctx.m.top + plotH - ((v - yMin) / (yMax - yMin)) * plotH;
  const grid = el("g", { "font-size": 11, fill: "#667085" });
  yTicks.forEach(([value, label]) => {
    const row = y(value);
    grid.append(el("line", { x1: ctx.m.left, x2: ctx.m.left + plotW, y1: row, y2: row, stroke: "#eaecf0" }));
    grid.append(el("text", { x: ctx.m.left - 6, y: row + 4, "text-anchor": "end" }, label));
  });
  grid.append(el("line", {
    x1: ctx.m.left, x2: ctx.m.left + plotW, y1: ctx.m.top + plotH, y2: ctx.m.top + plotH, stroke: "#98a2b3",
  }));
  grid.append(el("line", { x1: ctx.m.left, x2: ctx.m.left, y1: ctx.m.top, y2: ctx.m.top + plotH, stroke: "#98a2b3" }));
  xLabels.forEach(([x, label]) => {
    grid.append(el("line", { x1: x, x2: x, y1: ctx.m.top + plotH, y2: ctx.m.top + plotH + 4, stroke: "#98a2b3" }));
    grid.append(el("text", { x, y: ctx.m.top + plotH + 16, "text-anchor": "middle" }, label));
  });
  const titles = el("g", { "font-size": 11, fill: "#475467" });
  titles.append(el("text", { x: ctx.m.left + plotW / 2, y: HEIGHT - 6, "text-anchor": "middle" }, xTitle));
  titles.append(el("text", {
    x: 12, y: ctx.m.top + plotH / 2, "text-anchor": "middle", transform: `rotate(-90 12 ${ctx.m.top + plotH / 2})`,
  }, yTitle));
  svg.append(grid, titles);
  return y;
}

function legend(ctx, entries) {
  const box = el("g", { "font-size": 11, fill: "#344054" });
  let x = ctx.m.left;
  entries.forEach(([label, color, dashed]) => {
    box.append(dashed
      ? el("line", { x1: x, x2: x + 14, y1: 11, y2: 11, stroke: color, "stroke-width": 2, "stroke-dasharray": "4 3" })
      : el("rect", { x, y: 5, width: 12, height: 12, rx: 2, fill: color }));
    const text = el("text", { x: x + 17, y: 15 }, label);
    box.append(text);
    ctx.svg.append(box);
    x += 30 + (text.getComputedTextLength() || label.length * 7);
  });
}

function emptyNote(ctx, text) {
  ctx.svg.append(el("text", {
    x: ctx.m.left + ctx.plotW / 2, y: ctx.m.top + ctx.plotH / 2, "text-anchor": "middle", "font-size": 12, fill: "#98a2b3",
  }, text));
}

// Bucket columns: where each bar sits and which of them get a time label (about six).
function columns(ctx, figures) {
  const starts = figures.starts.map((s) => new Date(s));
  const slot = ctx.plotW / starts.length;
  // Room for a dated label (the longest kind) between two labelled buckets.
  const every = Math.max(1, Math.ceil(96 / slot));
  const labels = [];
  starts.forEach((date, i) => {
    if (i % every === 0) labels.push([ctx.m.left + i * slot + slot / 2, timeLabel(date, i >= every ? starts[i - every] : null, figures.bucket_seconds)]);
  });
  return { starts, slot, labels };
}

// The y axis: round ticks from zero; counts step by whole numbers.
function yScale(max, format = (v) => String(v), whole = false) {
  let step = niceStep(Math.max(max, 1));
  if (whole) step = Math.max(1, Math.round(step));
  const top = Math.max(step, Math.ceil(max / step) * step);
  const ticks = [];
  for (let v = 0; v <= top + step / 2; v += step) ticks.push([v, format(Number(v.toFixed(2)))]);
  return { top, ticks };
}

function bucketWord(figures) {
  const s = figures.bucket_seconds;
  if (s % 3600 === 0) return s === 3600 ? "hour" : `${s / 3600} hours`;
  return `${s / 60} minutes`;
}

function stackedBars(figure, figures, series, { yTitle, total }) {
  const ctx = frame(figure);
  const { starts, slot, labels } = columns(ctx, figures);
  const sums = starts.map((_, i) => series.reduce((acc, [, values]) => acc + (values[i] || 0), 0));
  const { top, ticks } = yScale(Math.max(...sums, 0), String, true);
  const y = axes(ctx, { yMax: top, yTicks: ticks, yTitle, xTitle: `time (per ${bucketWord(figures)})`, xLabels: labels });
  const bars = el("g");
  starts.forEach((date, i) => {
    let base = 0;
    series.forEach(([name, values, color]) => {
      const value = values[i] || 0;
      if (!value) return;
      const rect = el("rect", {
        x: ctx.m.left + i * slot + slot * 0.15, width: Math.max(1, slot * 0.7), y: y(base + value), height: y(base) - y(base + value), fill: color,
      });
      rect.append(el("title", {}, `${timeLabel(date, null, figures.bucket_seconds)}: ${value} ${name}`));
      bars.append(rect);
      base += value;
    });
  });
  ctx.svg.append(bars);
  legend(ctx, series.map(([name, , color]) => [name, color]));
  if (!sums.some(Boolean)) emptyNote(ctx, `No ${total} in this span yet`);
}

function lines(figure, figures, series, { yTitle, unit, target }) {
  const ctx = frame(figure);
  const { starts, slot, labels } = columns(ctx, figures);
  const values = series.flatMap(([, v]) => v).filter((v) => v !== null);
  const { top, ticks } = yScale(Math.max(...values, target || 0, 0), (v) => `${v}${unit}`);
  const y = axes(ctx, { yMax: top, yTicks: ticks, yTitle, xTitle: `time (per ${bucketWord(figures)})`, xLabels: labels });
  const entries = [];
  if (target) {
    ctx.svg.append(el("line", {
      x1: ctx.m.left, x2: ctx.m.left + ctx.plotW, y1: y(target), y2: y(target), stroke: COLORS.target, "stroke-dasharray": "4 3",
    }));
    entries.push([`target ${target}${unit}`, COLORS.target, true]);
  }
  series.forEach(([name, points, color]) => {
    let path = "";
    let open = false;
    const dots = el("g", { fill: color });
    points.forEach((value, i) => {
      if (value === null) { open = false; return; }
      const x = ctx.m.left + i * slot + slot / 2;
      path += `${open ? "L" : "M"}${x.toFixed(1)},${y(value).toFixed(1)} `;
      open = true;
      const dot = el("circle", { cx: x, cy: y(value), r: 3 });
      dot.append(el("title", {}, `${timeLabel(starts[i], null, figures.bucket_seconds)}: ${name} ${value}${unit}`));
      dots.append(dot);
    });
    if (path) ctx.svg.append(el("path", { d: path, fill: "none", stroke: color, "stroke-width": 2 }));
    ctx.svg.append(dots);
    entries.push([name, color]);
  });
  legend(ctx, entries);
  if (!values.length) emptyNote(ctx, "Nothing measured in this span yet");
}

// The sentiment of one customer over time: a dot per reading on a real time axis.
function sentiment(figure) {
  const points = [...figure.querySelectorAll("[data-point]")].map((p) => ({
    at: new Date(p.dataset.at), score: Number(p.dataset.score), label: p.dataset.label,
  })).sort((a, b) => a.at - b.at);
  const ctx = frame(figure);
  if (!points.length) { emptyNote(ctx, "No readings yet"); return; }
  const first = points[0].at.getTime();
  const last = points[points.length - 1].at.getTime();
  const spread = Math.max(last - first, 60000);
  const x = (date) => ctx.m.left + 8 + ((date.getTime() - first) / spread) * (ctx.plotW - 16);
  const labels = [];
  const count = Math.min(4, points.length);
  for (let i = 0; i < count; i += 1) {
    const at = new Date(first + (spread * i) / Math.max(count - 1, 1));
    const day = spread > 36 * 3600 * 1000;
    labels.push([x(at), day ? at.toLocaleDateString([], DAY) : at.toLocaleTimeString([], CLOCK)]);
  }
  if (points.length === 1) labels.splice(1);
  const y = axes(ctx, {
    yMin: -1, yMax: 1, yTicks: [[-1, "negative"], [0, "neutral"], [1, "positive"]],
    yTitle: "mood", xTitle: spread > 36 * 3600 * 1000 ? "date of reading" : "time of reading", xLabels: labels,
  });
  const path = points.map((p, i) => `${i ? "L" : "M"}${x(p.at).toFixed(1)},${y(p.score).toFixed(1)}`).join(" ");
  ctx.svg.append(el("path", { d: path, fill: "none", stroke: "#3456d1", "stroke-width": 1.6 }));
  points.forEach((p) => {
    const dot = el("circle", { cx: x(p.at), cy: y(p.score), r: 4, fill: COLORS[p.label] || "#667085" });
    dot.append(el("title", {}, `${p.at.toLocaleString()}: ${p.label} (${p.score.toFixed(2)})`));
    ctx.svg.append(dot);
  });
}

function reportFigures(figure) {
  const source = document.getElementById(figure.dataset.source || "report-figures");
  return source ? JSON.parse(source.textContent) : null;
}

const DRAW = {
  volume(figure) {
    const f = reportFigures(figure);
    const names = { sms: "SMS", voice: "voice", email: "e-mail" };
    const series = Object.entries(f.volume).map(([channel, values]) => [names[channel] || channel, values, COLORS[channel] || "#667085"]);
    stackedBars(figure, f, series, { yTitle: "inbound messages", total: "messages" });
  },
  handoffs(figure) {
    const f = reportFigures(figure);
    stackedBars(figure, f, [["handoffs", f.handoffs, COLORS.handoffs]], { yTitle: "handoffs", total: "handoffs" });
  },
  automated(figure) {
    const f = reportFigures(figure);
    lines(figure, f, [["median", f.automated_p50_s, COLORS.p50], ["90th percentile", f.automated_p90_s, COLORS.p90]], { yTitle: "seconds to reply", unit: " s" });
  },
  person(figure) {
    const f = reportFigures(figure);
    lines(figure, f, [["median first answer", f.person_p50_min, COLORS.person]], { yTitle: "minutes to answer", unit: " min", target: f.person_target_min });
  },
  sentiment,
};

export function drawAll(root = document) {
  root.querySelectorAll("figure[data-chart]").forEach((figure) => {
    const draw = DRAW[figure.dataset.chart];
    if (!draw) return;
    try {
      draw(figure);
      figure.dataset.drawn = "1";
    } catch (error) {
      figure.dataset.drawn = "error";
      console.error("chart", figure.dataset.chart, error);
    }
  });
}

// A region swapped in by a live refresh (conversation.js, or the report below) brings
// undrawn charts: draw them as they arrive.
new MutationObserver((changes) => {
  if (changes.some((c) => [...c.addedNodes].some((n) => n.nodeType === 1 && (n.matches("figure[data-chart]") || n.querySelector("figure[data-chart]"))))) {
    drawAll();
  }
}).observe(document.body, { childList: true, subtree: true });

let resizing = null;
window.addEventListener("resize", () => {
  clearTimeout(resizing);
  resizing = setTimeout(() => drawAll(), 200);
});

// The report page re-reads itself when traffic moves (a websocket event) and every half
// minute (the buckets move on with the clock), and swaps the live regions in place.
const REPORT_REFRESH_MS = 30000;
let reportTimer = null;
let lastRefresh = 0;

async function refreshReport() {
  lastRefresh = Date.now();
  const response = await fetch(location.href, { headers: { "X-Requested-With": "fetch" } });
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  document.querySelectorAll("[data-report-live]").forEach((region) => {
    const next = fresh.getElementById(region.id);
    if (next) region.replaceWith(next);
  });
  const stamp = document.querySelector("[data-refreshed]");
  if (stamp) stamp.textContent = `updated ${new Date().toLocaleTimeString()}`;
}

function soon() {
  clearTimeout(reportTimer);
  const wait = Math.max(1500, 5000 - (Date.now() - lastRefresh));
  reportTimer = setTimeout(refreshReport, wait);
}

drawAll();
if (document.querySelector("[data-report-live]")) {
  onEvent((message) => {
    if (message.event && !message.event.startsWith("viewer.") && message.event !== "console.ready") soon();
  });
  setInterval(refreshReport, REPORT_REFRESH_MS);
  connect();
}
