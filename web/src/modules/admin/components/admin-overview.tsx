import Link from "next/link";
import { JobTotals } from "./job-stats";

const SECTIONS = [
  { href: "/admin/imports", title: "Imports", text: "Upload a catalogue file (JSON Lines or CSV) and follow it until its books are searchable." },
  { href: "/admin/jobs", title: "Jobs", text: "The background queue: embeddings, imports and e-mails; retry or cancel jobs." },
  { href: "/admin/feedback", title: "Feedback", text: "How shoppers rate the AI's picks, per pipeline configuration and per day." },
] as const;

export function AdminOverview() {
  return (
    <div className="space-y-8">
      <h1 className="text-2xl font-bold">Administration</h1>
      <ul className="grid gap-4 sm:grid-cols-3">
        {SECTIONS.map((s) => (
          <li key={s.href} className="rounded border border-stone-200 bg-white p-4">
            <h2 className="text-lg font-semibold">
              <Link href={s.href} className="text-amber-800 hover:underline">{s.title}</Link>
            </h2>
            <p className="mt-1 text-sm text-stone-700">{s.text}</p>
          </li>
        ))}
      </ul>
      <section aria-labelledby="queue-heading" className="space-y-3">
        <h2 id="queue-heading" className="text-lg font-semibold">Job queue</h2>
        <JobTotals />
      </section>
    </div>
  );
}
