// The one typed API client (openapi-fetch over the generated paths). On the server it talks to
// the C++ service directly (LIBROMIND_API_URL); in the browser to the storefront's own /api proxy,
// which adds the session's bearer token (src/lib/server/proxy.ts).
import createClient from "openapi-fetch";
import type { paths } from "./schema";
import type { Problem } from "./types";

export function apiClient(baseUrl: string, init?: { headers?: Record<string, string> }) {
  return createClient<paths>({ baseUrl, headers: init?.headers });
}

export function serverApiUrl(): string {
  return (process.env.LIBROMIND_API_URL ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
}

// A failed call, carrying the service's problem+json when it sent one.
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Partial<Problem> | undefined;
  constructor(status: number, problem: Partial<Problem> | undefined, fallback: string) {
    super(problem?.detail ?? problem?.title ?? fallback);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
  }
  get type(): string | undefined {
    return this.problem?.type;
  }
}

export function isProblem(value: unknown): value is Partial<Problem> {
  return typeof value === "object" && value !== null && ("title" in value || "type" in value);
}

// Unwraps an openapi-fetch result: the data, or an ApiError with the problem.
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || result.data === undefined) {
    const problem = isProblem(result.error) ? result.error : undefined;
    throw new ApiError(result.response.status, problem, `request failed (${result.response.status})`);
  }
  return result.data;
}

// The error of a failed call made with plain fetch (uploads, streams): its problem+json when the
// body is one.
export async function problemOf(res: Response): Promise<ApiError> {
  const body: unknown = await res.json().catch(() => undefined);
  return new ApiError(res.status, isProblem(body) ? body : undefined, `request failed (${res.status})`);
}
