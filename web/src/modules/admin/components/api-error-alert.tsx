import { adminErrorMessage } from "../errors";

// A failed admin call, said in words: 401 (not signed in) and 403 (not an administrator) as such.
export function ApiErrorAlert({ error, doing }: { error: unknown; doing: string }) {
  return (
    <p role="alert" className="rounded bg-red-50 p-3 text-red-800" data-testid="admin-error">
      {adminErrorMessage(error, doing)}
    </p>
  );
}
