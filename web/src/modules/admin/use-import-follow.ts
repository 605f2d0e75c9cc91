"use client";
// Follows one import over its Server-Sent Events (GET /api/v1/admin/imports/{id}/events):
// every `progress` replaces the import shown, and the final state comes from `done`. A stream
// cut before `done` (a proxy timeout, a restart) is followed again, waiting a little longer
// each time; after a few cuts without any event the list below (which polls) takes over.
import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError } from "@/lib/api/client";
import type { Import } from "@/lib/api/types";
import { streamImport } from "@/lib/data/admin";
import { adminErrorMessage } from "./errors";
import { adminKeys } from "./query-keys";

const MAX_SILENT_CUTS = 3;

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

export interface ImportFollow {
  current: Import | null;
  // True until `done` (or an error) arrives.
  following: boolean;
  error: string | null;
  follow: (started: Import) => Promise<void>;
}

export function useImportFollow(): ImportFollow {
  const qc = useQueryClient();
  const [current, setCurrent] = useState<Import | null>(null);
  const [following, setFollowing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);

  useEffect(() => () => abort.current?.abort(), []);

  const follow = useCallback(
    async (started: Import) => {
      abort.current?.abort();
      const ctl = new AbortController();
      abort.current = ctl;
      setCurrent(started);
      setError(null);
      setFollowing(true);
      let silentCuts = 0;
      try {
        while (!ctl.signal.aborted) {
          let heard = false;
          for await (const ev of streamImport(started.id, ctl.signal)) {
            heard = true;
            if (ev.type === "error") {
              const p = ev.data;
              setError(adminErrorMessage(new ApiError(p.status ?? 500, p, "the progress stream failed"), "Following the import"));
              return;
            }
            setCurrent(ev.data);
            if (ev.type === "done") return;
          }
          silentCuts = heard ? 1 : silentCuts + 1;
          if (silentCuts > MAX_SILENT_CUTS) {
            setError("The import's progress stream keeps breaking off; its state in the list below is still refreshed.");
            return;
          }
          await pause(1_000 * silentCuts, ctl.signal);
        }
      } catch (err) {
        if (!ctl.signal.aborted) setError(adminErrorMessage(err, "Following the import"));
      } finally {
        if (abort.current === ctl) {
          setFollowing(false);
          void qc.invalidateQueries({ queryKey: adminKeys.imports });
          void qc.invalidateQueries({ queryKey: adminKeys.jobs });
        }
      }
    },
    [qc],
  );

  return { current, following, error, follow };
}
