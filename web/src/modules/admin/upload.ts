// What to tell the service a catalogue file is, from its name: the same extensions as
// `libromind import` (.jsonl, .ndjson, .json → JSON Lines; .csv → CSV). Any other file goes
// with the browser's own type, and the service answers 415 with the reason.
export type UploadFormat = "jsonl" | "csv";

export interface UploadKind {
  contentType: string;
  format?: UploadFormat;
}

export const ACCEPTED_EXTENSIONS = ".jsonl,.ndjson,.json,.csv";

export function uploadKind(fileName: string, browserType = ""): UploadKind {
  const name = fileName.trim().toLowerCase();
  if (name.endsWith(".jsonl") || name.endsWith(".ndjson") || name.endsWith(".json")) {
    return { contentType: "application/x-ndjson", format: "jsonl" };
  }
  if (name.endsWith(".csv")) return { contentType: "text/csv", format: "csv" };
  return { contentType: browserType || "application/octet-stream" };
}

// The service keeps at most 200 characters of the name (it is only shown back).
export function uploadFileName(fileName: string): string {
  return Array.from(fileName).slice(0, 200).join("");
}
