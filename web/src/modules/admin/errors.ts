// Messages for the admin pages' failed calls: the service's 401 and 403 are said as such, and
// an upload's refusal (413, 415, 422) with the problem's detail.
import { ApiError } from "@/lib/api/client";

function detailOf(err: unknown): string {
  if (err instanceof ApiError) return err.problem?.detail ?? err.problem?.title ?? err.message;
  if (err instanceof Error) return err.message;
  return "unknown error";
}

export function adminErrorMessage(err: unknown, doing: string): string {
  if (err instanceof ApiError && err.status === 401) {
    return `You are not signed in (401: ${detailOf(err)}). Sign in with an administrator account.`;
  }
  if (err instanceof ApiError && err.status === 403) {
    return `Only administrators may do this (403: ${detailOf(err)}).`;
  }
  if (err instanceof ApiError) return `${doing} failed (${err.status}): ${detailOf(err)}`;
  return `${doing} failed: ${detailOf(err)}`;
}

export function uploadErrorMessage(err: unknown): string {
  if (!(err instanceof ApiError)) return adminErrorMessage(err, "The upload");
  switch (err.status) {
    case 413:
      return `The file is too large (413): ${detailOf(err)}`;
    case 415:
      return `This kind of file is not taken; upload JSON Lines or CSV (415): ${detailOf(err)}`;
    case 422:
      return `The file could not be read (422): ${detailOf(err)}`;
    default:
      return adminErrorMessage(err, "The upload");
  }
}
