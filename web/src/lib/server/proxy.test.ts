import { describe, expect, it } from "vitest";
import { readCookie, sameOrigin } from "./proxy";

describe("readCookie", () => {
  it("finds one cookie among several", () => {
    expect(readCookie("a=1; lm_at=tok; lm_cart=c%2B1", "lm_cart")).toBe("c+1");
    expect(readCookie("a=1; lm_at=tok", "lm_rt")).toBeUndefined();
    expect(readCookie(null, "lm_at")).toBeUndefined();
  });

  it("treats a malformed cookie as absent instead of failing the request", () => {
    expect(readCookie("lm_at=%E0%A4%A", "lm_at")).toBeUndefined();
  });
});

describe("sameOrigin", () => {
  const req = (origin?: string) =>
    new Request("http://shop.example/api/v1/cart/items", {
      method: "POST",
      headers: { host: "shop.example", ...(origin ? { origin } : {}) },
    });

  it("accepts this origin's pages and requests without an Origin", () => {
    expect(sameOrigin(req("http://shop.example"))).toBe(true);
    expect(sameOrigin(req())).toBe(true);
  });

  it("refuses another site's page", () => {
    expect(sameOrigin(req("http://evil.example"))).toBe(false);
    expect(sameOrigin(req("not a url"))).toBe(false);
  });
});
