// How far an import has got. The service does not know a file's row count before it has read
// it, so while rows are being read the bar is indeterminate; once the rows are in, it follows
// the embeddings of the new and changed books (what makes them searchable).
import type { Import } from "@/lib/api/types";

type Progress = Pick<Import, "state" | "complete" | "embeddings">;

// A fraction in [0, 1], or null when it cannot be told (rows still being read).
export function importFraction(imp: Progress): number | null {
  if (imp.complete || imp.state === "failed") return 1;
  if (imp.state === "queued") return 0;
  if (imp.state === "running") return null;
  const { total, done } = imp.embeddings;
  if (total <= 0) return 1;
  return Math.min(1, Math.max(0, done / total));
}

// Whole percent, rounded down so that 100% means finished, not 99.6%.
export function percent(fraction: number): number {
  return Math.floor(Math.min(1, Math.max(0, fraction)) * 100 + 1e-9);
}

export function importPhase(imp: Progress): string {
  if (imp.state === "queued") return "Waiting for a worker to start it.";
  if (imp.state === "running") return "Reading and importing rows…";
  if (imp.state === "failed") return "The import failed.";
  if (!imp.complete) return "Rows imported; embedding the new and changed books for search…";
  return "Finished: its books are searchable.";
}
