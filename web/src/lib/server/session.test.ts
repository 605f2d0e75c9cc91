import { describe, expect, it, vi } from "vitest";
import type { Session } from "@/lib/api/types";
import { RefreshCoordinator, needsRefresh, resolveAccess, tokenExpiry } from "./session";

const jwt = (exp: number) => `h.${Buffer.from(JSON.stringify({ exp })).toString("base64url")}.s`;
const session = (n: number): Session => ({
  access_token: jwt(Date.now() / 1000 + 900),
  token_type: "Bearer",
  expires_in: 900,
  refresh_token: `rt-${n}`,
  refresh_expires_in: 86400,
  user: { id: 1, email: "a@example.org", role: "customer", created_at: "2026-01-01T00:00:00Z" },
});

describe("access token expiry", () => {
  it("reads exp and asks for a refresh shortly before it", () => {
    expect(tokenExpiry(jwt(1000))).toBe(1000);
    expect(needsRefresh(jwt(1000), 900)).toBe(false);
    expect(needsRefresh(jwt(1000), 990)).toBe(true);
    expect(needsRefresh("garbage", 0)).toBe(true);
    expect(needsRefresh(undefined, 0)).toBe(true);
  });
});

describe("RefreshCoordinator", () => {
  it("refreshes once for concurrent requests carrying the same refresh token", async () => {
    const refresh = vi.fn(async () => session(2));
    const c = new RefreshCoordinator(refresh);
    const all = await Promise.all([c.get("rt-1"), c.get("rt-1"), c.get("rt-1")]);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(new Set(all.map((s) => s?.refresh_token))).toEqual(new Set(["rt-2"]));
    // A late request with the old cookie gets the same new session, not a second refresh
    // (which the service would treat as token reuse and revoke the session).
    expect((await c.get("rt-1"))?.refresh_token).toBe("rt-2");
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it("forgets a failed refresh so that the next request can try again", async () => {
    let calls = 0;
    const c = new RefreshCoordinator(async () => {
      calls++;
      if (calls === 1) throw new Error("service down");
      return session(3);
    });
    await expect(c.get("rt-1")).rejects.toThrow("service down");
    expect((await c.get("rt-1"))?.refresh_token).toBe("rt-3");
  });
});

describe("resolveAccess", () => {
  it("uses a fresh access token as it is", async () => {
    const at = jwt(Date.now() / 1000 + 600);
    expect(await resolveAccess(at, "rt-1", new RefreshCoordinator(async () => null))).toEqual({ token: at, set: [] });
  });

  it("refreshes an expired token and sets both new cookies", async () => {
    const r = await resolveAccess(jwt(1), "rt-1", new RefreshCoordinator(async () => session(2)));
    expect(r.token).toBeDefined();
    expect(r.set.map((c) => [c.name, c.value === "" ? "" : "set"])).toEqual([
      ["lm_at", "set"],
      ["lm_rt", "set"],
    ]);
  });

  it("clears the cookies when the session was revoked", async () => {
    const r = await resolveAccess(jwt(1), "rt-1", new RefreshCoordinator(async () => null));
    expect(r.token).toBeUndefined();
    expect(r.set.every((c) => c.maxAge === 0)).toBe(true);
  });
});
