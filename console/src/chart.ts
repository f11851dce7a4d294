//! Line charts with uPlot (a small canvas charting library), sized to their container.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface LineChart {
  el: HTMLElement;
  set(xs: number[], ys: number[]): void;
}

/** A line chart of one y series named `label`: x in seconds since the epoch, or block
 * heights when `xIsHeight`. */
export function lineChart(label: string, unit: string, xIsHeight = false): LineChart {
  const el = document.createElement('div');
  el.className = 'chart';
  el.setAttribute('role', 'img');
  el.setAttribute('aria-label', `${label} over time`);
  let plot: uPlot | null = null;
  let data: uPlot.AlignedData = [[], []];
  const width = () => Math.max(260, Math.min(el.clientWidth || 600, 900));
  const make = () => {
    plot = new uPlot(
      {
        width: width(),
        height: 200,
        series: [{ label: xIsHeight ? 'height' : 'time' }, { label, stroke: '#2563eb', width: 2, value: (_u, v) => (v == null ? '—' : `${v} ${unit}`) }],
        axes: [{}, { size: 60 }],
        scales: { x: { time: !xIsHeight }, y: { range: (_u, min, max) => [Math.max(0, min - 1), max + 1] } },
      },
      data,
      el,
    );
  };
  new ResizeObserver(() => plot?.setSize({ width: width(), height: 200 })).observe(el);
  return {
    el,
    set(xs, ys) {
      data = [xs, ys];
      if (!plot) {
        if (el.isConnected) make();
        else requestAnimationFrame(() => (plot ? plot.setData(data) : make()));
      } else plot.setData(data);
    },
  };
}
