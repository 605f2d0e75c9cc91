// Administrators' calls (imports, the job queue, feedback statistics), from the browser through
// the storefront's /api proxy, which adds the session's bearer token. The service answers a
// signed-out caller 401 and a customer 403; both arrive here as an ApiError with its status.
import { apiClient, problemOf, unwrap } from "@/lib/api/client";
import type { paths } from "@/lib/api/schema";
import type { FeedbackStats, Import, ImportPage, Job, JobPage, JobStats, Problem } from "@/lib/api/types";
import { readSse } from "@/lib/sse";

const api = () => apiClient(typeof window === "undefined" ? "http://localhost" : window.location.origin);

export type JobListQuery = NonNullable<paths["/api/v1/admin/jobs"]["get"]["parameters"]["query"]>;
export type ImportListQuery = NonNullable<paths["/api/v1/admin/imports"]["get"]["parameters"]["query"]>;
export type ImportUploadQuery = NonNullable<paths["/api/v1/admin/imports"]["post"]["parameters"]["query"]>;
export type FeedbackStatsQuery = NonNullable<paths["/api/v1/admin/feedback/stats"]["get"]["parameters"]["query"]>;

// --- Imports ---------------------------------------------------------------------------------

// POST the file itself as the body (not multipart): the service streams it to disk as it comes.
// The Content-Type says JSON Lines or CSV; anything else is the service's to refuse (415).
export async function uploadImport(file: Blob, contentType: string, query: ImportUploadQuery): Promise<Import> {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
  const res = await fetch(`/api/v1/admin/imports?${params.toString()}`, {
    method: "POST",
    headers: { "content-type": contentType, accept: "application/json" },
    body: file,
  });
  if (!res.ok) throw await problemOf(res);
  return (await res.json()) as Import;
}

export const listImports = async (query: ImportListQuery = {}): Promise<ImportPage> =>
  unwrap(await api().GET("/api/v1/admin/imports", { params: { query }, cache: "no-store" }));

export const getImport = async (id: number): Promise<Import> =>
  unwrap(await api().GET("/api/v1/admin/imports/{id}", { params: { path: { id } }, cache: "no-store" }));

export type ImportEvent =
  | { type: "progress"; data: Import }
  | { type: "done"; data: Import }
  | { type: "error"; data: Partial<Problem> };

// GET /api/v1/admin/imports/{id}/events: `progress` whenever the import changed, then one `done`
// once it is complete. The generator simply ends if the stream is cut before `done`; the caller
// decides whether to follow again.
export async function* streamImport(id: number, signal?: AbortSignal): AsyncGenerator<ImportEvent> {
  const res = await fetch(`/api/v1/admin/imports/${encodeURIComponent(String(id))}/events`, {
    headers: { accept: "text/event-stream" },
    cache: "no-store",
    signal,
  });
  if (!res.ok || !res.body) throw await problemOf(res);
  for await (const ev of readSse(res.body)) {
    if (ev.event === "progress" || ev.event === "done" || ev.event === "error") {
      const data: unknown = JSON.parse(ev.data);
      yield { type: ev.event, data } as ImportEvent;
      if (ev.event !== "progress") return;
    }
  }
}

// --- Jobs ------------------------------------------------------------------------------------

export const listJobs = async (query: JobListQuery = {}): Promise<JobPage> =>
  unwrap(await api().GET("/api/v1/admin/jobs", { params: { query }, cache: "no-store" }));

export const jobStats = async (): Promise<JobStats> =>
  unwrap(await api().GET("/api/v1/admin/jobs/stats", { cache: "no-store" }));

export const retryJob = async (id: number): Promise<Job> =>
  unwrap(await api().POST("/api/v1/admin/jobs/{id}/retry", { params: { path: { id } } }));

export const cancelJob = async (id: number): Promise<Job> =>
  unwrap(await api().POST("/api/v1/admin/jobs/{id}/cancel", { params: { path: { id } } }));

// --- Feedback --------------------------------------------------------------------------------

export const feedbackStats = async (query: FeedbackStatsQuery = {}): Promise<FeedbackStats> =>
  unwrap(await api().GET("/api/v1/admin/feedback/stats", { params: { query }, cache: "no-store" }));

