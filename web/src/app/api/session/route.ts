// Sign in (POST), out (DELETE) and "who am I" (GET) for the browser. The service's tokens stay
// in HttpOnly cookies (src/lib/server/session.ts); the page only ever sees the user.
import { serverApiUrl } from "@/lib/api/client";
import type { Session, User } from "@/lib/api/types";
import { clientHeaders, isSecure, problem, readCookie, sameOrigin, withCookies } from "@/lib/server/proxy";
import { ACCESS_COOKIE, REFRESH_COOKIE, clearedCookies, resolveAccess, sessionCookies } from "@/lib/server/session";

export const dynamic = "force-dynamic";

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}

function passProblem(upstream: Response, text: string): Response {
  return new Response(text, {
    status: upstream.status,
    headers: {
      "content-type": upstream.headers.get("content-type") ?? "application/problem+json",
      "cache-control": "no-store",
      ...(upstream.headers.get("retry-after") ? { "retry-after": upstream.headers.get("retry-after")! } : {}),
    },
  });
}

export async function GET(req: Request): Promise<Response> {
  const cookies = req.headers.get("cookie");
  const { token, set } = await resolveAccess(readCookie(cookies, ACCESS_COOKIE), readCookie(cookies, REFRESH_COOKIE)).catch(
    () => ({ token: undefined, set: [] }),
  );
  if (!token) return withCookies(json({ user: null }), set, isSecure(req));
  const res = await fetch(`${serverApiUrl()}/api/v1/me`, { headers: { authorization: `Bearer ${token}` }, cache: "no-store" });
  if (res.status === 401) return withCookies(json({ user: null }), clearedCookies(), isSecure(req));
  if (!res.ok) return passProblem(res, await res.text());
  const user = (await res.json()) as User;
  return withCookies(json({ user }), set, isSecure(req));
}

export async function POST(req: Request): Promise<Response> {
  if (!sameOrigin(req)) return problem(403, "/problems/forbidden", "Cross-origin request refused");
  const headers = clientHeaders(req, new Headers({ "content-type": "application/json" }));
  const upstream = await fetch(`${serverApiUrl()}/api/v1/auth/login`, {
    method: "POST",
    headers,
    body: await req.text(),
    cache: "no-store",
  });
  const text = await upstream.text();
  if (!upstream.ok) return passProblem(upstream, text);
  const session = JSON.parse(text) as Session;
  const res = json({ user: session.user, expires_in: session.expires_in });
  // The anonymous cart was merged into the user's: its cookie has done its work.
  res.headers.append("set-cookie", `lm_cart=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax`);
  return withCookies(res, sessionCookies(session), isSecure(req));
}

export async function DELETE(req: Request): Promise<Response> {
  if (!sameOrigin(req)) return problem(403, "/problems/forbidden", "Cross-origin request refused");
  const refresh = readCookie(req.headers.get("cookie"), REFRESH_COOKIE);
  if (refresh) {
    await fetch(`${serverApiUrl()}/api/v1/auth/logout`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: refresh }),
      cache: "no-store",
    }).catch(() => undefined);
  }
  return withCookies(new Response(null, { status: 204 }), clearedCookies(), isSecure(req));
}
