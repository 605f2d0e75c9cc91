// POST /api/v1/recommendations as a stream of typed events (fetch + the SSE parser: EventSource
// cannot send a body). Aborting the signal closes the connection, which stops generation at the
// model server.
import { ApiError, isProblem } from "@/lib/api/client";
import type { Problem, RecommendationDone, RecommendationRequest, RecommendationToken, SearchResponse } from "@/lib/api/types";
import { readSse } from "@/lib/sse";

export type RecommendationEvent =
  | { type: "results"; data: SearchResponse }
  | { type: "token"; data: RecommendationToken }
  | { type: "done"; data: RecommendationDone }
  | { type: "error"; data: Partial<Problem> };

export async function* streamRecommendations(
  request: Partial<RecommendationRequest>,
  signal?: AbortSignal,
): AsyncGenerator<RecommendationEvent> {
  const res = await fetch("/api/v1/recommendations", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify(request),
    signal,
  });
  if (!res.ok || !res.body) {
    const body: unknown = await res.json().catch(() => undefined);
    throw new ApiError(res.status, isProblem(body) ? body : undefined, `recommendations failed (${res.status})`);
  }
  let finished = false;
  for await (const ev of readSse(res.body)) {
    if (ev.event === "results" || ev.event === "token" || ev.event === "done" || ev.event === "error") {
      const data: unknown = JSON.parse(ev.data);
      yield { type: ev.event, data } as RecommendationEvent;
      if (ev.event === "done" || ev.event === "error") finished = true;
    }
  }
  if (!finished) {
    yield { type: "error", data: { title: "The answer was cut off", detail: "The stream ended early; try again." } };
  }
}
