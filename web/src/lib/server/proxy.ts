// The storefront's /api proxy: the browser talks to one origin and the service's CORS list
// stays strict. Bodies stream both ways (uploads go to the service as they arrive; SSE events
// are passed on one by one), a client that goes away aborts the upstream call (which cancels
// generation at the model server), and the session cookies become a bearer token here.
import { serverApiUrl } from "@/lib/api/client";
import {
  ACCESS_COOKIE,
  REFRESH_COOKIE,
  resolveAccess,
  serializeCookie,
  type CookieSpec,
} from "./session";

// Headers of the browser's request that the service may see. Authorization and Cookie are
// built here: the bearer token from lm_at, and only the anonymous cart's cookie.
const FORWARD_REQUEST = [
  "accept",
  "content-type",
  "content-length",
  "if-none-match",
  "idempotency-key",
  "x-request-id",
  "x-cart-token",
  "last-event-id",
];
// Headers of the service's answer that the browser sees.
const FORWARD_RESPONSE = [
  "content-type",
  "cache-control",
  "etag",
  "location",
  "retry-after",
  "server-timing",
  "x-request-id",
  "x-accel-buffering",
  "vary",
  "www-authenticate",
];

export function readCookie(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return undefined; // a malformed cookie is no cookie, not a 500
    }
  }
  return undefined;
}

// What the service needs to know of the browser besides the bearer token: its anonymous cart
// (merged at sign-in) and its address, which the service believes from the storefront (its
// --trusted-proxies) for login throttling per shopper.
export function clientHeaders(req: Request, headers: Headers): Headers {
  const cart = readCookie(req.headers.get("cookie"), "lm_cart");
  if (cart) headers.set("cookie", `lm_cart=${encodeURIComponent(cart)}`);
  const client = req.headers.get("x-forwarded-for")?.split(",").pop()?.trim();
  if (client) headers.set("x-forwarded-for", client);
  return headers;
}

// A state-changing call must come from this origin's pages (the cookies are SameSite=Lax,
// which already keeps other sites' POSTs cookie-less; this is the second lock).
export function sameOrigin(req: Request): boolean {
  const origin = req.headers.get("origin");
  if (!origin) return true;
  const host = req.headers.get("x-forwarded-host") ?? req.headers.get("host");
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

export function isSecure(req: Request): boolean {
  if (process.env.LIBROMIND_WEB_SECURE_COOKIES === "true") return true;
  return (req.headers.get("x-forwarded-proto") ?? new URL(req.url).protocol.replace(":", "")) === "https";
}

export function withCookies(res: Response, cookies: CookieSpec[], secure: boolean): Response {
  for (const c of cookies) res.headers.append("set-cookie", serializeCookie(c, secure));
  return res;
}

export function problem(status: number, type: string, title: string, detail?: string): Response {
  return new Response(JSON.stringify({ type, title, status, detail }), {
    status,
    headers: { "content-type": "application/problem+json", "cache-control": "no-store" },
  });
}

export async function forward(req: Request, path: readonly string[]): Promise<Response> {
  const method = req.method.toUpperCase();
  if (method !== "GET" && method !== "HEAD" && !sameOrigin(req)) {
    return problem(403, "/problems/forbidden", "Cross-origin request refused");
  }
  // Token-issuing calls go through /api/session, which keeps the tokens in HttpOnly cookies.
  if (path[0] === "v1" && path[1] === "auth" && path[2] !== "register") {
    return problem(404, "/problems/not-found", "Not here", "Sign in and out through /api/session.");
  }
  const incoming = new URL(req.url);
  const target = `${serverApiUrl()}/api/${path.map(encodeURIComponent).join("/")}${incoming.search}`;

  const cookieHeader = req.headers.get("cookie");
  const { token, set } = await resolveAccess(
    readCookie(cookieHeader, ACCESS_COOKIE),
    readCookie(cookieHeader, REFRESH_COOKIE),
  ).catch(() => ({ token: undefined, set: [] as CookieSpec[] }));

  const headers = new Headers();
  for (const name of FORWARD_REQUEST) {
    const v = req.headers.get(name);
    if (v !== null) headers.set(name, v);
  }
  if (token) headers.set("authorization", `Bearer ${token}`);
  clientHeaders(req, headers);
  // Compression is the storefront's business; the service's bytes pass through as they are.
  headers.set("accept-encoding", "identity");

  let upstream: Response;
  try {
    upstream = await fetch(target, {
      method,
      headers,
      body: method === "GET" || method === "HEAD" ? undefined : req.body,
      // Streams the request body (uploads) instead of buffering it.
      duplex: "half",
      redirect: "manual",
      cache: "no-store",
      signal: req.signal,
    } as RequestInit & { duplex: "half" });
  } catch (err) {
    if (req.signal.aborted) return new Response(null, { status: 499 });
    return problem(502, "/problems/unavailable", "The bookstore service is unreachable", String(err));
  }

  const out = new Headers();
  for (const name of FORWARD_RESPONSE) {
    const v = upstream.headers.get(name);
    if (v !== null) out.set(name, v);
  }
  for (const c of upstream.headers.getSetCookie()) {
    if (c.startsWith("lm_cart=")) out.append("set-cookie", c);
  }
  const res = new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers: out });
  return withCookies(res, set, isSecure(req));
}
