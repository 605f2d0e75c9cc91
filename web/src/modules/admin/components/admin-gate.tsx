"use client";
// The admin pages are for a signed-in administrator (User.role "admin"). Anyone else gets a
// plain message instead of the page, and no admin call is made for them. The service checks
// again on every call; its 401/403 answers are shown where they happen (ApiErrorAlert).
import Link from "next/link";
import { usePathname } from "next/navigation";
import type { ReactNode } from "react";
import { useUser } from "@/modules/account/use-user";

export function AdminGate({ children }: { children: ReactNode }) {
  const pathname = usePathname();
  const { data: user, isPending, error } = useUser();
  if (isPending) {
    return <p role="status" aria-live="polite" className="text-stone-600">Checking your account…</p>;
  }
  if (error) {
    return <p role="alert" className="rounded bg-red-50 p-3 text-red-800">Your account could not be checked: {error.message}</p>;
  }
  if (!user) {
    return (
      <section data-testid="admin-denied" data-reason="signed-out" className="mx-auto max-w-lg space-y-3 rounded border border-stone-200 bg-white p-6">
        <h1 className="text-2xl font-bold">Administrators only</h1>
        <p>
          You are not signed in. These pages are for administrators:{" "}
          <Link href={`/login?next=${encodeURIComponent(pathname)}`} className="underline">
            sign in with an administrator account
          </Link>
          .
        </p>
      </section>
    );
  }
  if (user.role !== "admin") {
    return (
      <section data-testid="admin-denied" data-reason="not-admin" className="mx-auto max-w-lg space-y-3 rounded border border-stone-200 bg-white p-6">
        <h1 className="text-2xl font-bold">Administrators only</h1>
        <p>
          You are signed in as {user.email}, which is not an administrator account, so these pages are not open to you.{" "}
          <Link href="/" className="underline">Back to the shop</Link>.
        </p>
      </section>
    );
  }
  return <>{children}</>;
}
