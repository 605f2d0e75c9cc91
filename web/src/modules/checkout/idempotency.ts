// One Idempotency-Key per checkout attempt. A retry of the same form content (a double click, a
// retry after a network error or a declined card) keeps the key, so the service can answer with
// the order it may already have made instead of making a second one. Changed content gets a new
// key, and so does the next checkout after a success (the caller then forgets the attempt).

export type Attempt = { key: string; fingerprint: string };

export function attemptFor(previous: Attempt | null, fingerprint: string, newKey: () => string = newIdempotencyKey): Attempt {
  if (previous && previous.fingerprint === fingerprint) return previous;
  return { key: newKey(), fingerprint };
}

// crypto.randomUUID() exists only in secure contexts (HTTPS, localhost); a plain-HTTP host name
// gets the same 122 random bits from getRandomValues.
export function newIdempotencyKey(c: Pick<Crypto, "getRandomValues"> & Partial<Pick<Crypto, "randomUUID">> = crypto): string {
  if (typeof c.randomUUID === "function") return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
