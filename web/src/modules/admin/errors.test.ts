import { describe, expect, it } from "vitest";
import { ApiError } from "@/lib/api/client";
import { adminErrorMessage, uploadErrorMessage } from "./errors";

const problem = (status: number, detail: string) =>
  new ApiError(status, { type: "/problems/conflict", title: "Title", status, detail }, `request failed (${status})`);

describe("adminErrorMessage", () => {
  it("says 401 and 403 as such", () => {
    expect(adminErrorMessage(problem(401, "no token"), "Loading jobs")).toMatch(/not signed in \(401: no token\)/);
    expect(adminErrorMessage(problem(403, "admins only"), "Loading jobs")).toMatch(/Only administrators.*403: admins only/);
  });

  it("gives other failures with their status and detail, or the error's message", () => {
    expect(adminErrorMessage(problem(409, "job is succeeded"), "Retrying job 4")).toBe("Retrying job 4 failed (409): job is succeeded");
    expect(adminErrorMessage(new ApiError(502, undefined, "request failed (502)"), "Loading")).toBe("Loading failed (502): request failed (502)");
    expect(adminErrorMessage(new TypeError("Failed to fetch"), "Loading")).toBe("Loading failed: Failed to fetch");
  });
});

describe("uploadErrorMessage", () => {
  it("explains 413, 415 and 422 with the problem's detail", () => {
    expect(uploadErrorMessage(problem(413, "over 50 MB"))).toBe("The file is too large (413): over 50 MB");
    expect(uploadErrorMessage(problem(415, "not text/plain"))).toMatch(/JSON Lines or CSV \(415\): not text\/plain/);
    expect(uploadErrorMessage(problem(422, "not UTF-8 at line 3"))).toBe("The file could not be read (422): not UTF-8 at line 3");
  });

  it("falls back to the general message", () => {
    expect(uploadErrorMessage(problem(403, "admins only"))).toMatch(/403/);
    expect(uploadErrorMessage(problem(400, "file_name too long"))).toBe("The upload failed (400): file_name too long");
  });
});
