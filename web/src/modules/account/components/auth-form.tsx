"use client";
// Sign in and register. Registering signs in at once; an anonymous cart merges into the account.
import { useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter, useSearchParams } from "next/navigation";
import { useState } from "react";
import type { ApiError } from "@/lib/api/client";
import { register, signIn } from "@/lib/data/shop";
import { queryKeys } from "@/lib/query/client";

function messageFor(err: unknown, mode: "login" | "register"): string {
  const e = err as Partial<ApiError>;
  switch (e.type) {
    case "/problems/invalid-credentials":
      return "Wrong e-mail or password.";
    case "/problems/login-throttled":
      return "Too many attempts. Wait a few minutes and try again.";
    case "/problems/email-taken":
      return "An account with this e-mail exists already. Sign in instead.";
    default:
      return e.message ?? (mode === "login" ? "Sign-in failed." : "Registration failed.");
  }
}

// Where to go after signing in: a path on this site only. "//host" and "/\\host" are
// protocol-relative URLs to another site (an open redirect), so they are refused too.
export function safeNext(next: string | null): string {
  return next !== null && /^\/(?![/\\])/.test(next) ? next : "/";
}

// The other form's address, keeping where to go afterwards.
export function withNext(path: string, next: string): string {
  return next === "/" ? path : `${path}?next=${encodeURIComponent(next)}`;
}

export function AuthForm({ mode }: { mode: "login" | "register" }) {
  const router = useRouter();
  const params = useSearchParams();
  const qc = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const next = safeNext(params.get("next"));

  return (
    <form
      className="mx-auto max-w-sm space-y-4 rounded border border-stone-200 bg-white p-6"
      onSubmit={async (e) => {
        e.preventDefault();
        const form = new FormData(e.currentTarget);
        const email = String(form.get("email"));
        const password = String(form.get("password"));
        setBusy(true);
        setError(null);
        try {
          if (mode === "register") await register(email, password);
          const user = await signIn(email, password);
          qc.setQueryData(queryKeys.user, user);
          await qc.invalidateQueries({ queryKey: queryKeys.cart });
          router.push(next);
        } catch (err) {
          setError(messageFor(err, mode));
        } finally {
          setBusy(false);
        }
      }}
    >
      <h1 className="text-2xl font-bold">{mode === "login" ? "Sign in" : "Create an account"}</h1>
      <label className="block">
        E-mail
        <input name="email" type="email" autoComplete="email" required className="mt-1 w-full rounded border px-3 py-2" />
      </label>
      <label className="block">
        Password
        <input
          name="password"
          type="password"
          required
          minLength={mode === "register" ? 10 : 1}
          autoComplete={mode === "login" ? "current-password" : "new-password"}
          className="mt-1 w-full rounded border px-3 py-2"
        />
        {mode === "register" && <span className="text-sm text-stone-600">At least 10 characters.</span>}
      </label>
      <p role="alert" className="min-h-6 text-sm text-red-700">{error}</p>
      <button disabled={busy} className="w-full rounded bg-amber-700 px-4 py-2 font-medium text-white hover:bg-amber-800 disabled:bg-stone-400">
        {busy ? "Please wait…" : mode === "login" ? "Sign in" : "Create account"}
      </button>
      <p className="text-sm">
        {mode === "login" ? (
          <>New here? <Link href={withNext("/register", next)} className="underline">Create an account</Link></>
        ) : (
          <>Have an account? <Link href={withNext("/login", next)} className="underline">Sign in</Link></>
        )}
      </p>
    </form>
  );
}
