"use client";
// The job queue: depth by kind and state, then the jobs themselves (newest first) with filters
// by state and kind, pages by the API's `before` cursor, and Retry / Cancel where the API
// allows them (docs/operations.md, "Jobs").
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { Job, JobState } from "@/lib/api/types";
import { cancelJob, retryJob } from "@/lib/data/admin";
import { adminErrorMessage } from "../errors";
import { JOB_STATES, formatWhen, jobActions, jobKinds, showsLastError } from "../jobs";
import { useJobStats, useJobs } from "../queries";
import { adminKeys } from "../query-keys";
import { ApiErrorAlert } from "./api-error-alert";
import { JobStatsTable } from "./job-stats";

const PAGE_SIZE = 50;

type Action = "retry" | "cancel";

export function JobsView() {
  const qc = useQueryClient();
  const stats = useJobStats();
  const [state, setState] = useState<JobState | "">("");
  const [kind, setKind] = useState("");
  // The `before` cursors of the pages seen so far; the last is the page shown (undefined: newest).
  const [cursors, setCursors] = useState<(number | undefined)[]>([undefined]);
  const before = cursors[cursors.length - 1];
  const jobs = useJobs({
    limit: PAGE_SIZE,
    ...(state ? { state } : {}),
    ...(kind ? { kind } : {}),
    ...(before !== undefined ? { before } : {}),
  });
  const [message, setMessage] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);

  const act = useMutation({
    mutationFn: ({ job, action }: { job: Job; action: Action }) => (action === "retry" ? retryJob(job.id) : cancelJob(job.id)),
    onMutate: () => {
      setMessage(null);
      setFailure(null);
    },
    onSuccess: (after, { action }) => setMessage(`Job ${after.id} ${action === "retry" ? "queued again" : "cancelled"}: it is ${after.state} now.`),
    onError: (err, { job, action }) => setFailure(adminErrorMessage(err, `${action === "retry" ? "Retrying" : "Cancelling"} job ${job.id}`)),
    onSettled: () => qc.invalidateQueries({ queryKey: adminKeys.jobs }),
  });

  const resetPaging = () => setCursors([undefined]);
  const items = jobs.data?.items ?? [];
  const nextBefore = jobs.data?.next_before ?? null;

  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-bold">Jobs</h1>
      <JobStatsTable />

      <section aria-labelledby="job-list-heading" className="space-y-3">
        <h2 id="job-list-heading" className="text-lg font-semibold">Jobs, newest first</h2>
        <div className="flex flex-wrap items-end gap-4" role="group" aria-label="Filter jobs">
          <label className="text-sm">
            State
            <select
              value={state}
              onChange={(e) => {
                setState(e.target.value as JobState | "");
                resetPaging();
              }}
              className="ml-2 rounded border border-stone-300 bg-white px-2 py-1"
            >
              <option value="">All states</option>
              {JOB_STATES.map((s) => (
                <option key={s} value={s}>{s}</option>
              ))}
            </select>
          </label>
          <label className="text-sm">
            Kind
            <select
              value={kind}
              onChange={(e) => {
                setKind(e.target.value);
                resetPaging();
              }}
              className="ml-2 rounded border border-stone-300 bg-white px-2 py-1"
            >
              <option value="">All kinds</option>
              {jobKinds(stats.data).map((k) => (
                <option key={k} value={k}>{k}</option>
              ))}
            </select>
          </label>
        </div>

        <p role="status" aria-live="polite" className="min-h-5 text-sm text-stone-700" data-testid="job-action-status">
          {message}
        </p>
        {failure && (
          <p role="alert" className="rounded bg-red-50 p-3 text-red-800" data-testid="job-action-error">{failure}</p>
        )}

        {jobs.error ? (
          <ApiErrorAlert error={jobs.error} doing="Loading the jobs" />
        ) : jobs.isPending ? (
          <p className="text-stone-600">Loading jobs…</p>
        ) : (
          <div className="overflow-x-auto">
            <table className="min-w-full border border-stone-200 bg-white text-sm" data-testid="job-table" aria-busy={jobs.isFetching}>
              <caption className="sr-only">
                Jobs{state ? ` in state ${state}` : ""}{kind ? ` of kind ${kind}` : ""}, page {cursors.length}
              </caption>
              <thead className="bg-stone-100">
                <tr>
                  <th scope="col" className="px-2 py-1 text-right">ID</th>
                  <th scope="col" className="px-2 py-1 text-left">Kind</th>
                  <th scope="col" className="px-2 py-1 text-left">State</th>
                  <th scope="col" className="px-2 py-1 text-right">Attempts</th>
                  <th scope="col" className="px-2 py-1 text-left">Run at</th>
                  <th scope="col" className="px-2 py-1 text-left">Updated</th>
                  <th scope="col" className="px-2 py-1 text-left">Last error</th>
                  <th scope="col" className="px-2 py-1 text-left">Actions</th>
                </tr>
              </thead>
              <tbody>
                {items.length === 0 && (
                  <tr>
                    <td colSpan={8} className="px-2 py-3 text-stone-600">No jobs match.</td>
                  </tr>
                )}
                {items.map((job) => {
                  const can = jobActions(job.state);
                  const busy = act.isPending && act.variables?.job.id === job.id;
                  return (
                    <tr key={job.id} className="border-t border-stone-200 align-top" data-testid="job-row" data-job-id={job.id} data-state={job.state}>
                      <td className="px-2 py-1 text-right tabular-nums">{job.id}</td>
                      <td className="px-2 py-1">
                        <span className="font-mono">{job.kind}</span>
                        <details className="text-xs">
                          <summary className="cursor-pointer text-stone-600">Payload</summary>
                          <pre className="max-w-xs overflow-x-auto whitespace-pre-wrap break-all">{JSON.stringify(job.payload, null, 2)}</pre>
                        </details>
                      </td>
                      <td className="px-2 py-1" data-testid="job-state">{job.state}</td>
                      <td className="px-2 py-1 text-right tabular-nums">{job.attempts} of {job.max_attempts}</td>
                      <td className="px-2 py-1 whitespace-nowrap">{formatWhen(job.run_at)}</td>
                      <td className="px-2 py-1 whitespace-nowrap">{formatWhen(job.updated_at)}</td>
                      <td className="max-w-md px-2 py-1 break-words text-red-800">
                        {showsLastError(job) && <span data-testid="job-last-error">{job.last_error}</span>}
                      </td>
                      <td className="px-2 py-1">
                        <div className="flex gap-2">
                          {can.retry && (
                            <button
                              type="button"
                              disabled={busy}
                              onClick={() => act.mutate({ job, action: "retry" })}
                              aria-label={`Retry job ${job.id}`}
                              className="rounded border border-stone-300 bg-white px-2 py-1 hover:bg-stone-100 disabled:opacity-50"
                            >
                              Retry
                            </button>
                          )}
                          {can.cancel && (
                            <button
                              type="button"
                              disabled={busy}
                              onClick={() => act.mutate({ job, action: "cancel" })}
                              aria-label={`Cancel job ${job.id}`}
                              className="rounded border border-red-300 bg-white px-2 py-1 text-red-800 hover:bg-red-50 disabled:opacity-50"
                            >
                              Cancel
                            </button>
                          )}
                        </div>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}

        <nav aria-label="Job pages" className="flex items-center gap-3">
          <button
            type="button"
            disabled={cursors.length <= 1}
            onClick={() => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c))}
            className="rounded border border-stone-300 bg-white px-3 py-1 disabled:opacity-50"
          >
            Newer
          </button>
          <span className="text-sm text-stone-600">Page {cursors.length}</span>
          <button
            type="button"
            disabled={nextBefore === null || jobs.isPlaceholderData}
            onClick={() => nextBefore !== null && setCursors((c) => [...c, nextBefore])}
            className="rounded border border-stone-300 bg-white px-3 py-1 disabled:opacity-50"
          >
            Older
          </button>
        </nav>
      </section>
    </div>
  );
}
