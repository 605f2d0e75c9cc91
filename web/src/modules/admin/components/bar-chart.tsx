// Up and down votes per row as hand-drawn SVG bars (no chart library), with role="img" and a
// spoken summary, followed by the same numbers in a table for screen readers and keyboards.
import { truncate } from "@/lib/format";
import { type ChartRow, barChartLayout, chartSummary, formatRate } from "../chart";

export function BarChart({ id, title, rowHeader, rows, chartRows = rows }: {
  id: string;
  title: string;
  rowHeader: string;
  rows: readonly ChartRow[];
  // What the chart draws, when fewer than the table lists.
  chartRows?: readonly ChartRow[];
}) {
  const layout = barChartLayout(chartRows);
  const headingId = `${id}-heading`;
  return (
    <section aria-labelledby={headingId} className="space-y-3" data-testid={`${id}-section`}>
      <h2 id={headingId} className="text-lg font-semibold">{title}</h2>
      {rows.length === 0 ? (
        <p className="text-stone-600">No votes.</p>
      ) : (
        <>
          <div className="flex gap-4 text-sm" aria-hidden="true">
            <span className="flex items-center gap-1"><span className="inline-block h-3 w-3 rounded-sm bg-emerald-600" /> up</span>
            <span className="flex items-center gap-1"><span className="inline-block h-3 w-3 rounded-sm bg-rose-600" /> down</span>
          </div>
          <svg
            role="img"
            aria-label={chartSummary(title, chartRows)}
            viewBox={`0 0 ${layout.width} ${layout.height}`}
            className="h-auto w-full max-w-3xl"
            data-testid={`${id}-chart`}
          >
            {layout.groups.map((g) => (
              <g key={g.label}>
                <title>{g.label}</title>
                <text x={layout.plotX - 8} y={g.labelY} textAnchor="end" className="fill-stone-700 text-xs">
                  {truncate(g.label, 26)}
                </text>
                {([g.up, g.down] as const).map((bar, i) => (
                  <g key={i}>
                    <rect x={bar.x} y={bar.y} width={bar.width} height={bar.height} rx={2} className={i === 0 ? "fill-emerald-600" : "fill-rose-600"} />
                    <text x={bar.x + bar.width + 4} y={bar.y + bar.height - 3} className="fill-stone-800 text-[11px] tabular-nums">
                      {bar.value}
                    </text>
                  </g>
                ))}
              </g>
            ))}
          </svg>
          <table className="min-w-full max-w-3xl border border-stone-200 bg-white text-sm" data-testid={`${id}-table`}>
            <caption className="p-1 text-left text-stone-700">{title}: the numbers</caption>
            <thead className="bg-stone-100">
              <tr>
                <th scope="col" className="px-2 py-1 text-left">{rowHeader}</th>
                <th scope="col" className="px-2 py-1 text-right">Up</th>
                <th scope="col" className="px-2 py-1 text-right">Down</th>
                <th scope="col" className="px-2 py-1 text-right">Up rate</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.label} className="border-t border-stone-200">
                  <th scope="row" className="px-2 py-1 text-left font-normal break-all">{r.label}</th>
                  <td className="px-2 py-1 text-right tabular-nums">{r.up}</td>
                  <td className="px-2 py-1 text-right tabular-nums">{r.down}</td>
                  <td className="px-2 py-1 text-right tabular-nums">{formatRate(r.upRate)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
