// Time-series charts with uPlot (vendor/uPlot.iife.min.js, MIT, served by the gateway itself:
// no CDN). uPlot was chosen for its size (about 50 KB minified, no dependencies) and speed: it
// draws on one canvas, so a year of hourly points per group stays smooth. It is loaded only by
// the pages that draw a chart. It builds its DOM with textContent and CSSOM style properties,
// so it runs under the viewer's CSP (no inline script or style attributes).
import { el } from '/js/dom.js';

let loading = null;

/** Loads uPlot's script and stylesheet once; resolves with the `uPlot` constructor. */
export function loadUplot() {
  if (window.uPlot) return Promise.resolve(window.uPlot);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      document.head.append(el('link', { rel: 'stylesheet', href: '/vendor/uPlot.min.css' }));
      const script = el('script', { src: '/vendor/uPlot.iife.min.js' });
      script.addEventListener('load', () => resolve(window.uPlot));
      script.addEventListener('error', () => { loading = null; reject(new Error('could not load /vendor/uPlot.iife.min.js')); });
      document.head.append(script);
    });
  }
  return loading;
}

// Series colours: distinguishable, and dark enough on white (each ≥ 3:1 against #fff).
export const SERIES_COLOURS = ['#2563eb', '#c2410c', '#047857', '#7c3aed', '#be123c', '#0e7490', '#4d7c0f', '#475569'];

const nextFrame = () => new Promise((r) => requestAnimationFrame(r));

/**
 * Draws `series` ([{ label, points: [{ x: unix ms, y }] }]) into `container` once it is in the
 * document. `format(y)` labels the y axis; `onpoint(seriesIndex, x)` is called when a point is
 * clicked. Resolves with the uPlot instance, or null when the container never got attached.
 */
export async function lineChart(container, series, { format = String, axisFormat = format, yLabel = '', height = 300, xRange, onpoint } = {}) {
  const UPlot = await loadUplot();
  for (let i = 0; i < 60 && !container.isConnected; i++) await nextFrame();
  if (!container.isConnected) return null;
  // One x for every bucket any series has; a series without a report there has a gap.
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const data = [xs, ...series.map((s) => {
    const at = new Map(s.points.map((p) => [p.x, p.y]));
    return xs.map((x) => (at.has(x) ? at.get(x) : null));
  })];
  const width = () => Math.max(320, container.clientWidth);
  const u = new UPlot({
    width: width(),
    height,
    ms: 1, // x values are unix milliseconds
    // x: the queried range when given (where in it the reports are), else the data's.
    scales: {
      x: { time: true, ...(xRange ? { range: () => xRange } : {}) },
      y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] },
    },
    series: [
      { label: 'time' },
      ...series.map((s, i) => ({
        label: s.label,
        stroke: SERIES_COLOURS[i % SERIES_COLOURS.length],
        width: 2,
        spanGaps: false,
        points: { show: true, size: 7, fill: SERIES_COLOURS[i % SERIES_COLOURS.length] },
        value: (u, v) => (v == null ? '—' : format(v)),
      })),
    ],
    axes: [
      { stroke: '#1d2433', grid: { stroke: '#e3e6ea' } },
      { stroke: '#1d2433', grid: { stroke: '#e3e6ea' }, label: yLabel, size: 70, values: (u, vals) => vals.map((v) => axisFormat(v)) },
    ],
    cursor: { focus: { prox: 24 } },
    legend: { show: true, live: true },
  }, data, container);
  container.uplot = u;

  if (onpoint) {
    // The clicked point: the nearest drawn point of any series at the cursor's bucket.
    u.over.addEventListener('click', () => {
      const idx = u.cursor.idx;
      if (idx == null) return;
      let best = null;
      for (let i = 1; i < data.length; i++) {
        const v = data[i][idx];
        if (v == null || !u.series[i].show) continue;
        const d = Math.abs(u.valToPos(v, 'y') - u.cursor.top);
        if (!best || d < best.d) best = { i, d };
      }
      if (best) onpoint(best.i - 1, xs[idx]);
    });
    u.over.style.cursor = 'pointer';
  }
  const onResize = () => {
    if (!container.isConnected) { window.removeEventListener('resize', onResize); return; }
    u.setSize({ width: width(), height });
  };
  window.addEventListener('resize', onResize);
  return u;
}
