import { describe, expect, it } from "vitest";
import { formatAge, jobActions, jobKinds, showsLastError } from "./jobs";

describe("jobActions", () => {
  it("offers retry for dead, failed and cancelled jobs and cancel for queued, failed and running ones", () => {
    expect(jobActions("dead")).toEqual({ retry: true, cancel: false });
    expect(jobActions("failed")).toEqual({ retry: true, cancel: true });
    expect(jobActions("cancelled")).toEqual({ retry: true, cancel: false });
    expect(jobActions("queued")).toEqual({ retry: false, cancel: true });
    expect(jobActions("running")).toEqual({ retry: false, cancel: true });
    expect(jobActions("succeeded")).toEqual({ retry: false, cancel: false });
  });
});

describe("showsLastError", () => {
  it("shows the last error of failed and dead jobs only", () => {
    expect(showsLastError({ state: "dead", last_error: "smtp 550" })).toBe(true);
    expect(showsLastError({ state: "failed", last_error: "timeout" })).toBe(true);
    expect(showsLastError({ state: "failed", last_error: null })).toBe(false);
    expect(showsLastError({ state: "queued", last_error: "kept from before a retry" })).toBe(false);
  });
});

describe("jobKinds", () => {
  it("adds the kinds of the stats to the known ones, sorted, without repeats", () => {
    const stats = {
      totals: { queued: 0, running: 0, failed: 0, succeeded: 0, dead: 0, cancelled: 0 },
      kinds: [
        { kind: "send_email", counts: { queued: 0, running: 0, failed: 0, succeeded: 1, dead: 0, cancelled: 0 }, oldest_ready_age_seconds: null },
        { kind: "reindex", counts: { queued: 1, running: 0, failed: 0, succeeded: 0, dead: 0, cancelled: 0 }, oldest_ready_age_seconds: 3 },
      ],
    };
    expect(jobKinds(stats)).toEqual(["embed_books", "embed_stale", "import_file", "reindex", "send_email"]);
    expect(jobKinds(undefined)).toHaveLength(4);
  });
});

describe("formatAge", () => {
  it("says how long in the largest sensible units", () => {
    expect(formatAge(null)).toBe("—");
    expect(formatAge(0.4)).toBe("0 s");
    expect(formatAge(59)).toBe("59 s");
    expect(formatAge(60)).toBe("1 min");
    expect(formatAge(3600)).toBe("1 h");
    expect(formatAge(3 * 3600 + 5 * 60)).toBe("3 h 5 min");
    expect(formatAge(2 * 86400 + 4 * 3600)).toBe("2 d 4 h");
    expect(formatAge(86400)).toBe("1 d");
  });
});
