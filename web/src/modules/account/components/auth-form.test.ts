import { describe, expect, it } from "vitest";
import { safeNext, withNext } from "./auth-form";

describe("safeNext", () => {
  it("keeps a path on this site", () => {
    expect(safeNext("/checkout")).toBe("/checkout");
    expect(safeNext("/orders/12?placed=1")).toBe("/orders/12?placed=1");
  });
  it("refuses other sites, protocol-relative URLs and nothing", () => {
    for (const bad of ["//evil.example", "/\\evil.example", "https://evil.example", "javascript:alert(1)", "", null]) {
      expect(safeNext(bad)).toBe("/");
    }
  });
});

describe("withNext", () => {
  it("carries where to go to the other form, and nothing for the home page", () => {
    expect(withNext("/register", "/checkout")).toBe("/register?next=%2Fcheckout");
    expect(withNext("/login", "/")).toBe("/login");
  });
});
