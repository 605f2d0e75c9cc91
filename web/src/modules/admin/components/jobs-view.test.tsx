import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Job, JobStats } from "@/lib/api/types";
import { JobsView } from "./jobs-view";

const zero = { queued: 0, running: 0, failed: 0, succeeded: 0, dead: 0, cancelled: 0 };
const stats: JobStats = { totals: { ...zero, dead: 1, queued: 1 }, kinds: [{ kind: "send_email", counts: { ...zero, dead: 1, queued: 1 }, oldest_ready_age_seconds: 90 }] };

const job = (id: number, state: Job["state"], last_error: string | null = null): Job => ({
  id, kind: "send_email", payload: { order: id }, priority: 0, state, run_at: "2026-01-01T00:00:00Z", attempts: 1, max_attempts: 5,
  lease_expires_at: null, worker_id: null, last_error, result: null, dedup_key: null, created_at: "2026-01-01T00:00:00Z",
  started_at: null, finished_at: null, updated_at: "2026-01-01T00:00:00Z",
});

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": status < 400 ? "application/json" : "application/problem+json" } });

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

describe("JobsView", () => {
  it("offers Retry and Cancel where the API allows them, shows last_error, and reloads after an action", async () => {
    let dead = job(2, "dead", "smtp 550 mailbox unavailable");
    const urls: string[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL) => {
      const req = input as Request;
      urls.push(`${req.method} ${new URL(req.url).pathname}${new URL(req.url).search}`);
      const path = new URL(req.url).pathname;
      if (path.endsWith("/stats")) return json(stats);
      if (path.endsWith("/2/retry")) {
        dead = { ...dead, state: "queued" };
        return json(dead);
      }
      if (path.endsWith("/1/cancel")) return json({ type: "/problems/job-state", title: "Conflict", status: 409, detail: "job 1 is succeeded" }, 409);
      return json({ items: [dead, job(1, "queued")], next_before: 1 });
    });
    const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    render(
      <QueryClientProvider client={qc}>
        <JobsView />
      </QueryClientProvider>,
    );
    const rows = await screen.findAllByTestId("job-row");
    expect(within(rows[0]!).getByTestId("job-last-error").textContent).toBe("smtp 550 mailbox unavailable");
    expect(within(rows[0]!).queryByRole("button", { name: "Cancel job 2" })).toBeNull();
    expect(within(rows[1]!).queryByRole("button", { name: "Retry job 1" })).toBeNull();

    fireEvent.click(screen.getByRole("button", { name: "Retry job 2" }));
    await waitFor(() => expect(screen.getByTestId("job-action-status").textContent).toBe("Job 2 queued again: it is queued now."));
    await waitFor(() => expect(screen.getAllByTestId("job-row")[0]!.dataset.state).toBe("queued"));

    fireEvent.click(screen.getByRole("button", { name: "Cancel job 1" }));
    expect((await screen.findByTestId("job-action-error")).textContent).toBe("Cancelling job 1 failed (409): job 1 is succeeded");

    fireEvent.change(screen.getByLabelText("State"), { target: { value: "dead" } });
    await waitFor(() => expect(urls.some((u) => u.includes("state=dead"))).toBe(true));
    const older = screen.getByRole("button", { name: "Older" }) as HTMLButtonElement;
    // Disabled while the filtered page is loading (the previous page's cursor does not apply).
    await waitFor(() => expect(older.disabled).toBe(false));
    fireEvent.click(older);
    await waitFor(() => expect(urls.some((u) => u.includes("state=dead") && u.includes("before=1"))).toBe(true));
  });
});
