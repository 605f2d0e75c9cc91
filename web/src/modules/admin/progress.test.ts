import { describe, expect, it } from "vitest";
import { importFraction, importPhase, percent } from "./progress";

const imp = (state: "queued" | "running" | "succeeded" | "failed", complete: boolean, done = 0, total = 0) => ({
  state,
  complete,
  embeddings: { done, total },
});

describe("importFraction", () => {
  it("is 0 while queued and unknown while the rows are read", () => {
    expect(importFraction(imp("queued", false))).toBe(0);
    expect(importFraction(imp("running", false, 0, 0))).toBeNull();
  });

  it("follows the embeddings once the rows are in", () => {
    expect(importFraction(imp("succeeded", false, 25, 100))).toBe(0.25);
    expect(importFraction(imp("succeeded", false, 120, 100))).toBe(1);
    expect(importFraction(imp("succeeded", false, 0, 0))).toBe(1);
  });

  it("is full when complete or failed", () => {
    expect(importFraction(imp("succeeded", true, 10, 10))).toBe(1);
    expect(importFraction(imp("failed", true))).toBe(1);
    expect(importFraction(imp("failed", false))).toBe(1);
  });
});

describe("percent", () => {
  it("rounds down, so only a finished import shows 100%", () => {
    expect(percent(0.996)).toBe(99);
    expect(percent(1)).toBe(100);
    expect(percent(0.29)).toBe(29);
    expect(percent(0)).toBe(0);
    expect(percent(-1)).toBe(0);
    expect(percent(2)).toBe(100);
  });
});

describe("importPhase", () => {
  it("says what is happening in each state", () => {
    expect(importPhase(imp("succeeded", false, 1, 2))).toMatch(/embedding/);
    expect(importPhase(imp("succeeded", true, 2, 2))).toMatch(/searchable/);
    expect(importPhase(imp("failed", true))).toMatch(/failed/);
  });
});
