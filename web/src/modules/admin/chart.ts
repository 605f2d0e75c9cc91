// Geometry and words of the feedback bar chart: for each row (a pipeline configuration or a
// day) an "up" bar above a "down" bar, on one scale, in an SVG drawn by hand (no chart library).
export interface ChartRow {
  label: string;
  up: number;
  down: number;
  upRate: number;
}

export interface Bar {
  x: number;
  y: number;
  width: number;
  height: number;
  value: number;
}

export interface ChartGroup {
  label: string;
  // The baseline of the row's label, level with the middle of its two bars.
  labelY: number;
  up: Bar;
  down: Bar;
}

export interface ChartLayout {
  width: number;
  height: number;
  plotX: number;
  plotWidth: number;
  max: number;
  groups: ChartGroup[];
}

export const CHART = {
  width: 640,
  labelWidth: 170, // left of the bars: the row's label
  valueWidth: 48, // right of the longest bar: its number
  barHeight: 14,
  barGap: 2, // between a row's up and down bars
  groupGap: 12, // between rows
  padding: 4,
};
export type ChartDims = typeof CHART;

const round = (n: number) => Math.round(n * 100) / 100;

export function barChartLayout(rows: readonly ChartRow[], dims: ChartDims = CHART): ChartLayout {
  const plotX = dims.labelWidth;
  const plotWidth = Math.max(0, dims.width - dims.labelWidth - dims.valueWidth);
  const max = rows.reduce((m, r) => Math.max(m, r.up, r.down), 0);
  // A bar for a non-zero count is at least one unit wide, so it never vanishes next to a big one.
  const length = (v: number) => (max <= 0 || v <= 0 ? 0 : Math.max(1, round((v / max) * plotWidth)));
  const groupHeight = 2 * dims.barHeight + dims.barGap;
  const groups = rows.map((r, i): ChartGroup => {
    const y = dims.padding + i * (groupHeight + dims.groupGap);
    return {
      label: r.label,
      labelY: round(y + groupHeight / 2 + 4),
      up: { x: plotX, y, width: length(r.up), height: dims.barHeight, value: r.up },
      down: { x: plotX, y: y + dims.barHeight + dims.barGap, width: length(r.down), height: dims.barHeight, value: r.down },
    };
  });
  const height = rows.length === 0 ? 0 : 2 * dims.padding + rows.length * groupHeight + (rows.length - 1) * dims.groupGap;
  return { width: dims.width, height, plotX, plotWidth, max, groups };
}

export const formatRate = (rate: number): string => `${Math.round(Math.min(1, Math.max(0, rate)) * 100)}%`;

// The chart's aria-label: what it shows and its first rows; the table under it has every number.
export function chartSummary(subject: string, rows: readonly ChartRow[], shown = 5): string {
  if (rows.length === 0) return `${subject}: no votes.`;
  const parts = rows.slice(0, shown).map((r) => `${r.label}: ${r.up} up, ${r.down} down (${formatRate(r.upRate)} up)`);
  const more = rows.length > shown ? `; and ${rows.length - shown} more in the table below` : "";
  return `${subject}: ${parts.join("; ")}${more}.`;
}
