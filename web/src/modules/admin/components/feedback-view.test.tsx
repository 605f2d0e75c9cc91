import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { FeedbackStats } from "@/lib/api/types";
import { FeedbackView } from "./feedback-view";

const stats: FeedbackStats = {
  up: 43,
  down: 15,
  up_rate: 43 / 58,
  by_pipeline: [
    { pipeline: "hybrid+rerank/qwen2.5-1.5b", up: 40, down: 10, up_rate: 0.8 },
    { pipeline: "bm25/none", up: 3, down: 5, up_rate: 0.375 },
  ],
  by_day: [{ day: "2026-03-02", up: 43, down: 15, up_rate: 43 / 58 }],
  by_day_and_pipeline: [],
};

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

describe("FeedbackView", () => {
  it("draws the votes as an SVG image with a summary, with the numbers in a table, and filters by date", async () => {
    const urls: string[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL) => {
      urls.push((input as Request).url);
      return new Response(JSON.stringify(stats), { headers: { "content-type": "application/json" } });
    });
    render(
      <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
        <FeedbackView />
      </QueryClientProvider>,
    );
    expect((await screen.findByTestId("feedback-totals")).textContent).toBe("58 votes: 43 up, 15 down (74% up).");
    const chart = screen.getByRole("img", { name: /^Votes per pipeline configuration: hybrid\+rerank\/qwen2.5-1.5b: 40 up, 10 down \(80% up\)/ });
    expect(chart.querySelectorAll("rect")).toHaveLength(4);
    const table = screen.getByTestId("feedback-pipeline-table");
    expect(within(table).getByRole("rowheader", { name: "bm25/none" })).toBeTruthy();
    expect(within(table).getByText("38%")).toBeTruthy();

    fireEvent.change(screen.getByLabelText("From (UTC)"), { target: { value: "2026-03-01" } });
    fireEvent.click(screen.getByRole("button", { name: "Show" }));
    await waitFor(() => expect(urls.some((u) => u.includes("from=2026-03-01"))).toBe(true));
  });
});
