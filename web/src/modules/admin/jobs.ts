// The job queue's rules as the API states them, for the admin table.
import type { Job, JobState, JobStats } from "@/lib/api/types";

export const JOB_STATES: readonly JobState[] = ["queued", "running", "failed", "succeeded", "dead", "cancelled"];

// The kinds docs/operations.md lists; the stats add any other the queue has seen.
export const KNOWN_KINDS = ["embed_books", "embed_stale", "import_file", "send_email"] as const;

// Retry: dead, failed or cancelled → queued. Cancel: queued, failed or running → cancelled.
export function jobActions(state: JobState): { retry: boolean; cancel: boolean } {
  return {
    retry: state === "dead" || state === "failed" || state === "cancelled",
    cancel: state === "queued" || state === "failed" || state === "running",
  };
}

export const showsLastError = (job: Pick<Job, "state" | "last_error">): boolean =>
  (job.state === "failed" || job.state === "dead") && !!job.last_error;

export function jobKinds(stats: JobStats | undefined): string[] {
  return [...new Set([...KNOWN_KINDS, ...(stats?.kinds ?? []).map((k) => k.kind)])].sort();
}

// "45 s", "12 min", "3 h 5 min", "2 d 4 h"; an em dash when nothing is waiting.
export function formatAge(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

export function formatWhen(timestamp: string | null | undefined): string {
  if (!timestamp) return "—";
  const t = new Date(timestamp);
  if (Number.isNaN(t.getTime())) return timestamp;
  return t.toLocaleString("en-US", { dateStyle: "medium", timeStyle: "medium" });
}
