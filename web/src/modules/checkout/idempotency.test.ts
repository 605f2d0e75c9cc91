import { describe, expect, it } from "vitest";
import { attemptFor, newIdempotencyKey } from "./idempotency";

describe("attemptFor", () => {
  let n = 0;
  const key = () => `key-${++n}`;

  it("keeps the key while the form content stays the same", () => {
    const first = attemptFor(null, "body-a", key);
    expect(attemptFor(first, "body-a", key)).toBe(first);
    expect(attemptFor(attemptFor(first, "body-a", key), "body-a", key).key).toBe(first.key);
  });

  it("makes a new key when the content changed or after a success (no previous attempt)", () => {
    const first = attemptFor(null, "body-a", key);
    const changed = attemptFor(first, "body-b", key);
    expect(changed.key).not.toBe(first.key);
    expect(changed.fingerprint).toBe("body-b");
    expect(attemptFor(null, "body-a", key).key).not.toBe(first.key);
  });
});

describe("newIdempotencyKey", () => {
  it("uses randomUUID when there is one", () => {
    expect(newIdempotencyKey({ getRandomValues: crypto.getRandomValues.bind(crypto), randomUUID: () => "1-2-3-4-5" })).toBe("1-2-3-4-5");
  });

  it("makes a version-4 UUID from random bytes without randomUUID (plain-HTTP hosts)", () => {
    const k = newIdempotencyKey({ getRandomValues: crypto.getRandomValues.bind(crypto) });
    expect(k).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
