// One import's numbers: state (the literal word), rows, embeddings, a progress bar and the
// first row errors with their line numbers. Used live under the upload form and in the list.
import type { Import } from "@/lib/api/types";
import { formatWhen } from "../jobs";
import { importFraction, percent } from "../progress";

const ERRORS_SHOWN = 20;

const STATE_STYLE: Record<Import["state"], string> = {
  queued: "bg-stone-200 text-stone-800",
  running: "bg-sky-100 text-sky-900",
  succeeded: "bg-emerald-100 text-emerald-900",
  failed: "bg-red-100 text-red-900",
};

export function ImportStateBadge({ state }: { state: Import["state"] }) {
  return (
    <span data-testid="import-state" className={`rounded px-2 py-0.5 text-sm font-medium ${STATE_STYLE[state]}`}>
      {state}
    </span>
  );
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

export function ImportDetails({ imp, progressLabel }: { imp: Import; progressLabel: string }) {
  const fraction = importFraction(imp);
  const { rows, embeddings } = imp;
  const stat = "rounded border border-stone-200 bg-white p-2";
  return (
    <div className="space-y-3">
      <div className="flex items-center gap-3">
        <progress aria-label={progressLabel} max={1} value={fraction ?? undefined} className="h-3 flex-1 accent-amber-700" />
        <span className="w-20 text-right text-sm tabular-nums" aria-hidden="true">
          {fraction === null ? "working…" : `${percent(fraction)}%`}
        </span>
      </div>
      <dl className="grid grid-cols-2 gap-2 text-sm sm:grid-cols-4">
        <div className={stat}>
          <dt className="text-stone-600">Rows read</dt>
          <dd data-testid="rows-read" className="text-lg font-semibold tabular-nums">{rows.read}</dd>
        </div>
        <div className={stat}>
          <dt className="text-stone-600">Rows imported</dt>
          <dd className="text-lg font-semibold tabular-nums">
            <span data-testid="rows-imported">{rows.imported}</span>
          </dd>
          <dd className="text-xs text-stone-600">
            {rows.inserted} new, {rows.updated} changed, {rows.unchanged} unchanged
          </dd>
        </div>
        <div className={stat}>
          <dt className="text-stone-600">Rows failed</dt>
          <dd data-testid="rows-failed" className={`text-lg font-semibold tabular-nums ${rows.failed > 0 ? "text-red-700" : ""}`}>
            {rows.failed}
          </dd>
        </div>
        <div className={stat}>
          <dt className="text-stone-600">Embeddings</dt>
          <dd data-testid="embeddings" className="text-lg font-semibold tabular-nums">
            {embeddings.done} of {embeddings.total}
          </dd>
        </div>
      </dl>
      <p className="text-xs text-stone-600">
        {imp.format === "csv" ? "CSV" : "JSON Lines"}, {formatBytes(imp.bytes)},{" "}
        {imp.on_error === "skip" ? "bad rows skipped" : "stops at the first bad row"}; uploaded {formatWhen(imp.created_at)}
        {imp.finished_at && `, finished ${formatWhen(imp.finished_at)}`}
        {imp.job_id !== null && `, job ${imp.job_id}`}.
      </p>
      {imp.error && (
        <p className="rounded bg-red-50 p-2 text-sm text-red-800" data-testid="import-error">
          {imp.error}
        </p>
      )}
      {imp.errors.length > 0 && (
        <table className="w-full border border-stone-200 bg-white text-sm" data-testid="row-errors">
          <caption className="p-1 text-left font-semibold">
            Row errors{imp.errors.length > ERRORS_SHOWN ? ` (the first ${ERRORS_SHOWN} of ${imp.errors.length})` : ""}
          </caption>
          <thead className="bg-stone-100">
            <tr>
              <th scope="col" className="px-2 py-1 text-right">Line</th>
              <th scope="col" className="px-2 py-1 text-left">Field</th>
              <th scope="col" className="px-2 py-1 text-left">Problem</th>
            </tr>
          </thead>
          <tbody>
            {imp.errors.slice(0, ERRORS_SHOWN).map((e, i) => (
              <tr key={`${e.line}-${e.field ?? ""}-${i}`} className="border-t border-stone-200" data-testid="row-error">
                <td className="px-2 py-1 text-right tabular-nums">{e.line}</td>
                <td className="px-2 py-1 font-mono">{e.field ?? "—"}</td>
                <td className="px-2 py-1">{e.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
