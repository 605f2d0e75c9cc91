import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Import } from "@/lib/api/types";
import { ImportsView } from "./imports-view";

const base: Import = {
  id: 7,
  state: "queued",
  complete: false,
  format: "csv",
  on_error: "skip",
  file_name: "books.csv",
  bytes: 120,
  rows: { read: 0, imported: 0, inserted: 0, updated: 0, unchanged: 0, failed: 0 },
  embeddings: { total: 0, done: 0 },
  errors: [],
  error: null,
  job_id: 3,
  created_at: "2026-01-02T03:04:05Z",
  started_at: null,
  finished_at: null,
};

const running: Import = { ...base, state: "running", rows: { ...base.rows, read: 2 } };
const finished: Import = {
  ...base,
  state: "succeeded",
  complete: true,
  rows: { read: 3, imported: 2, inserted: 2, updated: 0, unchanged: 0, failed: 1 },
  embeddings: { total: 2, done: 2 },
  errors: [{ line: 3, field: "title", message: "title is required" }],
};

function sse(...events: [string, unknown][]): Response {
  const text = events.map(([name, data]) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`).join("");
  return new Response(new TextEncoder().encode(text), { headers: { "content-type": "text/event-stream" } });
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": status < 400 ? "application/json" : "application/problem+json" } });

function renderView() {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={qc}>
      <ImportsView />
    </QueryClientProvider>,
  );
}

function pick(file: File, skip: boolean) {
  const input = screen.getByLabelText("Catalogue file") as HTMLInputElement;
  // A test cannot fill a file input's own list; the view reads `files`, so set that.
  Object.defineProperty(input, "files", { value: [file], configurable: true });
  if (skip) fireEvent.click(screen.getByLabelText("Import the good rows and skip bad ones"));
}

function submit() {
  // submit directly: jsdom would check the required file input against its own (empty) list.
  fireEvent.submit(screen.getByRole("button", { name: "Upload" }).closest("form")!);
}

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

describe("ImportsView", () => {
  it("sends the raw file with its type and name, then shows the progress until done", async () => {
    const calls: { url: string; init?: RequestInit }[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
      calls.push({ url, init });
      if (url.includes("/events")) return sse(["progress", base], ["progress", running], ["done", finished]);
      if (init?.method === "POST") return json(base, 202);
      return json({ items: [], next_before: null });
    });
    renderView();
    const file = new File(["id,title\n"], "books.csv", { type: "application/vnd.ms-excel" });
    pick(file, true);
    submit();

    const panel = await screen.findByTestId("import-progress");
    await waitFor(() => expect(panel.dataset.complete).toBe("true"));
    expect(panel.dataset.state).toBe("succeeded");
    expect(panel.querySelector("[data-testid=import-state]")?.textContent).toBe("succeeded");
    expect(panel.querySelector("[data-testid=rows-read]")?.textContent).toBe("3");
    expect(panel.querySelector("[data-testid=rows-imported]")?.textContent).toBe("2");
    expect(panel.querySelector("[data-testid=rows-failed]")?.textContent).toBe("1");
    expect(panel.querySelector("[data-testid=embeddings]")?.textContent).toBe("2 of 2");
    expect(panel.querySelector("[data-testid=row-error]")?.textContent).toContain("title is required");
    expect(screen.getByRole("progressbar", { name: "Import progress" })).toHaveProperty("value", 1);

    const post = calls.find((c) => c.init?.method === "POST")!;
    const url = new URL(post.url, "http://localhost");
    expect(url.pathname).toBe("/api/v1/admin/imports");
    expect(url.searchParams.get("file_name")).toBe("books.csv");
    expect(url.searchParams.get("on_error")).toBe("skip");
    expect(url.searchParams.get("format")).toBe("csv");
    expect(post.init?.body).toBe(file);
    expect(new Headers(post.init?.headers).get("content-type")).toBe("text/csv");
  });

  it("shows a refused upload's problem in an alert", async () => {
    vi.spyOn(globalThis, "fetch").mockImplementation(async (_input: RequestInfo | URL, init?: RequestInit) =>
      init?.method === "POST"
        ? json({ type: "/problems/unsupported-media-type", title: "Unsupported", status: 415, detail: "not text/plain" }, 415)
        : json({ items: [], next_before: null }),
    );
    renderView();
    pick(new File(["x"], "notes.txt", { type: "text/plain" }), false);
    submit();
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("(415): not text/plain");
    expect(screen.queryByTestId("import-progress")).toBeNull();
  });
});
