// The browser's session lives in two HttpOnly cookies, out of reach of page scripts:
//   lm_at  the access token (JWT, minutes), sent on every /api call,
//   lm_rt  the refresh token (one use, days), sent only to /api.
// The proxy puts the access token in `Authorization: Bearer` and refreshes it silently when it
// is about to expire. The service rotates refresh tokens and revokes a whole session when a
// used one comes back, so concurrent requests of one browser must share one refresh: the
// in-flight refreshes are kept per old token, and a finished one is remembered briefly for the
// requests that were already on their way with the old cookie.
import type { Session } from "@/lib/api/types";
import { serverApiUrl } from "@/lib/api/client";

export const ACCESS_COOKIE = "lm_at";
export const REFRESH_COOKIE = "lm_rt";
const REFRESH_SKEW_S = 20;
const REMEMBER_MS = 30_000;

export interface CookieSpec {
  name: string;
  value: string;
  maxAge: number;
  path: string;
}

// The `exp` claim of a JWT (seconds), read without verifying: the service verifies; this only
// decides when to refresh.
export function tokenExpiry(jwt: string): number | undefined {
  const part = jwt.split(".")[1];
  if (!part) return undefined;
  try {
    const json = JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as { exp?: unknown };
    return typeof json.exp === "number" ? json.exp : undefined;
  } catch {
    return undefined;
  }
}

export function needsRefresh(jwt: string | undefined, nowS = Date.now() / 1000): boolean {
  if (!jwt) return true;
  const exp = tokenExpiry(jwt);
  return exp === undefined || exp - REFRESH_SKEW_S <= nowS;
}

export function sessionCookies(s: Pick<Session, "access_token" | "expires_in" | "refresh_token" | "refresh_expires_in">): CookieSpec[] {
  return [
    { name: ACCESS_COOKIE, value: s.access_token, maxAge: s.expires_in, path: "/" },
    { name: REFRESH_COOKIE, value: s.refresh_token, maxAge: s.refresh_expires_in, path: "/api" },
  ];
}

export function clearedCookies(): CookieSpec[] {
  return [
    { name: ACCESS_COOKIE, value: "", maxAge: 0, path: "/" },
    { name: REFRESH_COOKIE, value: "", maxAge: 0, path: "/api" },
  ];
}

export function serializeCookie(c: CookieSpec, secure: boolean): string {
  return `${c.name}=${c.value}; Path=${c.path}; Max-Age=${c.maxAge}; HttpOnly; SameSite=Lax${secure ? "; Secure" : ""}`;
}

export type RefreshFn = (refreshToken: string) => Promise<Session | null>;

export async function refreshAtService(refreshToken: string): Promise<Session | null> {
  const res = await fetch(`${serverApiUrl()}/api/v1/auth/refresh`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refresh_token: refreshToken }),
    cache: "no-store",
  });
  if (res.status === 401 || res.status === 400) return null;
  if (!res.ok) throw new Error(`refresh failed: ${res.status}`);
  return (await res.json()) as Session;
}

// One refresh per old refresh token, shared by every request that carries it.
export class RefreshCoordinator {
  private inflight = new Map<string, Promise<Session | null>>();
  private recent = new Map<string, { session: Session | null; at: number }>();
  constructor(private readonly refresh: RefreshFn = refreshAtService, private readonly now = () => Date.now()) {}

  async get(refreshToken: string): Promise<Session | null> {
    const t = this.now();
    for (const [k, v] of this.recent) if (t - v.at > REMEMBER_MS) this.recent.delete(k);
    const done = this.recent.get(refreshToken);
    if (done) return done.session;
    let p = this.inflight.get(refreshToken);
    if (!p) {
      p = this.refresh(refreshToken).then(
        (session) => {
          this.recent.set(refreshToken, { session, at: this.now() });
          this.inflight.delete(refreshToken);
          return session;
        },
        (err: unknown) => {
          this.inflight.delete(refreshToken);
          throw err;
        },
      );
      this.inflight.set(refreshToken, p);
    }
    return p;
  }
}

const globalKey = Symbol.for("libromind.refreshCoordinator");
export function refreshCoordinator(): RefreshCoordinator {
  const g = globalThis as unknown as Record<symbol, RefreshCoordinator | undefined>;
  return (g[globalKey] ??= new RefreshCoordinator());
}

// The bearer token for a request, refreshing when needed. `set` holds cookies for the response
// (new tokens, or cleared ones when the session is gone).
export async function resolveAccess(
  access: string | undefined,
  refresh: string | undefined,
  coordinator: RefreshCoordinator = refreshCoordinator(),
): Promise<{ token: string | undefined; set: CookieSpec[] }> {
  if (access && !needsRefresh(access)) return { token: access, set: [] };
  if (!refresh) return { token: undefined, set: access ? clearedCookies() : [] };
  const session = await coordinator.get(refresh);
  if (!session) return { token: undefined, set: clearedCookies() };
  return { token: session.access_token, set: sessionCookies(session) };
}
