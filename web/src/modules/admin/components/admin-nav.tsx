"use client";

import Link from "next/link";
import { usePathname } from "next/navigation";

export const ADMIN_PAGES = [
  { href: "/admin", label: "Overview" },
  { href: "/admin/imports", label: "Imports" },
  { href: "/admin/jobs", label: "Jobs" },
  { href: "/admin/feedback", label: "Feedback" },
] as const;

export function AdminNav() {
  const pathname = usePathname();
  return (
    <nav aria-label="Administration" className="mb-6 flex flex-wrap gap-1 border-b border-stone-200 pb-2">
      {ADMIN_PAGES.map((p) => {
        const current = pathname === p.href;
        return (
          <Link
            key={p.href}
            href={p.href}
            aria-current={current ? "page" : undefined}
            className={`rounded px-3 py-1.5 ${current ? "bg-amber-100 font-semibold text-amber-900" : "hover:bg-stone-100"}`}
          >
            {p.label}
          </Link>
        );
      })}
    </nav>
  );
}
