"use client";
// Bulk catalogue uploads: the file goes as the request body (not multipart) with its type from
// its name; then its progress streams in (Server-Sent Events) until `done`, and the list of
// recent imports below keeps polling while any is unfinished.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { uploadImport } from "@/lib/data/admin";
import { uploadErrorMessage } from "../errors";
import { formatWhen } from "../jobs";
import { importPhase } from "../progress";
import { useImports } from "../queries";
import { adminKeys } from "../query-keys";
import { ACCEPTED_EXTENSIONS, uploadFileName, uploadKind } from "../upload";
import { useImportFollow } from "../use-import-follow";
import { ApiErrorAlert } from "./api-error-alert";
import { ImportDetails, ImportStateBadge } from "./import-details";

function send({ file, skip }: { file: File; skip: boolean }) {
  const kind = uploadKind(file.name, file.type);
  return uploadImport(file, kind.contentType, {
    file_name: uploadFileName(file.name),
    on_error: skip ? "skip" : "abort",
    ...(kind.format ? { format: kind.format } : {}),
  });
}

export function ImportsView() {
  const qc = useQueryClient();
  const live = useImportFollow();
  const upload = useMutation({
    mutationFn: send,
    onSuccess: (started) => {
      void qc.invalidateQueries({ queryKey: adminKeys.imports });
      void live.follow(started);
    },
  });
  const imp = live.current;

  return (
    <div className="space-y-8">
      <h1 className="text-2xl font-bold">Catalogue imports</h1>
      <form
        className="max-w-xl space-y-4 rounded border border-stone-200 bg-white p-4"
        aria-labelledby="upload-heading"
        onSubmit={(e) => {
          e.preventDefault();
          const fields = e.currentTarget.elements;
          const file = (fields.namedItem("file") as HTMLInputElement).files?.[0];
          if (!file) return;
          upload.mutate({ file, skip: (fields.namedItem("skip") as HTMLInputElement).checked });
        }}
      >
        <h2 id="upload-heading" className="text-lg font-semibold">Upload a catalogue file</h2>
        <div>
          <label htmlFor="import-file" className="block font-medium">Catalogue file</label>
          <input
            id="import-file"
            name="file"
            type="file"
            required
            accept={ACCEPTED_EXTENSIONS}
            aria-describedby="import-file-help"
            className="mt-1 block w-full text-sm file:mr-3 file:rounded file:border file:border-stone-300 file:bg-stone-50 file:px-3 file:py-1.5"
          />
          <p id="import-file-help" className="mt-1 text-sm text-stone-600">
            JSON Lines (.jsonl, .ndjson, .json) or CSV (.csv), UTF-8, with the fields of <code>libromind import</code>.
          </p>
        </div>
        <div className="flex items-start gap-2">
          <input id="import-skip" name="skip" type="checkbox" className="mt-1" aria-describedby="import-skip-help" />
          <div>
            <label htmlFor="import-skip">Import the good rows and skip bad ones</label>
            <p id="import-skip-help" className="text-sm text-stone-600">Without it, one bad row imports nothing.</p>
          </div>
        </div>
        <button
          type="submit"
          disabled={upload.isPending}
          className="rounded bg-amber-700 px-4 py-2 font-medium text-white hover:bg-amber-800 disabled:bg-stone-400"
        >
          Upload
        </button>
        <p role="status" aria-live="polite" className="min-h-5 text-sm text-stone-600">
          {upload.isPending && "Uploading…"}
        </p>
        {upload.isError && (
          <p role="alert" className="rounded bg-red-50 p-3 text-red-800" data-testid="upload-error">
            {uploadErrorMessage(upload.error)}
          </p>
        )}
      </form>

      {imp && (
        <section
          aria-labelledby="import-progress-heading"
          data-testid="import-progress"
          data-state={imp.state}
          data-complete={imp.complete && !live.following ? "true" : "false"}
          className="max-w-3xl space-y-3 rounded border border-stone-200 bg-stone-50 p-4"
        >
          <h2 id="import-progress-heading" className="text-lg font-semibold">
            Import {imp.id}: {imp.file_name || "unnamed file"}
          </h2>
          <p role="status" aria-live="polite" className="flex flex-wrap items-center gap-2">
            State: <ImportStateBadge state={imp.state} />
            <span className="text-sm text-stone-700">{importPhase(imp)}</span>
          </p>
          <ImportDetails imp={imp} progressLabel="Import progress" />
          {live.error && (
            <p role="alert" className="rounded bg-red-50 p-3 text-red-800">{live.error}</p>
          )}
        </section>
      )}

      <RecentImports />
    </div>
  );
}

function RecentImports() {
  const { data, error, isPending } = useImports();
  return (
    <section aria-labelledby="recent-imports-heading" className="space-y-3">
      <h2 id="recent-imports-heading" className="text-lg font-semibold">Recent imports</h2>
      {error ? (
        <ApiErrorAlert error={error} doing="Loading the imports" />
      ) : isPending ? (
        <p className="text-stone-600">Loading…</p>
      ) : data.items.length === 0 ? (
        <p className="text-stone-600">No imports yet.</p>
      ) : (
        <ul className="divide-y divide-stone-200 rounded border border-stone-200 bg-white" data-testid="import-list">
          {data.items.map((i) => (
            <li key={i.id} data-testid="import-item" data-state={i.state}>
              <details className="group p-3">
                <summary className="flex cursor-pointer flex-wrap items-center gap-3">
                  <span className="font-medium">
                    Import {i.id}: {i.file_name || "unnamed file"}
                  </span>
                  <ImportStateBadge state={i.state} />
                  <span className="text-sm text-stone-600">
                    {i.rows.imported} imported, {i.rows.failed} failed · {formatWhen(i.created_at)}
                  </span>
                </summary>
                <div className="mt-3">
                  <ImportDetails imp={i} progressLabel={`Import ${i.id} progress`} />
                </div>
              </details>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
