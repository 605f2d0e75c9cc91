"use client";
// Shoppers' votes on the AI's picks (GET /api/v1/admin/feedback/stats): totals, then up and
// down per pipeline configuration and per day, each as a bar chart with its table.
import { useState } from "react";
import type { FeedbackStatsQuery } from "@/lib/data/admin";
import { type ChartRow, formatRate } from "../chart";
import { useFeedbackStats } from "../queries";
import { ApiErrorAlert } from "./api-error-alert";
import { BarChart } from "./bar-chart";

// The day chart draws the newest days only; its table lists every day.
const DAYS_CHARTED = 30;

export function FeedbackView() {
  const [query, setQuery] = useState<FeedbackStatsQuery>({});
  const stats = useFeedbackStats(query);
  const data = stats.data;
  const byPipeline: ChartRow[] = (data?.by_pipeline ?? []).map((p) => ({ label: p.pipeline, up: p.up, down: p.down, upRate: p.up_rate }));
  const byDay: ChartRow[] = (data?.by_day ?? []).map((d) => ({ label: d.day, up: d.up, down: d.down, upRate: d.up_rate }));

  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-bold">Feedback on the AI&apos;s picks</h1>
      <form
        className="flex flex-wrap items-end gap-4 rounded border border-stone-200 bg-white p-3 text-sm"
        aria-label="Filter feedback"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          const from = String(f.get("from") ?? "");
          const to = String(f.get("to") ?? "");
          const pipeline = String(f.get("pipeline") ?? "").trim();
          setQuery({ ...(from ? { from } : {}), ...(to ? { to } : {}), ...(pipeline ? { pipeline } : {}) });
        }}
      >
        <label>
          From (UTC)
          <input name="from" type="date" className="ml-2 rounded border border-stone-300 px-2 py-1" />
        </label>
        <label>
          To (UTC)
          <input name="to" type="date" className="ml-2 rounded border border-stone-300 px-2 py-1" />
        </label>
        <label>
          Pipeline
          <input name="pipeline" type="text" maxLength={200} className="ml-2 rounded border border-stone-300 px-2 py-1" />
        </label>
        <button type="submit" className="rounded bg-amber-700 px-3 py-1.5 font-medium text-white hover:bg-amber-800">
          Show
        </button>
      </form>

      {stats.error ? (
        <ApiErrorAlert error={stats.error} doing="Loading the feedback statistics" />
      ) : !data ? (
        <p className="text-stone-600">Loading…</p>
      ) : (
        <>
          <p role="status" aria-live="polite" data-testid="feedback-totals" className="text-lg">
            {data.up + data.down === 0
              ? "No votes in this period."
              : `${data.up + data.down} votes: ${data.up} up, ${data.down} down (${formatRate(data.up_rate)} up).`}
          </p>
          <BarChart id="feedback-pipeline" title="Votes per pipeline configuration" rowHeader="Pipeline" rows={byPipeline} />
          <BarChart
            id="feedback-day"
            title="Votes per day"
            rowHeader="Day (UTC)"
            rows={byDay}
            chartRows={byDay.slice(0, DAYS_CHARTED)}
          />
          {byDay.length > DAYS_CHARTED && (
            <p className="text-sm text-stone-600">The day chart shows the {DAYS_CHARTED} newest days; the table lists all {byDay.length}.</p>
          )}
        </>
      )}
    </div>
  );
}
