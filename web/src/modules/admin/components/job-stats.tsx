"use client";
// The queue's depth: totals for the overview, and by kind and state for the jobs page.
import Link from "next/link";
import type { JobCounts } from "@/lib/api/types";
import { JOB_STATES, formatAge } from "../jobs";
import { useJobStats } from "../queries";
import { ApiErrorAlert } from "./api-error-alert";

function oldestWait(ages: readonly (number | null)[]): number | null {
  const known = ages.filter((a): a is number => a !== null);
  return known.length ? Math.max(...known) : null;
}

export function JobTotals() {
  const { data, error, isPending } = useJobStats();
  if (error) return <ApiErrorAlert error={error} doing="Loading the queue statistics" />;
  if (isPending) return <p className="text-stone-600">Loading the queue…</p>;
  const t = data.totals;
  const oldest = oldestWait(data.kinds.map((k) => k.oldest_ready_age_seconds));
  const items: [string, number][] = [
    ["Queued", t.queued],
    ["Running", t.running],
    ["Failed", t.failed],
    ["Dead", t.dead],
  ];
  return (
    <div className="space-y-2">
      <dl className="grid grid-cols-2 gap-2 sm:grid-cols-4" data-testid="job-totals">
        {items.map(([label, n]) => (
          <div key={label} className="rounded border border-stone-200 bg-white p-3">
            <dt className="text-sm text-stone-600">{label}</dt>
            <dd className={`text-2xl font-semibold ${label === "Dead" && n > 0 ? "text-red-700" : ""}`}>{n}</dd>
          </div>
        ))}
      </dl>
      <p className="text-sm text-stone-600">
        {oldest === null ? "No job is waiting to run." : `The oldest ready job has waited ${formatAge(oldest)}.`}{" "}
        <Link href="/admin/jobs" className="underline">See the queue</Link>
      </p>
    </div>
  );
}

export function JobStatsTable() {
  const { data, error, isPending } = useJobStats();
  if (error) return <ApiErrorAlert error={error} doing="Loading the queue statistics" />;
  if (isPending) return <p className="text-stone-600">Loading the queue…</p>;
  const cells = (c: JobCounts) => JOB_STATES.map((s) => <td key={s} className="px-2 py-1 text-right tabular-nums">{c[s]}</td>);
  return (
    <div className="overflow-x-auto">
      <table className="min-w-full border border-stone-200 bg-white text-sm" data-testid="job-stats">
        <caption className="p-2 text-left font-semibold">Queue by kind and state</caption>
        <thead className="bg-stone-100">
          <tr>
            <th scope="col" className="px-2 py-1 text-left">Kind</th>
            {JOB_STATES.map((s) => (
              <th key={s} scope="col" className="px-2 py-1 text-right">{s}</th>
            ))}
            <th scope="col" className="px-2 py-1 text-right">Oldest ready waits</th>
          </tr>
        </thead>
        <tbody>
          {data.kinds.length === 0 && (
            <tr>
              <td colSpan={JOB_STATES.length + 2} className="px-2 py-2 text-stone-600">The queue has no jobs.</td>
            </tr>
          )}
          {data.kinds.map((k) => (
            <tr key={k.kind} className="border-t border-stone-200">
              <th scope="row" className="px-2 py-1 text-left font-mono font-normal">{k.kind}</th>
              {cells(k.counts)}
              <td className="px-2 py-1 text-right">{formatAge(k.oldest_ready_age_seconds)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot className="border-t-2 border-stone-300 font-semibold">
          <tr>
            <th scope="row" className="px-2 py-1 text-left">All kinds</th>
            {cells(data.totals)}
            <td className="px-2 py-1 text-right">{formatAge(oldestWait(data.kinds.map((k) => k.oldest_ready_age_seconds)))}</td>
          </tr>
        </tfoot>
      </table>
    </div>
  );
}
