import Link from "next/link";

// For a page that needs a signed-in user; `next` is where signing in leads back to.
export function SignInNotice({ next, what }: { next: string; what: string }) {
  return (
    <p>
      Please <Link href={`/login?next=${next}`} className="underline">sign in</Link> to see {what}.
    </p>
  );
}
