// Charts drawn by uPlot (a small canvas charting library), imported by the reports page only:
// it lives in that page's lazily loaded chunk. A chart is a picture for the eye; its numbers
// are always beside it in a table (the canvas is hidden from screen readers).
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export const PALETTE = ["#0b5cad", "#b42318", "#1a7f37", "#8250df", "#bc4c00", "#0a7480"];
const HEIGHT = 260;

export type Series = { label: string; values: (number | null)[]; colour?: string; dash?: boolean; axis?: "right" };

function width(element: HTMLElement): number {
  return Math.max(280, Math.floor(element.clientWidth || 600));
}

function Plot(props: { options: (width: number) => uPlot.Options; data: uPlot.AlignedData; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const plot = new uPlot(props.options(width(element)), props.data, element);
    const observer = new ResizeObserver(() => plot.setSize({ width: width(element), height: HEIGHT }));
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
    // Drawn again only when the numbers or the words change, not on every render.
  }, [JSON.stringify(props.data), props.label]);
  return <div class="chart" ref={box} aria-hidden="true" data-chart={props.label} />;
}

/** One tick per category; when they would crowd (about 64 px each), every other one or
 * fewer is labelled. */
function categoryAxis(labels: string[]): uPlot.Axis {
  return {
    splits: () => labels.map((_, index) => index),
    values: (u, splits) => {
      const every = Math.max(1, Math.ceil((labels.length * 64) / Math.max(1, u.bbox.width / devicePixelRatio)));
      return splits.map((index) => (index % every === 0 ? labels[index] ?? "" : ""));
    },
    grid: { show: false },
  };
}

/** One bar per category (`labels`) for the first series; a series with `axis: "right"` is
 * drawn as a line with points on its own scale (e.g. staffed hours against tickets). */
export function BarChart(props: { labels: string[]; series: Series[]; label: string; xLabel: string }) {
  const { labels, series } = props;
  const data: uPlot.AlignedData = [labels.map((_, index) => index), ...series.map((s) => s.values)];
  const bars = uPlot.paths.bars?.({ size: [0.6, 64] });
  const options = (chartWidth: number): uPlot.Options => ({
    width: chartWidth,
    height: HEIGHT,
    scales: {
      x: { time: false, range: [-0.5, labels.length - 0.5] },
      y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] },
      r: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] },
    },
    axes: [
      categoryAxis(labels),
      { scale: "y" },
      ...(series.some((s) => s.axis) ? [{ scale: "r", side: 1 as const, grid: { show: false } }] : []),
    ],
    series: [
      { label: props.xLabel, value: (_u, index) => (index == null ? "" : labels[index] ?? "") },
      ...series.map((s, index) => {
        const colour = s.colour ?? PALETTE[index % PALETTE.length];
        if (s.axis) return { label: s.label, scale: "r", stroke: colour, width: 2, points: { show: true, size: 8 } };
        return { label: s.label, scale: "y", stroke: colour, fill: `${colour}cc`, width: 1, paths: bars, points: { show: false } };
      }),
    ],
  });
  return <Plot options={options} data={data} label={props.label} />;
}

/** Lines over a numbered x (periods), each point labelled by `labels`. */
export function LineChart(props: { labels: string[]; series: Series[]; label: string; xLabel: string; unit?: string }) {
  const { labels, series } = props;
  const data: uPlot.AlignedData = [labels.map((_, index) => index), ...series.map((s) => s.values)];
  const options = (chartWidth: number): uPlot.Options => ({
    width: chartWidth,
    height: HEIGHT,
    scales: {
      x: { time: false, range: [-0.3, Math.max(0.3, labels.length - 0.7)] },
      y: { range: (_u, _min, max) => [0, Math.max(1, max ?? 1) * 1.1] },
    },
    axes: [categoryAxis(labels), { values: (_u, splits) => splits.map((v) => `${v}${props.unit ? ` ${props.unit}` : ""}`) }],
    series: [
      { label: props.xLabel, value: (_u, index) => (index == null ? "" : labels[index] ?? "") },
      ...series.map((s, index) => ({
        label: s.label,
        stroke: s.colour ?? PALETTE[index % PALETTE.length],
        width: 2,
        dash: s.dash ? [6, 4] : undefined,
        spanGaps: true,
        points: { show: true, size: 6 },
      })),
    ],
  });
  return <Plot options={options} data={data} label={props.label} />;
}
