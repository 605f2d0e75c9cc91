import { describe, expect, it } from "vitest";
import { ApiError } from "@/lib/api/client";
import { cancelErrorMessage, canCancel } from "./status";

describe("orders", () => {
  it("lets a customer cancel only pending and paid orders", () => {
    expect(canCancel("pending")).toBe(true);
    expect(canCancel("paid")).toBe(true);
    expect(canCancel("shipped")).toBe(false);
    expect(canCancel("delivered")).toBe(false);
    expect(canCancel("cancelled")).toBe(false);
  });

  it("explains a cancel that lost the race against a status change", () => {
    const err = new ApiError(409, { type: "/problems/invalid-status-transition", title: "Conflict", status: 409, request_id: "r" }, "failed");
    expect(cancelErrorMessage(err)).toBe("This order can no longer be cancelled.");
    expect(cancelErrorMessage(new TypeError("Failed to fetch"))).toMatch(/could not be reached/);
  });
});
