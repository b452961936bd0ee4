// A bar chart as inline SVG, drawn here (no library): one bar per day, optionally stacked
// series, a few gridlines, labels every few days, and each bar's value in a <title>
// (a tooltip, and read by screen readers) and in data-value.

import { svg } from "./dom.js";

const WIDTH = 720;
const HEIGHT = 220;
const PAD = { top: 12, right: 8, bottom: 28, left: 48 };

function niceMax(value) {
  if (value <= 4) return 4;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function compact(n) {
  return n >= 10000 ? `${Math.round(n / 1000)}k` : n >= 1000 ? `${(n / 1000).toFixed(1)}k` : String(n);
}

// days: [{day: "YYYY-MM-DD", ...values}]; series: [{key, label, cls}]; unit: e.g. "questions".
export function barChart({ days, series, title, unit }) {
  const totals = days.map((d) => series.reduce((sum, s) => sum + (d[s.key] || 0), 0));
  const top = niceMax(Math.max(0, ...totals));
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotW / Math.max(1, days.length);
  const barW = Math.max(2, slot * 0.7);
  const y = (v) => PAD.top + plotH - (v / top) * plotH;
  const titleId = `chart-${Math.random().toString(36).slice(2)}`;
  const sum = totals.reduce((a, b) => a + b, 0);

  const grid = [0, top / 2, top].map((v) =>
    svg("g", { class: "grid" },
      svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(v), y2: y(v) }),
      svg("text", { x: PAD.left - 6, y: y(v) + 4, "text-anchor": "end" }, compact(v))),
  );
  const bars = days.map((d, i) => {
    const x = PAD.left + i * slot + (slot - barW) / 2;
    let base = 0;
    const rects = series.map((s) => {
      const v = d[s.key] || 0;
      const rect = svg("rect", { class: s.cls, x, width: barW, y: y(base + v), height: Math.max(0, y(base) - y(base + v)) });
      base += v;
      return rect;
    });
    const detail = series.length > 1 ? ` (${series.map((s) => `${s.label} ${d[s.key] || 0}`).join(", ")})` : "";
    return svg("g", { class: "bar", "data-day": d.day, "data-value": totals[i] },
      svg("title", {}, `${d.day}: ${totals[i]} ${unit}${detail}`),
      // A full-height transparent target, so small bars still show their tooltip.
      svg("rect", { class: "hit", x: PAD.left + i * slot, width: slot, y: PAD.top, height: plotH }),
      rects);
  });
  const labels = days.map((d, i) =>
    i % 5 === days.length % 5 || i === days.length - 1
      ? svg("text", { class: "day", x: PAD.left + i * slot + slot / 2, y: HEIGHT - 8, "text-anchor": "middle" }, d.day.slice(5))
      : null,
  );
  return svg("svg", { class: "chart", viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-labelledby": titleId },
    svg("title", { id: titleId }, `${title}: ${sum} ${unit} in ${days.length} days`),
    grid, bars, labels);
}
