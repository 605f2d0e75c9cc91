import { describe, expect, it } from "vitest";
import { CHART, barChartLayout, chartSummary, formatRate } from "./chart";

const row = (label: string, up: number, down: number) => ({ label, up, down, upRate: up + down ? up / (up + down) : 0 });

describe("barChartLayout", () => {
  it("scales every bar to the largest count across up and down", () => {
    const layout = barChartLayout([row("a", 40, 10), row("b", 5, 20)]);
    const plot = CHART.width - CHART.labelWidth - CHART.valueWidth;
    expect(layout.max).toBe(40);
    expect(layout.plotWidth).toBe(plot);
    expect(layout.groups[0]?.up.width).toBe(plot);
    expect(layout.groups[0]?.down.width).toBe(plot / 4);
    expect(layout.groups[1]?.down.width).toBe(plot / 2);
    for (const g of layout.groups) {
      expect(g.up.x).toBe(CHART.labelWidth);
      expect(g.down.x).toBe(CHART.labelWidth);
    }
  });

  it("stacks rows without overlap and fits them in its height", () => {
    const layout = barChartLayout([row("a", 1, 1), row("b", 2, 2), row("c", 3, 3)]);
    const bars = layout.groups.flatMap((g) => [g.up, g.down]);
    for (let i = 1; i < bars.length; i++) {
      expect(bars[i]!.y).toBeGreaterThanOrEqual(bars[i - 1]!.y + bars[i - 1]!.height);
    }
    const last = bars[bars.length - 1]!;
    expect(last.y + last.height + CHART.padding).toBe(layout.height);
    const g = layout.groups[1]!;
    expect(g.labelY).toBeGreaterThan(g.up.y);
    expect(g.labelY).toBeLessThan(g.down.y + g.down.height);
  });

  it("draws no bar for zero, keeps tiny counts visible and handles no votes at all", () => {
    const layout = barChartLayout([row("big", 100000, 0), row("tiny", 1, 0)]);
    expect(layout.groups[0]?.down.width).toBe(0);
    expect(layout.groups[1]?.up.width).toBe(1);
    const empty = barChartLayout([row("none", 0, 0)]);
    expect(empty.max).toBe(0);
    expect(empty.groups[0]?.up.width).toBe(0);
    expect(barChartLayout([]).height).toBe(0);
  });
});

describe("chartSummary", () => {
  it("names the first rows with their counts and rate, then points to the table", () => {
    const rows = [row("rag-v2", 40, 10), row("baseline", 3, 5), row("x", 1, 0)];
    expect(chartSummary("Votes per pipeline", rows, 2)).toBe(
      "Votes per pipeline: rag-v2: 40 up, 10 down (80% up); baseline: 3 up, 5 down (38% up); and 1 more in the table below.",
    );
    expect(chartSummary("Votes per day", [])).toBe("Votes per day: no votes.");
  });

  it("formats rates as whole percent", () => {
    expect(formatRate(0)).toBe("0%");
    expect(formatRate(0.666)).toBe("67%");
    expect(formatRate(1)).toBe("100%");
  });
});
